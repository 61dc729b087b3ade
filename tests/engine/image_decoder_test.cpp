// multimodal::decode_image on images encoded here with the same Debian libraries
// (libpng, libjpeg-turbo, libwebp, giflib): exact pixels for PNG / lossless WebP / GIF,
// a tolerance for JPEG, PIL's conversions (alpha dropped, palettes, 16-bit), EXIF
// orientation, and every refusal (format, truncation, corruption, pixel limit).
#include <doctest/doctest.h>

#include <gif_lib.h>
#include <png.h>
#include <webp/encode.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <jpeglib.h>

#include "multimodal/image_decoder.hpp"

using namespace actorlm;
using namespace actorlm::multimodal;

namespace {

// ---- encoders -------------------------------------------------------------------------

void png_write_to_string(png_structp png, png_bytep data, size_t n) {
    static_cast<std::string*>(png_get_io_ptr(png))->append(reinterpret_cast<char*>(data), n);
}
void png_flush_nothing(png_structp) {}

struct png_spec {
    int width = 0;
    int height = 0;
    int color_type = PNG_COLOR_TYPE_RGB;
    int bit_depth = 8;
    bool interlaced = false;
    std::vector<png_color> palette;
    std::vector<uint8_t> trns;
};

// `rows` holds packed rows in PNG's own sample layout (big-endian 16-bit samples).
std::string encode_png(const png_spec& s, const std::vector<uint8_t>& data) {
    std::string out;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    png_infop info = png_create_info_struct(png);
    REQUIRE(setjmp(png_jmpbuf(png)) == 0);
    png_set_write_fn(png, &out, png_write_to_string, png_flush_nothing);
    png_set_IHDR(png, info, static_cast<png_uint_32>(s.width), static_cast<png_uint_32>(s.height),
                 s.bit_depth, s.color_type,
                 s.interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (!s.palette.empty())
        png_set_PLTE(png, info, s.palette.data(), static_cast<int>(s.palette.size()));
    if (!s.trns.empty())
        png_set_tRNS(png, info, s.trns.data(), static_cast<int>(s.trns.size()), nullptr);
    png_write_info(png, info);
    const size_t row_bytes = data.size() / static_cast<size_t>(s.height);
    std::vector<png_bytep> rows;
    for (int y = 0; y < s.height; ++y)
        rows.push_back(const_cast<png_bytep>(data.data() + row_bytes * static_cast<size_t>(y)));
    png_write_image(png, rows.data());
    png_write_end(png, nullptr);
    png_destroy_write_struct(&png, &info);
    return out;
}

struct jpeg_spec {
    int width = 0;
    int height = 0;
    int components = 3;
    J_COLOR_SPACE space = JCS_RGB;
    std::string exif;  // APP1 payload after "Exif\0\0"; empty: none
};

std::string encode_jpeg(const jpeg_spec& s, const std::vector<uint8_t>& data) {
    jpeg_compress_struct cinfo{};
    jpeg_error_mgr err{};
    cinfo.err = jpeg_std_error(&err);
    jpeg_create_compress(&cinfo);
    unsigned char* buf = nullptr;
    unsigned long size = 0;
    jpeg_mem_dest(&cinfo, &buf, &size);
    cinfo.image_width = static_cast<JDIMENSION>(s.width);
    cinfo.image_height = static_cast<JDIMENSION>(s.height);
    cinfo.input_components = s.components;
    cinfo.in_color_space = s.space;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, 95, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    if (!s.exif.empty()) {
        const std::string app1 = std::string("Exif\0\0", 6) + s.exif;
        jpeg_write_marker(&cinfo, JPEG_APP0 + 1, reinterpret_cast<const JOCTET*>(app1.data()),
                          static_cast<unsigned>(app1.size()));
    }
    const size_t row_bytes = static_cast<size_t>(s.width * s.components);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = const_cast<JSAMPROW>(data.data() + row_bytes * cinfo.next_scanline);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    std::string out(reinterpret_cast<char*>(buf), size);
    free(buf);
    return out;
}

int gif_write_to_string(GifFileType* gif, const GifByteType* data, int n) {
    static_cast<std::string*>(gif->UserData)->append(reinterpret_cast<const char*>(data),
                                                     static_cast<size_t>(n));
    return n;
}

std::string encode_gif(int width, int height, const std::vector<GifColorType>& colors,
                       const std::vector<uint8_t>& indices, int transparent) {
    std::string out;
    int err = 0;
    GifFileType* gif = EGifOpen(&out, gif_write_to_string, &err);
    REQUIRE(gif != nullptr);
    ColorMapObject* map = GifMakeMapObject(static_cast<int>(colors.size()), colors.data());
    EGifSetGifVersion(gif, true);
    REQUIRE(EGifPutScreenDesc(gif, width, height, 8, 0, map) == GIF_OK);
    if (transparent >= 0) {
        const GifByteType gce[4] = {1, 0, 0, static_cast<GifByteType>(transparent)};
        REQUIRE(EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, 4, gce) == GIF_OK);
    }
    REQUIRE(EGifPutImageDesc(gif, 0, 0, width, height, false, nullptr) == GIF_OK);
    std::vector<GifPixelType> line(static_cast<size_t>(width));
    for (int y = 0; y < height; ++y) {
        std::memcpy(line.data(), indices.data() + static_cast<size_t>(y * width),
                    static_cast<size_t>(width));
        REQUIRE(EGifPutLine(gif, line.data(), width) == GIF_OK);
    }
    REQUIRE(EGifCloseFile(gif, &err) == GIF_OK);
    GifFreeMapObject(map);
    return out;
}

std::vector<uint8_t> pattern_rgb(int w, int h, int channels) {
    std::vector<uint8_t> v(static_cast<size_t>(w * h * channels));
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>((i * 37 + 11) % 251);
    return v;
}

// The RGB part of packed pixels with `channels` channels (the alpha dropped).
std::vector<uint8_t> rgb_of(const std::vector<uint8_t>& v, int channels) {
    std::vector<uint8_t> out;
    for (size_t i = 0; i < v.size(); i += static_cast<size_t>(channels))
        out.insert(out.end(), v.begin() + static_cast<long>(i), v.begin() + static_cast<long>(i) + 3);
    return out;
}

rgb_image decode_ok(const std::string& bytes) {
    auto img = decode_image(bytes);
    INFO((img ? std::string() : img.message()));
    REQUIRE(img.ok());
    return std::move(img.value());
}

std::string decode_fails(const std::string& bytes, const image_decode_options& o = {}) {
    auto img = decode_image(bytes, o);
    REQUIRE_FALSE(img.ok());
    CHECK(img.kind() == error_kind::invalid_argument);
    return img.message();
}

bool has_text(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

// A minimal little- or big-endian TIFF block with IFD0 holding only Orientation.
std::string exif_block(int orientation, bool little) {
    std::string t;
    auto put16 = [&](uint32_t v) {
        if (little) t += {static_cast<char>(v & 0xff), static_cast<char>(v >> 8)};
        else t += {static_cast<char>(v >> 8), static_cast<char>(v & 0xff)};
    };
    auto put32 = [&](uint32_t v) {
        if (little) put16(v & 0xffff), put16(v >> 16);
        else put16(v >> 16), put16(v & 0xffff);
    };
    t += little ? "II" : "MM";
    put16(42);
    put32(8);
    put16(1);                 // one entry
    put16(0x0112);            // Orientation
    put16(3);                 // SHORT
    put32(1);                 // count
    put16(static_cast<uint32_t>(orientation));
    put16(0);                 // padding of the 4-byte value field
    put32(0);                 // no next IFD
    return t;
}

// PNG chunk CRC (the test patches a header and must re-sign it).
uint32_t crc32_of(const std::string& s) {
    uint32_t c = 0xffffffffu;
    for (unsigned char ch : s) {
        c ^= ch;
        for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return c ^ 0xffffffffu;
}

}  // namespace

TEST_CASE("image decoder: formats are sniffed from magic bytes") {
    CHECK(sniff_image_format(encode_png({2, 2}, pattern_rgb(2, 2, 3))) == image_format::png);
    CHECK(sniff_image_format(encode_jpeg({8, 8}, pattern_rgb(8, 8, 3))) == image_format::jpeg);
    CHECK(sniff_image_format(encode_gif(1, 1, {{1, 2, 3}, {4, 5, 6}}, {0}, -1)) ==
          image_format::gif);
    CHECK(sniff_image_format(std::string("RIFF\0\0\0\0WEBPVP8L", 16)) == image_format::webp);
    CHECK(sniff_image_format("BM....") == image_format::unknown);
    CHECK(sniff_image_format("") == image_format::unknown);
}

TEST_CASE("image decoder: PNG RGB, RGBA (alpha dropped, not composited), interlaced") {
    const auto rgb = pattern_rgb(5, 3, 3);
    auto img = decode_ok(encode_png({5, 3}, rgb));
    CHECK(img.width == 5);
    CHECK(img.height == 3);
    CHECK(img.pixels == rgb);

    auto rgba = pattern_rgb(4, 4, 4);
    rgba[3] = 0;  // fully transparent: PIL keeps the colour, it does not blend to black/white
    img = decode_ok(encode_png({4, 4, PNG_COLOR_TYPE_RGB_ALPHA}, rgba));
    CHECK(img.pixels == rgb_of(rgba, 4));

    const auto big = pattern_rgb(19, 13, 3);
    png_spec inter{19, 13};
    inter.interlaced = true;
    CHECK(decode_ok(encode_png(inter, big)).pixels == big);
}

TEST_CASE("image decoder: PNG grayscale, gray+alpha, 1-bit, palette with tRNS") {
    const std::vector<uint8_t> gray = {0, 17, 128, 255, 3, 99};
    auto img = decode_ok(encode_png({3, 2, PNG_COLOR_TYPE_GRAY}, gray));
    for (size_t i = 0; i < gray.size(); ++i) {
        CHECK(img.pixels[i * 3] == gray[i]);
        CHECK(img.pixels[i * 3 + 1] == gray[i]);
        CHECK(img.pixels[i * 3 + 2] == gray[i]);
    }
    const std::vector<uint8_t> ga = {10, 0, 200, 255};  // (gray, alpha) x 2
    img = decode_ok(encode_png({2, 1, PNG_COLOR_TYPE_GRAY_ALPHA}, ga));
    CHECK(img.pixels == std::vector<uint8_t>{10, 10, 10, 200, 200, 200});

    // 1-bit gray: 0b10100000 -> white, black, white, black (PIL mode "1" -> 0/255).
    img = decode_ok(encode_png({4, 1, PNG_COLOR_TYPE_GRAY, 1}, {0xA0}));
    CHECK(img.pixels == std::vector<uint8_t>{255, 255, 255, 0, 0, 0, 255, 255, 255, 0, 0, 0});

    png_spec pal{3, 1, PNG_COLOR_TYPE_PALETTE, 8};
    pal.palette = {{255, 0, 0}, {0, 255, 0}, {1, 2, 3}};
    pal.trns = {0, 128, 255};  // index 0 fully transparent: its colour stays
    img = decode_ok(encode_png(pal, {2, 0, 1}));
    CHECK(img.pixels == std::vector<uint8_t>{1, 2, 3, 255, 0, 0, 0, 255, 0});

    pal.bit_depth = 2;
    pal.trns.clear();
    img = decode_ok(encode_png(pal, {0x24}));  // 00 10 01 00
    CHECK(img.pixels == std::vector<uint8_t>{255, 0, 0, 1, 2, 3, 0, 255, 0});
}

TEST_CASE("image decoder: 16-bit PNG as PIL converts it (high byte, gray clips at 255)") {
    // RGB 16-bit big-endian samples: PIL's "RGB;16B" keeps the high byte.
    const std::vector<uint8_t> rgb16 = {0x12, 0x34, 0xAB, 0xCD, 0x00, 0xFF};
    auto img = decode_ok(encode_png({1, 1, PNG_COLOR_TYPE_RGB, 16}, rgb16));
    CHECK(img.pixels == std::vector<uint8_t>{0x12, 0xAB, 0x00});
    const std::vector<uint8_t> rgba16 = {0x80, 0x01, 0x40, 0x02, 0x20, 0x03, 0x00, 0x00};
    img = decode_ok(encode_png({1, 1, PNG_COLOR_TYPE_RGB_ALPHA, 16}, rgba16));
    CHECK(img.pixels == std::vector<uint8_t>{0x80, 0x40, 0x20});
    // Gray 16-bit opens as "I;16"; convert("RGB") clips the value at 255.
    const std::vector<uint8_t> gray16 = {0x00, 100, 0x01, 0x2C, 0xFF, 0xFF};  // 100, 300, 65535
    img = decode_ok(encode_png({3, 1, PNG_COLOR_TYPE_GRAY, 16}, gray16));
    CHECK(img.pixels == std::vector<uint8_t>{100, 100, 100, 255, 255, 255, 255, 255, 255});
    // Gray+alpha 16-bit opens as "LA" from "LA;16B": the high byte.
    img = decode_ok(encode_png({1, 1, PNG_COLOR_TYPE_GRAY_ALPHA, 16}, {0x40, 0x99, 0, 0}));
    CHECK(img.pixels == std::vector<uint8_t>{0x40, 0x40, 0x40});
}

TEST_CASE("image decoder: JPEG RGB, grayscale and Adobe CMYK within tolerance") {
    // 16x16 in four solid 8x8 blocks, so compression barely moves the colours.
    const uint8_t block[4][3] = {{200, 30, 40}, {20, 180, 60}, {30, 40, 220}, {128, 128, 128}};
    std::vector<uint8_t> rgb(16 * 16 * 3);
    for (int y = 0; y < 16; ++y)
        for (int x = 0; x < 16; ++x)
            std::memcpy(&rgb[static_cast<size_t>((y * 16 + x) * 3)], block[(y / 8) * 2 + x / 8], 3);
    auto img = decode_ok(encode_jpeg({16, 16}, rgb));
    REQUIRE(img.width == 16);
    REQUIRE(img.height == 16);
    // Chroma subsampling blurs colour across block edges; compare the blocks' insides.
    for (int y = 0; y < 16; ++y) {
        for (int x = 0; x < 16; ++x) {
            if (x % 8 < 2 || x % 8 > 5 || y % 8 < 2 || y % 8 > 5) continue;
            const uint8_t* want = block[(y / 8) * 2 + x / 8];
            for (int c = 0; c < 3; ++c) CHECK(std::abs(img.at(x, y)[c] - want[c]) <= 8);
        }
    }

    std::vector<uint8_t> gray(8 * 8, 77);
    img = decode_ok(encode_jpeg({8, 8, 1, JCS_GRAYSCALE}, gray));
    for (size_t i = 0; i < img.num_pixels(); ++i) {
        CHECK(std::abs(img.pixels[i * 3] - 77) <= 1);
        CHECK(img.pixels[i * 3] == img.pixels[i * 3 + 1]);
        CHECK(img.pixels[i * 3] == img.pixels[i * 3 + 2]);
    }

    // Adobe CMYK stores inverted samples; PIL reads them as "CMYK;I" and then
    // R = (255 - k)(255 - c) / 255. Raw (0, 255, 255, 255) = c 255, m y k 0: cyan.
    std::vector<uint8_t> cmyk;
    for (int i = 0; i < 64; ++i) cmyk.insert(cmyk.end(), {0, 255, 255, 255});
    for (int i = 0; i < 64; ++i) cmyk.insert(cmyk.end(), {255, 255, 255, 127});  // k 128: gray
    img = decode_ok(encode_jpeg({8, 16, 4, JCS_CMYK}, cmyk));
    REQUIRE(img.height == 16);
    const uint8_t* top = img.at(3, 3);
    CHECK(top[0] <= 4);
    CHECK(top[1] >= 251);
    CHECK(top[2] >= 251);
    const uint8_t* bottom = img.at(3, 12);
    for (int c = 0; c < 3; ++c) CHECK(std::abs(bottom[c] - 127) <= 4);
}

TEST_CASE("image decoder: JPEG EXIF orientation is applied (6 and 8 swap the sides)") {
    for (bool little : {true, false}) {
        CHECK(exif_orientation(exif_block(6, little)) == 6);
        CHECK(exif_orientation(exif_block(3, little)) == 3);
    }
    CHECK(exif_orientation("II") == 1);
    CHECK(exif_orientation(exif_block(9, true)) == 1);
    std::string cut = exif_block(6, true);
    CHECK(exif_orientation(cut.substr(0, 12)) == 1);  // entry cut off: ignored, no overread

    // 16 wide, 8 tall: left half red, right half blue.
    std::vector<uint8_t> rgb;
    for (int y = 0; y < 8; ++y)
        for (int x = 0; x < 16; ++x)
            rgb.insert(rgb.end(), x < 8 ? std::initializer_list<uint8_t>{250, 0, 0}
                                        : std::initializer_list<uint8_t>{0, 0, 250});
    auto red = [](const uint8_t* p) { return p[0] > 200 && p[2] < 50; };
    auto blue = [](const uint8_t* p) { return p[2] > 200 && p[0] < 50; };
    auto plain = decode_ok(encode_jpeg({16, 8, 3, JCS_RGB, exif_block(1, true)}, rgb));
    CHECK(plain.width == 16);
    CHECK(red(plain.at(2, 4)));
    // 6: rotate 90 degrees clockwise: the left column becomes the top row.
    auto cw = decode_ok(encode_jpeg({16, 8, 3, JCS_RGB, exif_block(6, false)}, rgb));
    CHECK(cw.width == 8);
    CHECK(cw.height == 16);
    CHECK(red(cw.at(4, 2)));
    CHECK(blue(cw.at(4, 13)));
    // 8: counter-clockwise: the right column becomes the top row.
    auto ccw = decode_ok(encode_jpeg({16, 8, 3, JCS_RGB, exif_block(8, true)}, rgb));
    CHECK(ccw.width == 8);
    CHECK(ccw.height == 16);
    CHECK(blue(ccw.at(4, 2)));
    CHECK(red(ccw.at(4, 13)));
    auto flipped = decode_ok(encode_jpeg({16, 8, 3, JCS_RGB, exif_block(3, true)}, rgb));
    CHECK(flipped.width == 16);
    CHECK(blue(flipped.at(2, 4)));
}

TEST_CASE("image decoder: every EXIF orientation maps pixels as PIL's exif_transpose") {
    // 3x2, pixel value = its index: a b c / d e f.
    rgb_image img;
    img.width = 3;
    img.height = 2;
    for (uint8_t i = 0; i < 6; ++i) img.pixels.insert(img.pixels.end(), {i, i, i});
    auto layout = [](const rgb_image& r) {
        std::string s;
        for (int y = 0; y < r.height; ++y) {
            for (int x = 0; x < r.width; ++x) s += static_cast<char>('a' + r.at(x, y)[0]);
            s += '/';
        }
        return s;
    };
    CHECK(layout(apply_exif_orientation(img, 1)) == "abc/def/");
    CHECK(layout(apply_exif_orientation(img, 2)) == "cba/fed/");  // FLIP_LEFT_RIGHT
    CHECK(layout(apply_exif_orientation(img, 3)) == "fed/cba/");  // ROTATE_180
    CHECK(layout(apply_exif_orientation(img, 4)) == "def/abc/");  // FLIP_TOP_BOTTOM
    CHECK(layout(apply_exif_orientation(img, 5)) == "ad/be/cf/");  // TRANSPOSE
    CHECK(layout(apply_exif_orientation(img, 6)) == "da/eb/fc/");  // ROTATE_270 (clockwise)
    CHECK(layout(apply_exif_orientation(img, 7)) == "fc/eb/da/");  // TRANSVERSE
    CHECK(layout(apply_exif_orientation(img, 8)) == "cf/be/ad/");  // ROTATE_90
}

TEST_CASE("image decoder: lossless WebP exact, alpha dropped") {
    const auto rgb = pattern_rgb(7, 5, 3);
    uint8_t* out = nullptr;
    size_t n = WebPEncodeLosslessRGB(rgb.data(), 7, 5, 7 * 3, &out);
    REQUIRE(n > 0);
    auto img = decode_ok(std::string(reinterpret_cast<char*>(out), n));
    WebPFree(out);
    CHECK(img.width == 7);
    CHECK(img.pixels == rgb);

    auto rgba = pattern_rgb(3, 3, 4);
    rgba[3] = 0;
    rgba[7] = 10;
    // exact=1 keeps the colour under transparent pixels, as the file would carry it.
    WebPConfig config;
    REQUIRE(WebPConfigInit(&config));
    config.lossless = 1;
    config.exact = 1;
    WebPPicture pic;
    REQUIRE(WebPPictureInit(&pic));
    pic.use_argb = 1;
    pic.width = 3;
    pic.height = 3;
    REQUIRE(WebPPictureImportRGBA(&pic, rgba.data(), 3 * 4));
    WebPMemoryWriter writer;
    WebPMemoryWriterInit(&writer);
    pic.writer = WebPMemoryWrite;
    pic.custom_ptr = &writer;
    REQUIRE(WebPEncode(&config, &pic));
    img = decode_ok(std::string(reinterpret_cast<char*>(writer.mem), writer.size));
    WebPPictureFree(&pic);
    WebPMemoryWriterClear(&writer);
    CHECK(img.pixels == rgb_of(rgba, 4));
}

TEST_CASE("image decoder: GIF first frame through its palette (transparency ignored)") {
    const std::vector<GifColorType> colors = {{10, 20, 30}, {200, 100, 50}, {0, 0, 0}, {9, 9, 9}};
    const std::vector<uint8_t> idx = {0, 1, 2, 3, 1, 0};
    auto img = decode_ok(encode_gif(3, 2, colors, idx, /*transparent=*/1));
    CHECK(img.width == 3);
    CHECK(img.height == 2);
    std::vector<uint8_t> want;
    for (uint8_t i : idx) want.insert(want.end(), {colors[i].Red, colors[i].Green, colors[i].Blue});
    CHECK(img.pixels == want);
}

TEST_CASE("image decoder: unsupported, unrecognized, truncated and corrupt data are named") {
    CHECK(has_text(decode_fails(""), "empty"));
    CHECK(has_text(decode_fails("hello, world"), "unrecognized image data"));
    CHECK(has_text(decode_fails(std::string("BM\x36\0\0\0", 6)), "unsupported image format BMP"));
    CHECK(has_text(decode_fails(std::string("II*\0....", 8)), "TIFF"));

    const std::string png = encode_png({16, 16}, pattern_rgb(16, 16, 3));
    CHECK(has_text(decode_fails(png.substr(0, png.size() / 2)), "truncated"));
    CHECK(has_text(decode_fails(png.substr(0, 20)), "PNG"));
    std::string bad_png = png;
    bad_png[png.size() / 2] = static_cast<char>(bad_png[png.size() / 2] ^ 0x55);  // IDAT CRC
    CHECK(has_text(decode_fails(bad_png), "corrupt or truncated PNG data"));

    const std::string jpg = encode_jpeg({32, 32}, pattern_rgb(32, 32, 3));
    CHECK(has_text(decode_fails(jpg.substr(0, jpg.size() / 2)), "truncated"));
    CHECK(has_text(decode_fails(jpg.substr(0, 4)), "JPEG"));
    CHECK(has_text(decode_fails(std::string("\xff\xd8\xff\xe0garbage-garbage", 19)), "JPEG"));

    uint8_t* out = nullptr;
    const auto rgb = pattern_rgb(16, 16, 3);
    const size_t n = WebPEncodeLosslessRGB(rgb.data(), 16, 16, 16 * 3, &out);
    const std::string webp(reinterpret_cast<char*>(out), n);
    WebPFree(out);
    CHECK(has_text(decode_fails(webp.substr(0, webp.size() / 2)), "WebP"));
    CHECK(has_text(decode_fails(webp.substr(0, 14)), "WebP"));

    std::vector<uint8_t> idx(64 * 64);
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<uint8_t>(i * 7 % 4);
    const std::string gif = encode_gif(64, 64, {{1, 1, 1}, {2, 2, 2}, {3, 3, 3}, {4, 4, 4}}, idx, -1);
    CHECK(has_text(decode_fails(gif.substr(0, gif.size() / 2)), "GIF"));
    CHECK(has_text(decode_fails(gif.substr(0, 8)), "GIF"));
}

TEST_CASE("image decoder: the pixel limit is checked from the header, before decoding") {
    image_decode_options small;
    small.max_pixels = 15;
    const auto rgb = pattern_rgb(4, 4, 3);
    CHECK(has_text(decode_fails(encode_png({4, 4}, rgb), small), "over the limit of 15 pixels"));
    CHECK(has_text(decode_fails(encode_jpeg({4, 4}, rgb), small), "4x4 = 16 pixels"));
    uint8_t* out = nullptr;
    const size_t n = WebPEncodeLosslessRGB(rgb.data(), 4, 4, 12, &out);
    CHECK(has_text(decode_fails(std::string(reinterpret_cast<char*>(out), n), small), "WebP"));
    WebPFree(out);
    CHECK(has_text(decode_fails(encode_gif(4, 4, {{0, 0, 0}, {1, 1, 1}},
                                           std::vector<uint8_t>(16, 1), -1),
                                small),
                   "GIF image is 4x4"));
    small.max_pixels = 16;
    CHECK(decode_image(encode_png({4, 4}, rgb), small).ok());

    // A bomb: a PNG header claiming 60000x60000 with no pixel data behind it. With the
    // default limit (PIL's 89,478,485) it is refused as too large, not as truncated.
    std::string bomb = encode_png({1, 1}, {1, 2, 3}).substr(0, 33);  // signature + IHDR
    auto put32 = [&](size_t at, uint32_t v) {
        for (int k = 0; k < 4; ++k) bomb[at + static_cast<size_t>(k)] = static_cast<char>(v >> (24 - 8 * k));
    };
    put32(16, 60000);
    put32(20, 60000);
    put32(29, crc32_of(bomb.substr(12, 17)));
    const std::string msg = decode_fails(bomb);
    CHECK(has_text(msg, "60000x60000"));
    CHECK(has_text(msg, "89478485"));
    // Found by tests/fuzz/image_decode_fuzz: sides of 2^32 - 1 overflowed width * height
    // (undefined behaviour, and a negative product passed the limit).
    put32(16, 0xffffffffu);
    put32(20, 0xffff0000u);
    put32(29, crc32_of(bomb.substr(12, 17)));
    CHECK(has_text(decode_fails(bomb), "is too large (a side over 2^31 - 1)"));
    // A JPEG whose SOF0 claims 50000x50000, cut right after its headers.
    std::string jpeg_bomb = encode_jpeg({8, 8}, pattern_rgb(8, 8, 3));
    const size_t sof = jpeg_bomb.find("\xff\xc0");
    REQUIRE(sof != std::string::npos);
    jpeg_bomb[sof + 5] = jpeg_bomb[sof + 7] = static_cast<char>(50000 >> 8);
    jpeg_bomb[sof + 6] = jpeg_bomb[sof + 8] = static_cast<char>(50000 & 0xff);
    CHECK(has_text(decode_fails(jpeg_bomb.substr(0, sof + 20)), "50000x50000"));
    // The same for a GIF logical screen (no checksum to fix).
    std::string gif_bomb = encode_gif(1, 1, {{0, 0, 0}, {1, 1, 1}}, {0}, -1);
    gif_bomb[6] = gif_bomb[8] = static_cast<char>(0xff);
    gif_bomb[7] = gif_bomb[9] = static_cast<char>(0xff);
    CHECK(has_text(decode_fails(gif_bomb), "65535x65535"));
}
