// image_processor_config: JSON -> typed settings. Each key is read with the transformers
// class's default when absent or null; "size" and "crop_size" accept the old integer form as
// get_size_dict does (an int size is a shortest edge for CLIP, a square crop otherwise).
#include "multimodal/image_processor_config.hpp"

#include <filesystem>
#include <optional>

#include <simdjson.h>

#include "base/text_file.hpp"

namespace actorlm::multimodal {

// Named rather than anonymous: unity batches join this file with its neighbours.
namespace processor_config_json {

using simdjson::dom::element;
using simdjson::dom::object;

constexpr std::array<double, 3> k_openai_clip_mean{0.48145466, 0.4578275, 0.40821073};
constexpr std::array<double, 3> k_openai_clip_std{0.26862954, 0.26130258, 0.27577711};
constexpr std::array<double, 3> k_imagenet_standard{0.5, 0.5, 0.5};

// Reads keys of one JSON object, naming the file in every error.
class reader {
public:
    reader(object o, const char* file) : o_(o), file_(file) {}

    bool has(const char* key) const {
        element e;
        return o_[key].get(e) == simdjson::SUCCESS && !e.is_null();
    }

    result<bool> flag(const char* key, bool fallback) const {
        element e;
        if (!find(key, e)) return fallback;
        bool v = false;
        if (e.get(v)) return bad(key, "must be true or false");
        return v;
    }

    // A positive integer (sizes, counts).
    result<int64_t> positive(const char* key, int64_t fallback) const {
        element e;
        if (!find(key, e)) return fallback;
        return positive_value(e, key);
    }

    result<int64_t> positive_value(element e, const char* key) const {
        int64_t v = 0;
        if (e.get(v) || v <= 0) return bad(key, "must be a positive integer");
        return v;
    }

    result<int64_t> integer(const char* key, int64_t fallback) const {
        element e;
        if (!find(key, e)) return fallback;
        int64_t v = 0;
        if (e.get(v)) return bad(key, "must be an integer");
        return v;
    }

    result<double> number(const char* key, double fallback) const {
        element e;
        if (!find(key, e)) return fallback;
        double v = 0;
        if (e.get(v)) return bad(key, "must be a number");
        return v;
    }

    result<std::string> text(const char* key, const std::string& fallback) const {
        element e;
        if (!find(key, e)) return fallback;
        std::string_view v;
        if (e.get(v)) return bad(key, "must be a string");
        return std::string(v);
    }

    // image_mean / image_std: a list of 3 numbers or one number for all channels.
    result<std::array<double, 3>> channels(const char* key, std::array<double, 3> fallback) const {
        element e;
        if (!find(key, e)) return fallback;
        double one = 0;
        if (!e.get(one)) {
            return std::array<double, 3>{one, one, one};
        }
        simdjson::dom::array arr;
        if (e.get(arr) || arr.size() != 3) return bad(key, "must be a list of 3 numbers");
        std::array<double, 3> out{};
        size_t i = 0;
        for (element v : arr) {
            double d = 0;
            if (v.get(d)) return bad(key, "must be a list of 3 numbers");
            out[i++] = d;
        }
        return out;
    }

    result<resample_filter> resample(resample_filter fallback) const {
        element e;
        if (!find("resample", e)) return fallback;
        int64_t code = 0;
        if (e.get(code)) return bad("resample", "must be a PIL filter number");
        auto f = resample_filter_from_pil(code);
        if (!f) return make_error(error_kind::invalid_argument, "%s: %s", file_,
                                  f.message().c_str());
        return f;
    }

    // A nested object such as "size"; nullopt when absent, an error when not an object.
    result<std::optional<reader>> child(const char* key) const {
        element e;
        if (!find(key, e)) return std::optional<reader>();
        object o;
        if (e.get(o)) return bad(key, "must be an object");
        return std::optional<reader>(reader(o, file_, key));
    }

