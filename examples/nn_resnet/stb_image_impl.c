/* stb_image's implementation (Debian's libstb-dev, header-only, public
 * domain / MIT), compiled once, here; nothing of it is in this repository. */
#define STB_IMAGE_IMPLEMENTATION
#define STBI_FAILURE_USERMSG
#include <stb_image.h>
