// housenet/version.hpp: the library version.
//
// The version and the build options together name the ABI namespace every public name lives in
// (housenet::abi_v<major>_<minor>_<patch>_<options>, an inline namespace; config.hpp composes it).
#pragma once

#define HOUSENET_VERSION_MAJOR 0
#define HOUSENET_VERSION_MINOR 1
#define HOUSENET_VERSION_PATCH 0
#define HOUSENET_VERSION_STRING "0.1.0"
