// housenet/vision.hpp: the vision umbrella: images (load/save/draw, stb underneath) and the
// OpenCV-compatible cascade face detector. Kept apart from housenet.hpp so that numeric code
// compiles without stb and the XML reader.
#pragma once

#include "image.hpp"
#include "cascade.hpp"
