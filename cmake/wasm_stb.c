/* cmake/wasm_stb.c: the stb libraries housenet uses, compiled from their headers for wasm32
   (Debian's libstb is native code; it is built the same way: no optional macros). */
#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include <stb_image_resize.h>
