// multimodal::prompt_images, the engine side of image input: images counted and decoded
// in message order, a corrupt one named with its position and source, and (no model has
// a vision encoder yet) every image request refused after decoding.
#include <doctest/doctest.h>

#include <string>

#include "multimodal/prompt_images.hpp"
#include "support/png_writer.hpp"

using namespace actorlm;
using namespace actorlm::multimodal;

namespace {

// A 1x1 RGB PNG of one colour.
std::string one_pixel_png(uint8_t r, uint8_t g, uint8_t b) {
    multimodal::rgb_image img;
    img.width = 1;
    img.height = 1;
    img.pixels = {r, g, b};
    return actorlm::test::encode_png(img);
}

content_part image_part_of(std::string data, std::string source) {
    content_part p;
    p.type = content_part::kind::image;
    p.image.data = std::move(data);
    p.image.source = std::move(source);
    return p;
}

content_part text_part_of(std::string t) {
    content_part p;
    p.text = std::move(t);
    return p;
}

}  // namespace

TEST_CASE("prompt images: decoded in order, a corrupt one named, then refused") {
    generate_request req;
    req.messages.resize(2);
    req.messages[0].parts = {text_part_of("a"),
                             image_part_of(one_pixel_png(1, 2, 3), "first.png")};
    req.messages[1].parts = {image_part_of(one_pixel_png(7, 8, 9), "second.png"),
                             text_part_of("b")};
    CHECK(count_prompt_images(req) == 2);
    auto images = decode_prompt_images(req);
    REQUIRE(images.ok());
    REQUIRE(images.value().size() == 2);
    CHECK(images.value()[0].pixels == std::vector<uint8_t>{1, 2, 3});
    CHECK(images.value()[1].pixels == std::vector<uint8_t>{7, 8, 9});
    auto refused = attach_prompt_images(req);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.kind() == error_kind::invalid_argument);
    CHECK(refused.message().find("does not support image input") != std::string::npos);

    req.messages[1].parts[0].image.data = "not an image";
    auto bad = attach_prompt_images(req);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.message() ==
          "image 2 (second.png): unrecognized image data (not PNG, JPEG, WebP or GIF)");
    CHECK(count_prompt_images(generate_request{}) == 0);
}
