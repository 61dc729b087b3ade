// pil_resample: libImaging/Resample.c's ImagingResample for RGB (Pillow 13), re-derived:
// coefficients per output index from the filter scaled by max(1, in/out), normalized to sum
// 1, then rounded to 22-bit fixed point; each pass accumulates from 1 << 21 (round half up)
// and clips the >> 22 result to [0, 255]. Computing a window changes no value: every output
// pixel depends only on its own index.
#include "multimodal/pil_resample.hpp"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

namespace actorlm::multimodal {

// Named rather than anonymous: unity batches join this file with its neighbours.
namespace pil_resample_detail {

// PIL: PRECISION_BITS = 32 - 8 - 2, so 255 * the coefficient sum fits an int.
constexpr int k_precision_bits = 22;

struct filter_def {
    double support;
    double (*weight)(double);
};

double box_weight(double x) { return (x > -0.5 && x <= 0.5) ? 1.0 : 0.0; }

double bilinear_weight(double x) {
    x = std::fabs(x);
    return x < 1.0 ? 1.0 - x : 0.0;
}

double hamming_weight(double x) {
    x = std::fabs(x);
    if (x == 0.0) return 1.0;
    if (x >= 1.0) return 0.0;
    x *= M_PI;
    // PIL writes these constants as float literals.
    return std::sin(x) / x * (0.54f + 0.46f * std::cos(x));
}

// Keys' cubic with a = -0.5, as PIL's bicubic_filter.
double bicubic_weight(double x) {
    constexpr double a = -0.5;
    x = std::fabs(x);
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

double sinc(double x) {
    if (x == 0.0) return 1.0;
    x *= M_PI;
    return std::sin(x) / x;
}

double lanczos_weight(double x) {
    // PIL truncates to [-3, 3).
    if (-3.0 <= x && x < 3.0) return sinc(x) * sinc(x / 3);
    return 0.0;
}

filter_def definition(resample_filter f) {
    switch (f) {
    case resample_filter::box: return {0.5, box_weight};
    case resample_filter::bilinear: return {1.0, bilinear_weight};
    case resample_filter::hamming: return {1.0, hamming_weight};
    case resample_filter::bicubic: return {2.0, bicubic_weight};
    case resample_filter::lanczos: return {3.0, lanczos_weight};
    }
    return {1.0, bilinear_weight};
}

// The taps of one axis: output index i reads `count[i]` input samples from `first[i]`
// with fixed-point weights k[i * ksize ...].
struct axis_taps {
    int ksize = 0;
    std::vector<int> first;
    std::vector<int> count;
    std::vector<int32_t> k;
};

axis_taps precompute(int in_size, int out_size, resample_filter f) {
    const filter_def def = definition(f);
    const double scale = static_cast<double>(in_size) / out_size;
    const double filterscale = std::max(scale, 1.0);
    const double support = def.support * filterscale;
    axis_taps taps;
    taps.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
    taps.first.resize(static_cast<size_t>(out_size));
    taps.count.resize(static_cast<size_t>(out_size));
    taps.k.assign(static_cast<size_t>(out_size) * static_cast<size_t>(taps.ksize), 0);
    std::vector<double> w(static_cast<size_t>(taps.ksize));
    const double ss = 1.0 / filterscale;
    for (int xx = 0; xx < out_size; ++xx) {
        const double center = (xx + 0.5) * scale;
        // PIL truncates toward zero with a C cast, then clamps.
        int xmin = static_cast<int>(center - support + 0.5);
        if (xmin < 0) xmin = 0;
        int xmax = static_cast<int>(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        double sum = 0.0;
        for (int x = 0; x < xmax; ++x) {
            w[static_cast<size_t>(x)] = def.weight((x + xmin - center + 0.5) * ss);
            sum += w[static_cast<size_t>(x)];
        }
        int32_t* k = taps.k.data() + static_cast<size_t>(xx) * static_cast<size_t>(taps.ksize);
        for (int x = 0; x < xmax; ++x) {
            double v = w[static_cast<size_t>(x)];
            if (sum != 0.0) v /= sum;
            // normalize_coeffs_8bpc: round half away from zero by a truncating cast.
            const double scaled = v * (1 << k_precision_bits);
            k[x] = static_cast<int32_t>(v < 0 ? -0.5 + scaled : 0.5 + scaled);
        }
        taps.first[static_cast<size_t>(xx)] = xmin;
        taps.count[static_cast<size_t>(xx)] = xmax;
    }
    return taps;
}

uint8_t clip8(int64_t acc) {
    const int64_t v = acc >> k_precision_bits;  // arithmetic shift: floors, as PIL's lookup
    return static_cast<uint8_t>(std::clamp<int64_t>(v, 0, 255));
}

rgb_image blank(int width, int height) {
    rgb_image out;
    out.width = width;
    out.height = height;
    out.pixels.resize(out.num_pixels() * 3);
    return out;
}

rgb_image crop_window(const rgb_image& src, pixel_window w) {
    rgb_image out = blank(w.width, w.height);
    for (int y = 0; y < w.height; ++y) {
        const uint8_t* p = src.at(w.x, w.y + y);
        std::copy(p, p + static_cast<size_t>(w.width) * 3, out.pixels.data() +
                  static_cast<size_t>(y) * static_cast<size_t>(w.width) * 3);
    }
    return out;
}

// The source samples [begin, end) that outputs [out_begin, out_end) read.
std::pair<int, int> source_span(const axis_taps& t, int out_begin, int out_end) {
    int begin = INT32_MAX, end = 0;
    for (int i = out_begin; i < out_end; ++i) {
        begin = std::min(begin, t.first[static_cast<size_t>(i)]);
        end = std::max(end, t.first[static_cast<size_t>(i)] + t.count[static_cast<size_t>(i)]);
    }
    return {begin, end};
}

// Horizontal pass: output columns [x0, x1) for src rows [y0, y1); src column c holds source
// column c + col_offset (src may be a column band of the source).
rgb_image pass_x(const rgb_image& src, int col_offset, const axis_taps& t, int x0, int x1,
                 int y0, int y1) {
    rgb_image out = blank(x1 - x0, y1 - y0);
    for (int y = y0; y < y1; ++y) {
        const uint8_t* row = src.at(0, y);
        uint8_t* dst = out.pixels.data() + static_cast<size_t>(y - y0) * out.width * 3;
        for (int xx = x0; xx < x1; ++xx) {
            const size_t i = static_cast<size_t>(xx);
            const int32_t* k = t.k.data() + i * static_cast<size_t>(t.ksize);
            const uint8_t* p = row + static_cast<size_t>(t.first[i] - col_offset) * 3;
            int64_t s0 = 1 << (k_precision_bits - 1), s1 = s0, s2 = s0;
            for (int x = 0; x < t.count[i]; ++x, p += 3) {
                s0 += p[0] * static_cast<int64_t>(k[x]);
                s1 += p[1] * static_cast<int64_t>(k[x]);
                s2 += p[2] * static_cast<int64_t>(k[x]);
            }
            uint8_t* q = dst + static_cast<size_t>(xx - x0) * 3;
            q[0] = clip8(s0);
            q[1] = clip8(s1);
            q[2] = clip8(s2);
        }
    }
    return out;
}

// Vertical pass: output rows [y0, y1) for src columns [x0, x1); src row r holds source row
// r + row_offset (src may be a row band of the source).
rgb_image pass_y(const rgb_image& src, int row_offset, const axis_taps& t, int y0, int y1,
                 int x0, int x1) {
    rgb_image out = blank(x1 - x0, y1 - y0);
    const size_t row_bytes = static_cast<size_t>(src.width) * 3;
    const size_t out_bytes = static_cast<size_t>(out.width) * 3;
    for (int yy = y0; yy < y1; ++yy) {
        const size_t i = static_cast<size_t>(yy);
        const int32_t* k = t.k.data() + i * static_cast<size_t>(t.ksize);
        const uint8_t* base = src.pixels.data() +
                              static_cast<size_t>(t.first[i] - row_offset) * row_bytes +
                              static_cast<size_t>(x0) * 3;
        uint8_t* dst = out.pixels.data() + static_cast<size_t>(yy - y0) * out_bytes;
        for (size_t c = 0; c < out_bytes; ++c) {
            int64_t s = 1 << (k_precision_bits - 1);
            for (int y = 0; y < t.count[i]; ++y)
                s += base[static_cast<size_t>(y) * row_bytes + c] * static_cast<int64_t>(k[y]);
            dst[c] = clip8(s);
        }
    }
    return out;
}

}  // namespace pil_resample_detail

result<resample_filter> resample_filter_from_pil(int64_t code) {
    switch (code) {
    case 1: return resample_filter::lanczos;
    case 2: return resample_filter::bilinear;
    case 3: return resample_filter::bicubic;
    case 4: return resample_filter::box;
    case 5: return resample_filter::hamming;
    case 0:
        return make_error(error_kind::invalid_argument,
                          "resample 0 (nearest) is not supported (use 1 lanczos, 2 bilinear, "
                          "3 bicubic, 4 box or 5 hamming)");
    default:
        return make_error(error_kind::invalid_argument,
                          "resample %lld is not a PIL filter (0..5)", static_cast<long long>(code));
    }
}

const char* resample_filter_name(resample_filter filter) {
    switch (filter) {
    case resample_filter::box: return "box";
    case resample_filter::bilinear: return "bilinear";
    case resample_filter::hamming: return "hamming";
    case resample_filter::bicubic: return "bicubic";
    case resample_filter::lanczos: return "lanczos";
    }
    return "?";
}

rgb_image pil_resize(const rgb_image& image, int out_width, int out_height,
                     resample_filter filter) {
    return pil_resize_window(image, out_width, out_height, filter,
                             pixel_window{0, 0, out_width, out_height});
}

rgb_image pil_resize_window(const rgb_image& image, int out_width, int out_height,
                            resample_filter filter, pixel_window window) {
    using namespace pil_resample_detail;
    ACTORLM_CHECK(image.width > 0 && image.height > 0 && out_width > 0 && out_height > 0,
                  "pil_resize: empty size %dx%d -> %dx%d", image.width, image.height,
                  out_width, out_height);
    ACTORLM_CHECK(window.x >= 0 && window.y >= 0 && window.width > 0 && window.height > 0 &&
                      window.x + window.width <= out_width &&
                      window.y + window.height <= out_height,
                  "pil_resize: window outside %dx%d", out_width, out_height);
    const int x0 = window.x, x1 = window.x + window.width;
    const int y0 = window.y, y1 = window.y + window.height;
    const bool need_horizontal = out_width != image.width;
    const bool need_vertical = out_height != image.height;
    if (!need_horizontal && !need_vertical) return crop_window(image, window);
    if (!need_vertical)
        return pass_x(image, 0, precompute(image.width, out_width, filter), x0, x1, y0, y1);
    if (!need_horizontal)
        return pass_y(image, 0, precompute(image.height, out_height, filter), y0, y1, x0, x1);

    const axis_taps horiz = precompute(image.width, out_width, filter);
    const axis_taps vert = precompute(image.height, out_height, filter);
    // Pillow 13 runs the vertical pass first when the height shrinks by more than twice what
    // the width shrinks (read from its ImagingResampleInner; checked on 893 random size pairs,
    // tests/engine/image_processor_test.cpp "pil_resize" covers both orders). The order
    // matters: the intermediate picture is rounded to uint8.
    const int64_t shrink_y = static_cast<int64_t>(image.height) - out_height;
    const int64_t shrink_x = static_cast<int64_t>(image.width) - out_width;
    if (shrink_y > 0 && shrink_y > 2 * shrink_x) {
        const auto [col_begin, col_end] = source_span(horiz, x0, x1);
        const rgb_image mid = pass_y(image, 0, vert, y0, y1, col_begin, col_end);
        return pass_x(mid, col_begin, horiz, x0, x1, 0, mid.height);
    }
    const auto [row_begin, row_end] = source_span(vert, y0, y1);
    const rgb_image mid = pass_x(image, 0, horiz, x0, x1, row_begin, row_end);
    return pass_y(mid, row_begin, vert, y0, y1, 0, mid.width);
}

}  // namespace actorlm::multimodal
