// image_processor_qwen2_vl: Qwen2VLImageProcessor for one image. smart_resize reproduces
// Python's arithmetic (round() ties to even, float quotients); the patch order is the
// processor's reshape + transpose (t, h / m, w / m, m, m | c, temporal, p, p), the single
// frame repeated temporal_patch_size times as HF pads the temporal axis.
#include <algorithm>
#include <cmath>

#include "multimodal/image_processor.hpp"
#include "multimodal/image_processor_steps.hpp"
#include "multimodal/pil_resample.hpp"

namespace actorlm::multimodal {

result<std::array<int64_t, 2>> qwen2_vl_smart_resize(int64_t height, int64_t width,
                                                     int64_t factor, int64_t min_pixels,
                                                     int64_t max_pixels) {
    const double ratio = static_cast<double>(std::max(height, width)) /
                         static_cast<double>(std::min(height, width));
    if (ratio > 200)
        return make_error(error_kind::invalid_argument,
                          "image: absolute aspect ratio must be smaller than 200, got %g "
                          "(%lldx%lld)",
                          ratio, static_cast<long long>(width), static_cast<long long>(height));
    const auto f = static_cast<double>(factor);
    // Python's round(): half to even, which nearbyint gives in the default rounding mode.
    auto h_bar = static_cast<int64_t>(std::nearbyint(static_cast<double>(height) / f)) * factor;
    auto w_bar = static_cast<int64_t>(std::nearbyint(static_cast<double>(width) / f)) * factor;
    if (h_bar * w_bar > max_pixels) {
        const double beta = std::sqrt(static_cast<double>(height * width) /
                                      static_cast<double>(max_pixels));
        h_bar = std::max(factor, static_cast<int64_t>(
                                     std::floor(static_cast<double>(height) / beta / f)) * factor);
        w_bar = std::max(factor, static_cast<int64_t>(
                                     std::floor(static_cast<double>(width) / beta / f)) * factor);
    } else if (h_bar * w_bar < min_pixels) {
        const double beta = std::sqrt(static_cast<double>(min_pixels) /
                                      static_cast<double>(height * width));
        h_bar = static_cast<int64_t>(std::ceil(static_cast<double>(height) * beta / f)) * factor;
        w_bar = static_cast<int64_t>(std::ceil(static_cast<double>(width) * beta / f)) * factor;
    }
    return std::array<int64_t, 2>{h_bar, w_bar};
}

result<processed_image> preprocess_qwen2_vl(const qwen2_vl_image_config& config,
                                            const rgb_image& input) {
    if (input.width < 1 || input.height < 1)
        return make_error(error_kind::invalid_argument, "image: empty picture");
    if (config.patch_size < 1 || config.merge_size < 1 || config.temporal_patch_size < 1 ||
        config.min_pixels < 1 || config.max_pixels < config.min_pixels)
        return make_error(error_kind::invalid_argument,
                          "Qwen2-VL image settings: patch_size, merge_size, temporal_patch_size "
                          "must be >= 1 and 1 <= min_pixels <= max_pixels");
    const int64_t p = config.patch_size, m = config.merge_size, tp = config.temporal_patch_size;
    rgb_image resized;
    const rgb_image* image = &input;
    if (config.do_resize) {
        auto hw = qwen2_vl_smart_resize(input.height, input.width, p * m, config.min_pixels,
                                        config.max_pixels);
        if (!hw) return hw.err();
        ACTORLM_TRY(check_resize_target((*hw)[1], (*hw)[0], "smart_resize"));
        resized = pil_resize(input, static_cast<int>((*hw)[1]), static_cast<int>((*hw)[0]),
                             config.resample);
        image = &resized;
    }
    const int64_t gh = image->height / p, gw = image->width / p;
    if (gh % m != 0 || gw % m != 0 || image->height % p != 0 || image->width % p != 0)
        return make_error(error_kind::invalid_argument,
                          "image: %dx%d is not a multiple of patch_size * merge_size = %lld "
                          "(do_resize is false)",
                          image->width, image->height, static_cast<long long>(p * m));

    std::vector<float> chw;
    append_normalized_chw(*image, config.norm, chw);
    const size_t plane = image->num_pixels();
    const int64_t row_len = 3 * tp * p * p;
    processed_image out;
    out.grid_thw = {1, gh, gw};
    out.merge_size = m;
    out.shape = {gh * gw, row_len};
    out.pixel_values.resize(static_cast<size_t>(gh * gw * row_len));
    float* dst = out.pixel_values.data();
    // Rows: merge windows (bh, bw) in raster order, then (mh, mw) inside each window.
    for (int64_t bh = 0; bh < gh / m; ++bh)
        for (int64_t bw = 0; bw < gw / m; ++bw)
            for (int64_t mh = 0; mh < m; ++mh)
                for (int64_t mw = 0; mw < m; ++mw) {
                    const int64_t y0 = (bh * m + mh) * p, x0 = (bw * m + mw) * p;
                    for (int64_t c = 0; c < 3; ++c)
                        for (int64_t t = 0; t < tp; ++t)  // the same frame each time
                            for (int64_t py = 0; py < p; ++py) {
                                const float* src = chw.data() + static_cast<size_t>(c) * plane +
                                                   static_cast<size_t>(y0 + py) *
                                                       static_cast<size_t>(image->width) +
                                                   static_cast<size_t>(x0);
                                dst = std::copy(src, src + p, dst);
                            }
                }
    out.num_image_tokens = gh * gw / (m * m);
    return out;
}

}  // namespace actorlm::multimodal
