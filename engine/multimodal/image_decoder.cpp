// image_decoder implementation over Debian's libpng, libjpeg-turbo, libwebp and giflib.
// libpng and libjpeg report errors by longjmp: each setjmp sits in a small function whose
// own locals are plain pointers and whose buffers live in the caller, so a longjmp skips no
// destructor and leaks nothing (the library objects are destroyed by the caller either way).
#include "multimodal/image_decoder.hpp"

#include <gif_lib.h>
#include <jerror.h>
#include <png.h>
#include <webp/decode.h>

#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

// jpeglib.h needs size_t and FILE declared first.
#include <jpeglib.h>

namespace actorlm::multimodal {

namespace {

error decode_error(const char* fmt, const char* a = "", const char* b = "") {
    return make_error(error_kind::invalid_argument, fmt, a, b);
}

status check_pixels(image_format f, int64_t width, int64_t height, int64_t max_pixels) {
    if (width <= 0 || height <= 0)
        return make_error(error_kind::invalid_argument, "%s image has an empty size (%lldx%lld)",
                          image_format_name(f), static_cast<long long>(width),
                          static_cast<long long>(height));
    // Each side must fit rgb_image's int; then width * height cannot overflow int64 (headers
    // carry 32-bit sides, and their product overflowed here before the limit was checked).
    if (width > INT32_MAX || height > INT32_MAX)
        return make_error(error_kind::invalid_argument,
                          "%s image size %lldx%lld is too large (a side over 2^31 - 1)",
                          image_format_name(f), static_cast<long long>(width),
                          static_cast<long long>(height));
    if (max_pixels > 0 && width * height > max_pixels)
        return make_error(error_kind::invalid_argument,
                          "%s image is %lldx%lld = %lld pixels, over the limit of %lld pixels "
                          "(a possible decompression bomb)",
                          image_format_name(f), static_cast<long long>(width),
                          static_cast<long long>(height), static_cast<long long>(width * height),
                          static_cast<long long>(max_pixels));
    return status::success();
}

rgb_image make_image(int width, int height) {
    rgb_image img;
    img.width = width;
    img.height = height;
    img.pixels.resize(img.num_pixels() * 3);
    return img;
}

// ---- PNG ------------------------------------------------------------------------------

struct png_state {
    const uint8_t* data = nullptr;
    size_t size = 0;
    size_t pos = 0;
    char message[256] = {};
    bool too_many_pixels = false;
    png_uint_32 width = 0;
    png_uint_32 height = 0;
};

void png_read_memory(png_structp png, png_bytep out, size_t n) {
    auto* st = static_cast<png_state*>(png_get_io_ptr(png));
    if (n > st->size - st->pos) png_error(png, "the data is truncated");
    std::memcpy(out, st->data + st->pos, n);
    st->pos += n;
}

void png_on_error(png_structp png, png_const_charp msg) {
    auto* st = static_cast<png_state*>(png_get_error_ptr(png));
    std::snprintf(st->message, sizeof(st->message), "%s", msg);
    png_longjmp(png, 1);  // returning would print the message to stderr first
}

void png_on_warning(png_structp, png_const_charp) {}

// Reads the rows into `raw` (rowbytes * height) with `rows` pointing into it. PIL's
// conversions: palettes become their RGB entries (tRNS ignored), 1/2/4-bit gray is scaled
// to 8 bits, 16-bit RGB(A) and gray+alpha keep the high byte (rawmodes "RGB;16B",
// "LA;16B"), 16-bit gray stays 16-bit here (PIL opens it as "I;16" and clips, below).
bool png_read_rows(png_structp png, png_infop info, png_state& st, int64_t max_pixels,
                   std::vector<uint8_t>& raw, std::vector<png_bytep>& rows, int& channels,
                   int& depth) {
    if (setjmp(png_jmpbuf(png))) return false;
    png_set_read_fn(png, &st, png_read_memory);
    png_read_info(png, info);
    st.width = png_get_image_width(png, info);
    st.height = png_get_image_height(png, info);
    if (max_pixels > 0 && int64_t{st.width} * int64_t{st.height} > max_pixels) {
        st.too_many_pixels = true;
        return false;
    }
    const int color_type = png_get_color_type(png, info);
    const int bit_depth = png_get_bit_depth(png, info);
    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (bit_depth == 16 && color_type != PNG_COLOR_TYPE_GRAY) png_set_strip_16(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    channels = png_get_channels(png, info);
    depth = png_get_bit_depth(png, info);
    const size_t row_bytes = png_get_rowbytes(png, info);
    raw.resize(row_bytes * st.height);
    rows.resize(st.height);
    for (png_uint_32 y = 0; y < st.height; ++y) rows[y] = raw.data() + row_bytes * y;
    png_read_image(png, rows.data());
    return true;
}

uint32_t big_endian(std::string_view b, size_t at, int n) {
    uint32_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(b[at + static_cast<size_t>(i)]);
    return v;
}

// The size in the IHDR chunk (always first), so that a file claiming a huge size is
// refused as such even when the data behind the header is missing.
status check_png_header(std::string_view b, int64_t max_pixels) {
    if (b.size() < 24 || b.substr(12, 4) != "IHDR") return status::success();
    return check_pixels(image_format::png, big_endian(b, 16, 4), big_endian(b, 20, 4), max_pixels);
}

// The same for JPEG: the first SOFn segment's size, found by walking the segments.
status check_jpeg_header(std::string_view b, int64_t max_pixels) {
    size_t pos = 2;
    while (pos + 4 <= b.size()) {
        if (static_cast<uint8_t>(b[pos]) != 0xFF) return status::success();
        const uint8_t marker = static_cast<uint8_t>(b[pos + 1]);
        if (marker == 0xFF) {  // fill byte
            ++pos;
            continue;
        }
        const uint32_t length = big_endian(b, pos + 2, 2);
        const bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 &&
                         marker != 0xCC;
        if (sof) {
            if (pos + 9 > b.size()) return status::success();
            return check_pixels(image_format::jpeg, big_endian(b, pos + 7, 2),
                                big_endian(b, pos + 5, 2), max_pixels);
        }
        if (marker == 0xDA || length < 2) return status::success();  // scan data: no SOF
        pos += 2 + length;
    }
    return status::success();
}

result<rgb_image> decode_png(std::string_view bytes, int64_t max_pixels) {
    ACTORLM_TRY(check_png_header(bytes, max_pixels));
    png_state st;
    st.data = reinterpret_cast<const uint8_t*>(bytes.data());
    st.size = bytes.size();
    png_structp png =
        png_create_read_struct(PNG_LIBPNG_VER_STRING, &st, png_on_error, png_on_warning);
    if (png == nullptr) return make_error("PNG: out of memory");
    png_infop info = png_create_info_struct(png);
    std::vector<uint8_t> raw;
    std::vector<png_bytep> rows;
    int channels = 0;
    int depth = 0;
    const bool ok = info != nullptr &&
                    png_read_rows(png, info, st, max_pixels, raw, rows, channels, depth);
    png_destroy_read_struct(&png, info != nullptr ? &info : nullptr, nullptr);
    if (st.too_many_pixels) {
        ACTORLM_TRY(check_pixels(image_format::png, st.width, st.height, max_pixels));
    }
    if (!ok) return decode_error("corrupt or truncated PNG data: %s", st.message);
    ACTORLM_TRY(check_pixels(image_format::png, st.width, st.height, 0));
    rgb_image img = make_image(static_cast<int>(st.width), static_cast<int>(st.height));
    uint8_t* out = img.pixels.data();
    for (png_uint_32 y = 0; y < st.height; ++y) {
        const uint8_t* in = rows[y];
        for (png_uint_32 x = 0; x < st.width; ++x, out += 3) {
            if (depth == 16) {  // 16-bit gray: PIL's I;16 -> RGB clips at 255
                const unsigned v = (unsigned{in[x * 2]} << 8) | in[x * 2 + 1];
                out[0] = out[1] = out[2] = static_cast<uint8_t>(v > 255 ? 255 : v);
            } else if (channels >= 3) {  // RGB, or RGBA with the alpha dropped
                std::memcpy(out, in + x * static_cast<size_t>(channels), 3);
            } else {  // gray, or gray+alpha with the alpha dropped
                out[0] = out[1] = out[2] = in[x * static_cast<size_t>(channels)];
            }
        }
    }
    return img;
}

// ---- JPEG -----------------------------------------------------------------------------

struct jpeg_state {
    jpeg_error_mgr mgr;  // first: libjpeg hands back a pointer to it
    std::jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
    bool too_many_pixels = false;
};

[[noreturn]] void jpeg_on_error(j_common_ptr cinfo) {
    auto* st = reinterpret_cast<jpeg_state*>(cinfo->err);
    (*cinfo->err->format_message)(cinfo, st->message);
    std::longjmp(st->jump, 1);
}

// Warnings are silent, except data that ends early: libjpeg pads it with gray, PIL
// refuses it ("image file is truncated"), so do we.
void jpeg_on_message(j_common_ptr cinfo, int level) {
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
        auto* st = reinterpret_cast<jpeg_state*>(cinfo->err);
        std::snprintf(st->message, sizeof(st->message), "the data is truncated");
        std::longjmp(st->jump, 1);
    }
}

bool jpeg_read_pixels(jpeg_decompress_struct& cinfo, jpeg_state& st, std::string_view bytes,
                      int64_t max_pixels, std::vector<uint8_t>& raw, int& orientation) {
    if (setjmp(st.jump)) return false;
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, reinterpret_cast<const unsigned char*>(bytes.data()),
                 static_cast<unsigned long>(bytes.size()));
    jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(&cinfo, TRUE);
    if (max_pixels > 0 &&
        int64_t{cinfo.image_width} * int64_t{cinfo.image_height} > max_pixels) {
        st.too_many_pixels = true;
        return false;
    }
    for (jpeg_saved_marker_ptr m = cinfo.marker_list; m != nullptr; m = m->next) {
        if (m->marker == JPEG_APP0 + 1 && m->data_length > 6 &&
            std::memcmp(m->data, "Exif\0\0", 6) == 0) {
            orientation = exif_orientation(std::string_view(
                reinterpret_cast<const char*>(m->data) + 6, m->data_length - 6));
            break;
        }
    }
    const bool cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    const size_t row_bytes = size_t{cinfo.output_width} * size_t(cinfo.output_components);
    raw.resize(row_bytes * cinfo.output_height);
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = raw.data() + row_bytes * cinfo.output_scanline;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    return true;
}

// PIL's Adobe CMYK: libjpeg's samples are inverted ("CMYK;I"), then cmyk2rgb:
// channel = (255 - k) - c * (255 - k) / 255, rounded as its MULDIV255.
uint8_t cmyk_channel(uint8_t raw_c, uint8_t raw_k) {
    const int c = 255 - raw_c;
    const int nk = raw_k;  // 255 - k, with k = 255 - raw_k
    const int tmp = c * nk + 128;
    const int v = nk - (((tmp >> 8) + tmp) >> 8);
    return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
}

result<rgb_image> decode_jpeg(std::string_view bytes, int64_t max_pixels) {
    ACTORLM_TRY(check_jpeg_header(bytes, max_pixels));
    jpeg_decompress_struct cinfo{};
    jpeg_state st{};
    cinfo.err = jpeg_std_error(&st.mgr);
    st.mgr.error_exit = jpeg_on_error;
    st.mgr.emit_message = jpeg_on_message;
    std::vector<uint8_t> raw;
    int orientation = 1;
    const bool ok = jpeg_read_pixels(cinfo, st, bytes, max_pixels, raw, orientation);
    const int64_t width = cinfo.image_width;
    const int64_t height = cinfo.image_height;
    const int components = cinfo.output_components;
    jpeg_destroy_decompress(&cinfo);
    if (st.too_many_pixels) {
        ACTORLM_TRY(check_pixels(image_format::jpeg, width, height, max_pixels));
    }
    if (!ok) return decode_error("corrupt or truncated JPEG data: %s", st.message);
    ACTORLM_TRY(check_pixels(image_format::jpeg, width, height, 0));
    rgb_image img = make_image(static_cast<int>(width), static_cast<int>(height));
    if (components == 3) {
        img.pixels = std::move(raw);
    } else if (components == 4) {
        for (size_t i = 0; i < img.num_pixels(); ++i) {
            const uint8_t* in = raw.data() + i * 4;
            for (int c = 0; c < 3; ++c) img.pixels[i * 3 + c] = cmyk_channel(in[c], in[3]);
        }
    } else {
        return make_error(error_kind::invalid_argument, "JPEG with %d components is not supported",
                          components);
    }
    return orientation == 1 ? std::move(img) : apply_exif_orientation(img, orientation);
}

// ---- WebP -----------------------------------------------------------------------------

result<rgb_image> decode_webp(std::string_view bytes, int64_t max_pixels) {
    const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
    WebPBitstreamFeatures features;
    const VP8StatusCode code = WebPGetFeatures(data, bytes.size(), &features);
    if (code == VP8_STATUS_NOT_ENOUGH_DATA) return decode_error("WebP data is truncated");
    if (code != VP8_STATUS_OK) return decode_error("corrupt WebP data");
    ACTORLM_TRY(check_pixels(image_format::webp, features.width, features.height, max_pixels));
    if (features.has_animation) return decode_error("animated WebP images are not supported");
    rgb_image img = make_image(features.width, features.height);
    // RGB output drops the alpha without compositing, as PIL's RGBA -> RGB does.
    if (WebPDecodeRGBInto(data, bytes.size(), img.pixels.data(), img.pixels.size(),
                          features.width * 3) == nullptr)
        return decode_error("corrupt or truncated WebP data");
    return img;
}

// ---- GIF ------------------------------------------------------------------------------

struct gif_source {
    const uint8_t* data;
    size_t size;
    size_t pos;
};

int gif_read_memory(GifFileType* gif, GifByteType* out, int n) {
    auto* src = static_cast<gif_source*>(gif->UserData);
    const size_t take = std::min(static_cast<size_t>(n), src->size - src->pos);
    std::memcpy(out, src->data + src->pos, take);
    src->pos += take;
    return static_cast<int>(take);
}

struct gif_closer {
    void operator()(GifFileType* gif) const {
        int err = 0;
        DGifCloseFile(gif, &err);
    }
};

error gif_error(int code) {
    const char* what = GifErrorString(code);
    return decode_error("corrupt or truncated GIF data: %s", what != nullptr ? what : "error");
}

// The first frame, as PIL shows it: palette indices through the frame's colour map
// (its local one, else the global one; transparency ignored by convert("RGB")), the
// canvas outside the frame filled with the transparent index if any, else index 0.
result<rgb_image> decode_gif(std::string_view bytes, int64_t max_pixels) {
    gif_source src{reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), 0};
    int err = 0;
    std::unique_ptr<GifFileType, gif_closer> gif(DGifOpen(&src, gif_read_memory, &err));
    if (!gif) return gif_error(err);
    ACTORLM_TRY(check_pixels(image_format::gif, gif->SWidth, gif->SHeight, max_pixels));
    int transparent = -1;
    for (;;) {
        GifRecordType type;
        if (DGifGetRecordType(gif.get(), &type) != GIF_OK) return gif_error(gif->Error);
        if (type == TERMINATE_RECORD_TYPE) return decode_error("GIF data holds no image");
        if (type == EXTENSION_RECORD_TYPE) {
            int ext_code = 0;
            GifByteType* ext = nullptr;
            if (DGifGetExtension(gif.get(), &ext_code, &ext) != GIF_OK)
                return gif_error(gif->Error);
            while (ext != nullptr) {
                if (ext_code == GRAPHICS_EXT_FUNC_CODE && ext[0] >= 4 && (ext[1] & 1))
                    transparent = ext[4];
                if (DGifGetExtensionNext(gif.get(), &ext) != GIF_OK) return gif_error(gif->Error);
            }
            continue;
        }
        if (type != IMAGE_DESC_RECORD_TYPE) continue;
        if (DGifGetImageDesc(gif.get()) != GIF_OK) return gif_error(gif->Error);
        const GifImageDesc& desc = gif->Image;
        const ColorMapObject* map = desc.ColorMap != nullptr ? desc.ColorMap : gif->SColorMap;
        if (map == nullptr) return decode_error("GIF image has no colour map");
        ACTORLM_TRY(check_pixels(image_format::gif, desc.Width, desc.Height, max_pixels));
        auto color = [&](int index, uint8_t* out) {
            if (index < 0 || index >= map->ColorCount) {
                out[0] = out[1] = out[2] = 0;
                return;
            }
            out[0] = map->Colors[index].Red;
            out[1] = map->Colors[index].Green;
            out[2] = map->Colors[index].Blue;
        };
        rgb_image img = make_image(gif->SWidth, gif->SHeight);
        uint8_t fill[3];
        color(transparent >= 0 ? transparent : 0, fill);
        for (size_t i = 0; i < img.num_pixels(); ++i) std::memcpy(&img.pixels[i * 3], fill, 3);
        std::vector<GifPixelType> line(static_cast<size_t>(desc.Width));
        // Interlaced frames store rows in four passes.
        static const int start[] = {0, 4, 2, 1};
        static const int step[] = {8, 8, 4, 2};
        const int passes = desc.Interlace ? 4 : 1;
        for (int pass = 0; pass < passes; ++pass) {
            const int y0 = desc.Interlace ? start[pass] : 0;
            const int dy = desc.Interlace ? step[pass] : 1;
            for (int y = y0; y < desc.Height; y += dy) {
                if (DGifGetLine(gif.get(), line.data(), desc.Width) != GIF_OK)
                    return gif_error(gif->Error);
                const int cy = desc.Top + y;
                if (cy < 0 || cy >= img.height) continue;
                for (int x = 0; x < desc.Width; ++x) {
                    const int cx = desc.Left + x;
                    if (cx < 0 || cx >= img.width) continue;
                    color(line[static_cast<size_t>(x)],
                          &img.pixels[(static_cast<size_t>(cy) * img.width + cx) * 3]);
                }
            }
        }
        return img;
    }
}

