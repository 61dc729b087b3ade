// libFuzzer target: arbitrary bytes as an image upload (PNG, JPEG with EXIF, WebP, GIF).
// Properties: nothing crashes or trips a sanitizer in our code or the codec libraries as we
// drive them; a decoded image has width * height * 3 bytes within the pixel limit; EXIF
// orientation parsing and every transpose keep that shape.
#include <cstdint>
#include <string_view>

#include "fuzz_input.hpp"
#include "multimodal/image_decoder.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace actorlm::multimodal;
    using actorlm::fuzz::require;
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    (void)sniff_image_format(bytes);
    const int orientation = exif_orientation(bytes);  // the bytes as a TIFF block
    require(orientation >= 1 && orientation <= 8);

    image_decode_options options;
    options.max_pixels = 1 << 20;  // keeps each run's memory small; the check is the same
    auto image = decode_image(bytes, options);
    if (!image) return 0;
    require(image->width > 0 && image->height > 0);
    require(static_cast<int64_t>(image->num_pixels()) <= options.max_pixels);
    require(image->pixels.size() == image->num_pixels() * 3);
    if (image->num_pixels() <= 4096) {
        for (int o = 1; o <= 8; ++o) {
            rgb_image turned = apply_exif_orientation(*image, o);
            require(turned.pixels.size() == image->pixels.size());
        }
    }
    return 0;
}
