// vision_language implementation.
#include "multimodal/vision_language.hpp"

#include <filesystem>
#include <variant>

#include <simdjson.h>

#include "base/text_file.hpp"

namespace actorlm::multimodal {

namespace {

/// config.json's model_type, empty when the file is absent or has none.
std::string model_type_of(const std::string& config_json) {
    simdjson::dom::parser parser;
    simdjson::dom::object o;
    std::string_view type;
    if (parser.parse(config_json).get(o) || o["model_type"].get(type)) return {};
    return std::string(type);
}

}  // namespace

bool is_vision_language_dir(const std::string& dir) {
    std::error_code ec;
    const std::filesystem::path config = std::filesystem::path(dir) / "config.json";
    if (!std::filesystem::is_regular_file(config, ec)) return false;
    const std::string type = model_type_of(read_text_file_or_empty(config));
    return type == "llava" || type == "idefics3" || type == "smolvlm" || type == "qwen2_5_vl";
}

result<std::shared_ptr<const vision_language_model>> load_vision_language(const std::string& dir) {
    const std::filesystem::path root(dir);
    const std::string config_json = read_text_file_or_empty(root / "config.json");
    simdjson::dom::parser parser;
    simdjson::dom::object o;
    if (parser.parse(config_json).get(o))
        return make_error(error_kind::invalid_argument, "%s/config.json is not a JSON object",
                          dir.c_str());
    int64_t image_token = -1;
    if (o["image_token_index"].get(image_token) && o["image_token_id"].get(image_token))
        return make_error(error_kind::invalid_argument,
                          "%s/config.json: a vision-language model needs 'image_token_index' "
                          "or 'image_token_id'",
                          dir.c_str());
    if (image_token < 0)
        return make_error(error_kind::invalid_argument,
                          "%s/config.json: the image token id %lld is negative", dir.c_str(),
                          static_cast<long long>(image_token));
    if (!std::filesystem::exists(root / "preprocessor_config.json"))
        return make_error(error_kind::invalid_argument,
                          "%s has a vision tower but no preprocessor_config.json (the image "
                          "processor's settings)",
                          dir.c_str());
    auto processor = read_image_processor_config(dir);
    if (!processor) return processor.err();
    auto tower = load_vision_model(dir);
    if (!tower) return tower.err();
    // Qwen2.5-VL: the processor's placeholder count and the tower's rows (and M-RoPE's grid)
    // both merge merge_size x merge_size patches into one token.
    if (const auto* q = std::get_if<qwen2_vl_image_config>(&*processor);
        q && q->merge_size != tower->config.spatial_merge_size)
        return make_error(error_kind::invalid_argument,
                          "%s: the image processor merges %d x %d patches but the vision tower "
                          "%lld x %lld",
                          dir.c_str(), q->merge_size, q->merge_size,
                          static_cast<long long>(tower->config.spatial_merge_size),
                          static_cast<long long>(tower->config.spatial_merge_size));
    auto vlm = std::make_shared<vision_language_model>();
    vlm->tower = std::make_shared<const vision_model>(std::move(tower).value());
    vlm->processor = std::move(processor).value();
    vlm->image_token_id = static_cast<int32_t>(image_token);
    vlm->processor_key = std::string(image_processor_family_name(vlm->processor)) + '\n' +
                         read_text_file_or_empty(root / "preprocessor_config.json") + '\n' +
                         read_text_file_or_empty(root / "processor_config.json");
    return std::shared_ptr<const vision_language_model>(std::move(vlm));
}

}  // namespace actorlm::multimodal
