// vision_language implementation.
#include "multimodal/vision_language.hpp"

#include <cstdio>
#include <filesystem>
#include <variant>

#include <simdjson.h>

#include "base/text_file.hpp"
#include "multimodal/image_processor_prompt.hpp"
#include "multimodal/vision_mmproj.hpp"

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
                         read_text_file_or_empty(root / "processor_config.json") + '\n' +
                         vision_model_fingerprint(*vlm->tower);
    return std::shared_ptr<const vision_language_model>(std::move(vlm));
}

result<std::shared_ptr<const vision_language_model>> load_vision_language_from_mmproj(
    const std::string& mmproj_path, const tokenizer& text_tokenizer, const model_config& text) {
    auto tower = load_vision_model_from_mmproj(mmproj_path);
    if (!tower) return tower.err();
    if (tower->output_dim != text.hidden_size)
        return make_error(error_kind::invalid_argument,
                          "%s: the projector writes rows of %lld values but the text model's "
                          "hidden size is %lld (an mmproj made for another model?)",
                          mmproj_path.c_str(), static_cast<long long>(tower->output_dim),
                          static_cast<long long>(text.hidden_size));
    // Qwen2.5-VL's image tokens take 3-D positions: a text model without M-RoPE would run
    // them as a line and answer wrongly, never failing.
    if (tower->config.family == vision_family::qwen2_5_vl && text.mrope_section.empty())
        return make_error(error_kind::invalid_argument,
                          "%s: a Qwen2.5-VL tower needs a Qwen2.5-VL text model (M-RoPE: GGUF "
                          "architecture qwen2vl with rope.dimension_sections); this one has "
                          "ordinary RoPE",
                          mmproj_path.c_str());
    auto processor = read_mmproj_processor_config(mmproj_path, *tower);
    if (!processor) return processor.err();
    const std::string& marker = image_marker(*processor);
    const int32_t image_token = text_tokenizer.token_id(marker);
    if (image_token < 0)
        return make_error(error_kind::invalid_argument,
                          "%s: the text model's vocabulary has no '%s' token, which %s prompts "
                          "hold in place of each image",
                          mmproj_path.c_str(), marker.c_str(),
                          image_processor_family_name(*processor));
    auto vlm = std::make_shared<vision_language_model>();
    vlm->tower = std::make_shared<const vision_model>(std::move(tower).value());
    vlm->processor = std::move(processor).value();
    vlm->image_token_id = image_token;
    // What the file decided beyond the tower's sizes (in its fingerprint): the normalization
    // and Idefics3's first resize.
    const pixel_normalization& n =
        std::visit([](const auto& c) -> const pixel_normalization& { return c.norm; },
                   vlm->processor);
    const auto* idefics3 = std::get_if<idefics3_image_config>(&vlm->processor);
    char settings[320];
    std::snprintf(settings, sizeof settings, "mmproj mean=%a,%a,%a std=%a,%a,%a longest_edge=%d",
                  n.mean[0], n.mean[1], n.mean[2], n.std[0], n.std[1], n.std[2],
                  idefics3 ? idefics3->longest_edge : 0);
    vlm->processor_key = std::string(image_processor_family_name(vlm->processor)) + '\n' +
                         settings + '\n' + vision_model_fingerprint(*vlm->tower);
    return std::shared_ptr<const vision_language_model>(std::move(vlm));
}

}  // namespace actorlm::multimodal