    error bad(const char* key, const char* what) const {
        if (parent_)
            return make_error(error_kind::invalid_argument, "%s: '%s.%s' %s", file_, parent_, key,
                              what);
        return make_error(error_kind::invalid_argument, "%s: '%s' %s", file_, key, what);
    }

    const char* file() const { return file_; }

private:
    reader(object o, const char* file, const char* parent) : o_(o), file_(file), parent_(parent) {}

    bool find(const char* key, element& e) const {
        return o_[key].get(e) == simdjson::SUCCESS && !e.is_null();
    }

    object o_;
    const char* file_;
    const char* parent_ = nullptr;
};

#define ACTORLM_READ(dst, expr)        \
    do {                               \
        auto r_ = (expr);              \
        if (!r_) return r_.err();      \
        dst = std::move(r_.value());   \
    } while (0)

status read_normalization(const reader& r, std::array<double, 3> mean, std::array<double, 3> std,
                          pixel_normalization& n) {
    ACTORLM_READ(n.do_rescale, r.flag("do_rescale", true));
    ACTORLM_READ(n.rescale_factor, r.number("rescale_factor", 1.0 / 255.0));
    ACTORLM_READ(n.do_normalize, r.flag("do_normalize", true));
    ACTORLM_READ(n.mean, r.channels("image_mean", mean));
    ACTORLM_READ(n.std, r.channels("image_std", std));
    if (n.do_normalize)
        for (double s : n.std)
            if (!(s != 0.0)) return r.bad("image_std", "must not hold 0");
    return {};
}

int to_int(int64_t v) { return static_cast<int>(std::min<int64_t>(v, INT32_MAX)); }

result<image_processor_config> read_clip(const reader& pre, const reader* proc, bool llava) {
    clip_image_config c;
    ACTORLM_READ(c.do_resize, pre.flag("do_resize", true));
    // size: {"shortest_edge"} or {"height", "width"}; an old int size is a shortest edge.
    if (pre.has("size")) {
        int64_t edge = 0;
        if (auto as_int = pre.positive("size", 0); as_int) {
            edge = as_int.value();
        } else {
            std::optional<reader> size;
            ACTORLM_READ(size, pre.child("size"));
            if (size->has("shortest_edge")) {
                ACTORLM_READ(edge, size->positive("shortest_edge", 0));
            } else if (size->has("height") && size->has("width")) {
                int64_t h = 0, w = 0;
                ACTORLM_READ(h, size->positive("height", 0));
                ACTORLM_READ(w, size->positive("width", 0));
                c.shortest_edge = 0;
                c.resize_height = to_int(h);
                c.resize_width = to_int(w);
            } else {
                return pre.bad("size", "must hold 'shortest_edge' or 'height' and 'width'");
            }
        }
        if (edge > 0) c.shortest_edge = to_int(edge);
    }
    ACTORLM_READ(c.resample, pre.resample(resample_filter::bicubic));
    ACTORLM_READ(c.do_center_crop, pre.flag("do_center_crop", true));
    if (pre.has("crop_size")) {
        if (auto as_int = pre.positive("crop_size", 0); as_int) {
            c.crop_height = c.crop_width = to_int(as_int.value());
        } else {
            std::optional<reader> crop;
            ACTORLM_READ(crop, pre.child("crop_size"));
            int64_t h = 0, w = 0;
            ACTORLM_READ(h, crop->positive("height", 0));
            ACTORLM_READ(w, crop->positive("width", 0));
            if (h == 0 || w == 0) return pre.bad("crop_size", "must hold 'height' and 'width'");
            c.crop_height = to_int(h);
            c.crop_width = to_int(w);
        }
    }
    if (llava) ACTORLM_READ(c.do_pad, pre.flag("do_pad", false));
    ACTORLM_TRY(read_normalization(pre, k_openai_clip_mean, k_openai_clip_std, c.norm));
    // LlavaProcessor's fields live in processor_config.json (older exports put them in
    // preprocessor_config.json); the token count needs patch_size.
    const reader& src = proc && proc->has("patch_size") ? *proc : pre;
    if (!src.has("patch_size"))
        return make_error(error_kind::invalid_argument,
                          "processor_config.json: missing 'patch_size' (LlavaProcessor needs it "
                          "to count the <image> tokens)");
    int64_t patch = 0, extra = 0;
    ACTORLM_READ(patch, src.positive("patch_size", 0));
    ACTORLM_READ(extra, src.integer("num_additional_image_tokens", 0));
    if (extra < 0) return src.bad("num_additional_image_tokens", "must be >= 0");
    c.patch_size = to_int(patch);
    c.num_additional_image_tokens = to_int(extra);
    ACTORLM_READ(c.vision_feature_select_strategy,
                 src.text("vision_feature_select_strategy", ""));
    if (!c.vision_feature_select_strategy.empty() &&
        c.vision_feature_select_strategy != "default" &&
        c.vision_feature_select_strategy != "full")
        return src.bad("vision_feature_select_strategy", "must be \"default\" or \"full\"");
    ACTORLM_READ(c.image_token, src.text("image_token", "<image>"));
    return image_processor_config(std::move(c));
}

// A {"longest_edge": n} object (or a bare int), as Idefics3's size and max_image_size.
result<int64_t> longest_edge(const reader& r, const char* key, int64_t fallback) {
    if (!r.has(key)) return fallback;
    if (auto as_int = r.positive(key, 0); as_int) return as_int.value();
    std::optional<reader> o;
    ACTORLM_READ(o, r.child(key));
    if (!o->has("longest_edge")) return r.bad(key, "must hold 'longest_edge'");
    return o->positive("longest_edge", 0);
}

result<image_processor_config> read_idefics3(const reader& pre, const reader* proc) {
    idefics3_image_config c;
    ACTORLM_READ(c.do_resize, pre.flag("do_resize", true));
    int64_t v = 0;
    ACTORLM_READ(v, longest_edge(pre, "size", c.longest_edge));
    c.longest_edge = to_int(v);
    ACTORLM_READ(c.resample, pre.resample(resample_filter::lanczos));
    ACTORLM_READ(c.do_image_splitting, pre.flag("do_image_splitting", true));
    ACTORLM_READ(v, longest_edge(pre, "max_image_size", c.max_image_size));
    c.max_image_size = to_int(v);
    ACTORLM_TRY(read_normalization(pre, k_imagenet_standard, k_imagenet_standard, c.norm));
    if (proc) {
        ACTORLM_READ(v, proc->positive("image_seq_len", c.image_seq_len));
        c.image_seq_len = to_int(v);
    }
    return image_processor_config(std::move(c));
}

result<image_processor_config> read_qwen2_vl(const reader& pre) {
    qwen2_vl_image_config c;
    ACTORLM_READ(c.do_resize, pre.flag("do_resize", true));
    // size {shortest_edge, longest_edge}, then min_pixels / max_pixels override it; the result
    // must hold both (Qwen2VLImageProcessorPil.__init__).
    std::optional<reader> size;
    ACTORLM_READ(size, pre.child("size"));
    bool has_min = true, has_max = true;
    if (size) {
        has_min = size->has("shortest_edge");
        has_max = size->has("longest_edge");
        ACTORLM_READ(c.min_pixels, size->positive("shortest_edge", c.min_pixels));
        ACTORLM_READ(c.max_pixels, size->positive("longest_edge", c.max_pixels));
    }
    has_min = has_min || pre.has("min_pixels");
    has_max = has_max || pre.has("max_pixels");
    ACTORLM_READ(c.min_pixels, pre.positive("min_pixels", c.min_pixels));
    ACTORLM_READ(c.max_pixels, pre.positive("max_pixels", c.max_pixels));
    if (!has_min || !has_max)
        return pre.bad("size", "must hold 'shortest_edge' and 'longest_edge' (or give "
                               "min_pixels / max_pixels)");
    if (c.min_pixels > c.max_pixels) return pre.bad("min_pixels", "must be <= max_pixels");
    ACTORLM_READ(c.resample, pre.resample(resample_filter::bicubic));
    ACTORLM_TRY(read_normalization(pre, k_openai_clip_mean, k_openai_clip_std, c.norm));
    int64_t v = 0;
    ACTORLM_READ(v, pre.positive("patch_size", c.patch_size));
    c.patch_size = to_int(v);
    ACTORLM_READ(v, pre.positive("temporal_patch_size", c.temporal_patch_size));
    c.temporal_patch_size = to_int(v);
    ACTORLM_READ(v, pre.positive("merge_size", c.merge_size));
    c.merge_size = to_int(v);
    return image_processor_config(std::move(c));
}

bool named(std::string_view type, std::string_view base) {
    return type == base || (type.size() == base.size() + 4 && type.substr(0, base.size()) == base &&
                            type.substr(base.size()) == "Fast");
}

}  // namespace processor_config_json

result<image_processor_config> parse_image_processor_config(std::string_view preprocessor_json,
                                                            std::string_view processor_json) {
    using namespace processor_config_json;
    simdjson::dom::parser pre_parser;
    simdjson::dom::parser proc_parser;
    object pre_obj;
    if (pre_parser.parse(preprocessor_json.data(), preprocessor_json.size()).get(pre_obj))
        return make_error(error_kind::invalid_argument,
                          "preprocessor_config.json: not a JSON object");
    const reader pre(pre_obj, "preprocessor_config.json");
    std::optional<reader> proc;
    if (!processor_json.empty()) {
        object proc_obj;
        if (proc_parser.parse(processor_json.data(), processor_json.size()).get(proc_obj))
            return make_error(error_kind::invalid_argument,
                              "processor_config.json: not a JSON object");
        proc.emplace(proc_obj, "processor_config.json");
    }
    std::string type;
    ACTORLM_READ(type, pre.text("image_processor_type", ""));
    if (type.empty())
        return make_error(error_kind::invalid_argument,
                          "preprocessor_config.json: missing 'image_processor_type'");
    const reader* proc_ptr = proc ? &*proc : nullptr;
    if (named(type, "CLIPImageProcessor")) return read_clip(pre, proc_ptr, false);
    if (named(type, "LlavaImageProcessor")) return read_clip(pre, proc_ptr, true);
    if (named(type, "Idefics3ImageProcessor") || named(type, "SmolVLMImageProcessor"))
        return read_idefics3(pre, proc_ptr);
    if (named(type, "Qwen2VLImageProcessor")) return read_qwen2_vl(pre);
    return make_error(error_kind::invalid_argument,
                      "preprocessor_config.json: image_processor_type '%s' is not supported "
                      "(supported: CLIPImageProcessor, LlavaImageProcessor, "
                      "Idefics3ImageProcessor, SmolVLMImageProcessor, Qwen2VLImageProcessor)",
                      type.c_str());
}

result<image_processor_config> read_image_processor_config(const std::string& dir) {
    using namespace processor_config_json;
    namespace fs = std::filesystem;
    const fs::path pre = fs::path(dir) / "preprocessor_config.json";
    if (!fs::exists(pre))
        return make_error(error_kind::invalid_argument, "%s: no preprocessor_config.json",
                          dir.c_str());
    const fs::path proc = fs::path(dir) / "processor_config.json";
    const std::string proc_text = read_text_file_or_empty(proc);
    return parse_image_processor_config(read_text_file_or_empty(pre), proc_text);
}

#undef ACTORLM_READ

const char* image_processor_family_name(const image_processor_config& config) {
    switch (config.index()) {
    case 0: return "CLIPImageProcessor";
    case 1: return "Idefics3ImageProcessor";
    default: return "Qwen2VLImageProcessor";
    }
}

}  // namespace actorlm::multimodal
