/* stb_image and stb_image_write compiled from their headers, instrumented with the fuzz target. */
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image.h>
#include <stb_image_write.h>
