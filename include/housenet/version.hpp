// housenet/version.hpp: the library version and the ABI namespace.
#pragma once

#define HOUSENET_VERSION_MAJOR 0
#define HOUSENET_VERSION_MINOR 1
#define HOUSENET_VERSION_PATCH 0
#define HOUSENET_VERSION_STRING "0.1.0"

// Every public name lives in housenet::v0 (an inline namespace), so two builds of different
// 0.x versions linked into one program cannot silently violate the ODR.
#define HOUSENET_BEGIN_NAMESPACE namespace housenet { inline namespace v0 {
#define HOUSENET_END_NAMESPACE } }