// ---- formats we recognize but do not decode ---------------------------------------------

const char* other_format_name(std::string_view b) {
    auto starts = [&](std::string_view magic, size_t at = 0) {
        return b.size() >= at + magic.size() && b.substr(at, magic.size()) == magic;
    };
    if (starts("BM")) return "BMP";
    if (starts(std::string_view("II*\0", 4)) || starts(std::string_view("MM\0*", 4)))
        return "TIFF";
    if (starts("ftypavif", 4) || starts("ftypavis", 4)) return "AVIF";
    if (starts("ftypheic", 4) || starts("ftypheix", 4) || starts("ftypmif1", 4)) return "HEIF";
    if (starts(std::string_view("\0\0\1\0", 4))) return "ICO";
    if (starts("<svg") || starts("<?xml")) return "SVG";
    return nullptr;
}

}  // namespace

const char* image_format_name(image_format f) {
    switch (f) {
        case image_format::png: return "PNG";
        case image_format::jpeg: return "JPEG";
        case image_format::webp: return "WebP";
        case image_format::gif: return "GIF";
        case image_format::unknown: break;
    }
    return "unknown";
}

image_format sniff_image_format(std::string_view b) {
    if (b.size() >= 8 && b.substr(0, 8) == "\x89PNG\r\n\x1a\n") return image_format::png;
    if (b.size() >= 3 && b.substr(0, 3) == "\xff\xd8\xff") return image_format::jpeg;
    if (b.size() >= 12 && b.substr(0, 4) == "RIFF" && b.substr(8, 4) == "WEBP")
        return image_format::webp;
    if (b.size() >= 6 && (b.substr(0, 6) == "GIF87a" || b.substr(0, 6) == "GIF89a"))
        return image_format::gif;
    return image_format::unknown;
}

