// Reads a sentence-transformers directory's modules.json and its Pooling module's
// config.json into pooling_params. Pure function of the files; any thread.
#include "model/sentence_transformers_pooling.hpp"

#include <filesystem>
#include <string_view>

#include <simdjson.h>

#include "base/text_file.hpp"

namespace actorlm {

namespace {

namespace fs = std::filesystem;

bool st_pooling_flag(simdjson::dom::object o, const char* key) {
    bool v = false;
    return o[key].get(v) == simdjson::SUCCESS && v;
}

// The Pooling module's config: exactly one of the modes actorlm runs may be on.
result<pooling_params::kind> st_pooling_mode(const fs::path& file) {
    auto text = read_text_file(file);
    if (!text) return make_error("%s: not readable", file.string().c_str());
    simdjson::dom::parser parser;
    simdjson::dom::object o;
    if (parser.parse(*text).get(o))
        return make_error("%s: not a JSON object", file.string().c_str());
    for (const char* unsupported : {"pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens",
                                    "pooling_mode_weightedmean_tokens"})
        if (st_pooling_flag(o, unsupported))
            return make_error(
                "%s: %s is not supported (supported: pooling_mode_cls_token, "
                "pooling_mode_mean_tokens, pooling_mode_lasttoken)",
                file.string().c_str(), unsupported);
    const bool cls = st_pooling_flag(o, "pooling_mode_cls_token"),
               mean = st_pooling_flag(o, "pooling_mode_mean_tokens"),
               last = st_pooling_flag(o, "pooling_mode_lasttoken");
    if (int(cls) + int(mean) + int(last) != 1)
        return make_error(
            "%s: exactly one of pooling_mode_cls_token, pooling_mode_mean_tokens "
            "and pooling_mode_lasttoken must be true",
            file.string().c_str());
    return cls    ? pooling_params::kind::cls
           : mean ? pooling_params::kind::mean
                  : pooling_params::kind::last;
}

bool st_type_ends_with(std::string_view s, std::string_view tail) {
    return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

}  // namespace

result<std::optional<pooling_params>> read_sentence_transformers_pooling(const std::string& dir) {
    const fs::path modules_file = fs::path(dir) / "modules.json";
    if (!fs::exists(modules_file)) return std::optional<pooling_params>{};
    auto text = read_text_file(modules_file);
    if (!text) return make_error("%s: not readable", modules_file.string().c_str());
    simdjson::dom::parser parser;
    simdjson::dom::array modules;
    if (parser.parse(*text).get(modules))
        return make_error("%s: not a JSON list", modules_file.string().c_str());
    std::optional<pooling_params> out;
    bool normalize = false;
    for (simdjson::dom::element m : modules) {
        std::string_view type, path;
        if (m["type"].get(type)) continue;
        if (st_type_ends_with(type, ".Normalize")) normalize = true;
        if (!st_type_ends_with(type, ".Pooling")) continue;
        if (m["path"].get(path)) path = "";
        auto kind = st_pooling_mode(fs::path(dir) / std::string(path) / "config.json");
        if (!kind) return kind.err();
        out = pooling_params{*kind, false};
    }
    if (out) out->normalize = normalize;
    return out;
}

}  // namespace actorlm
