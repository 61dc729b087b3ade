// PNG bytes of a test picture (libpng, 8-bit RGB), for tests that send images the way a
// client does: encoded, to be decoded by the engine.
#pragma once

#include <png.h>

#include <string>

#include "multimodal/rgb_image.hpp"

namespace actorlm::test {

inline void png_append_bytes(png_structp png, png_bytep data, size_t n) {
    static_cast<std::string*>(png_get_io_ptr(png))->append(reinterpret_cast<char*>(data), n);
}

inline std::string encode_png(const multimodal::rgb_image& img) {
    std::string out;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    png_infop info = png_create_info_struct(png);
    png_set_write_fn(png, &out, png_append_bytes, nullptr);
    png_set_IHDR(png, info, static_cast<png_uint_32>(img.width),
                 static_cast<png_uint_32>(img.height), 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < img.height; ++y)
        png_write_row(png, const_cast<png_bytep>(img.pixels.data() + static_cast<size_t>(y) *
                                                                         static_cast<size_t>(img.width) * 3));
    png_write_end(png, nullptr);
    png_destroy_write_struct(&png, &info);
    return out;
}

}  // namespace actorlm::test