result<rgb_image> decode_image(std::string_view bytes, const image_decode_options& options) {
    if (bytes.empty()) return decode_error("the image data is empty");
    switch (sniff_image_format(bytes)) {
        case image_format::png: return decode_png(bytes, options.max_pixels);
        case image_format::jpeg: return decode_jpeg(bytes, options.max_pixels);
        case image_format::webp: return decode_webp(bytes, options.max_pixels);
        case image_format::gif: return decode_gif(bytes, options.max_pixels);
        case image_format::unknown: break;
    }
    if (const char* other = other_format_name(bytes))
        return decode_error("unsupported image format %s (supported: PNG, JPEG, WebP, GIF)",
                            other);
    return decode_error("unrecognized image data (not PNG, JPEG, WebP or GIF)");
}

int exif_orientation(std::string_view t) {
    if (t.size() < 8) return 1;
    const bool little = t.substr(0, 2) == "II";
    if (!little && t.substr(0, 2) != "MM") return 1;
    auto u8 = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(t[i])); };
    auto read16 = [&](size_t i) -> uint32_t {
        return little ? u8(i) | (u8(i + 1) << 8) : (u8(i) << 8) | u8(i + 1);
    };
    auto read32 = [&](size_t i) -> uint32_t {
        return little ? read16(i) | (read16(i + 2) << 16) : (read16(i) << 16) | read16(i + 2);
    };
    if (read16(2) != 42) return 1;
    const size_t ifd = read32(4);
    if (ifd > t.size() || t.size() - ifd < 2) return 1;
    const uint32_t count = read16(ifd);
    for (uint32_t i = 0; i < count; ++i) {
        const size_t e = ifd + 2 + size_t{12} * i;
        if (e + 12 > t.size()) break;
        if (read16(e) != 0x0112) continue;
        const uint32_t type = read16(e + 2);
        const uint32_t value = type == 3 ? read16(e + 8) : type == 4 ? read32(e + 8) : 1;
        return value >= 1 && value <= 8 ? static_cast<int>(value) : 1;
    }
    return 1;
}

rgb_image apply_exif_orientation(const rgb_image& img, int o) {
    if (o < 2 || o > 8) return img;
    const int w = img.width;
    const int h = img.height;
    const bool swap = o >= 5;
    rgb_image out = make_image(swap ? h : w, swap ? w : h);
    for (int y = 0; y < out.height; ++y) {
        for (int x = 0; x < out.width; ++x) {
            int sx = x, sy = y;
            switch (o) {
                case 2: sx = w - 1 - x; break;                       // mirror
                case 3: sx = w - 1 - x, sy = h - 1 - y; break;       // rotate 180
                case 4: sy = h - 1 - y; break;                       // flip
                case 5: sx = y, sy = x; break;                       // transpose
                case 6: sx = y, sy = h - 1 - x; break;               // rotate 90 clockwise
                case 7: sx = w - 1 - y, sy = h - 1 - x; break;       // transverse
                case 8: sx = w - 1 - y, sy = x; break;               // rotate 90 counter-cw
                default: break;
            }
            std::memcpy(&out.pixels[(static_cast<size_t>(y) * out.width + x) * 3], img.at(sx, sy),
                        3);
        }
    }
    return out;
}

}  // namespace actorlm::multimodal
