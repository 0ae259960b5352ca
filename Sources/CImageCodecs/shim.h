// Image codecs from Debian: stb (libstb-dev: PNG, JPEG, GIF, BMP decode; PNG encode; resize)
// and libtiff (libtiff-dev: TIFF, including LZW). Only the ImageIO target imports this module.
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>
#include <stb/stb_image_resize.h>
#include <tiffio.h>
