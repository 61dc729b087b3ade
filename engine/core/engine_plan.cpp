// engine_plan implementation: option checks first (cheap, before any file is
// opened), then model, tokenizer, chat template, backend and KV dtype.
#include "core/engine_plan.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "kv/kv_model_identity.hpp"
#include "core/speculative_config.hpp"
#include "kv/kv_transfer_config.hpp"
#include "model/kv_cache_layout.hpp"
#include "model/model_loader.hpp"
#include "multimodal/image_preprocessor.hpp"
#include "multimodal/image_processor_prompt.hpp"
#include "multimodal/vision_language.hpp"
#include "plugins/plugin_loader.hpp"

namespace actorlm::core {

namespace {

constexpr int32_t k_max_block_size = 1024;

/// Checks of the options that do not depend on the model.
status check_options(const actorlm::engine_config& cfg) {
    if (cfg.block_size <= 0 || cfg.block_size > k_max_block_size)
        return make_error("block_size must be in 1..%d, got %d", k_max_block_size, cfg.block_size);
    if (cfg.max_num_seqs <= 0)
        return make_error("max_num_seqs must be positive, got %d", cfg.max_num_seqs);
    if (cfg.max_num_batched_tokens <= 0)
        return make_error("max_num_batched_tokens must be positive, got %d",
                          cfg.max_num_batched_tokens);
    if (cfg.max_model_len < 0)
        return make_error("max_model_len must be >= 0 (0 = the model's), got %d",
                          cfg.max_model_len);
    if (cfg.long_prefill_token_threshold < 0)
        return make_error("long_prefill_token_threshold must be >= 0, got %d",
                          cfg.long_prefill_token_threshold);
    if (cfg.kv_cache_memory_bytes < 0)
        return make_error("kv_cache_memory_bytes must be >= 0, got %lld",
                          static_cast<long long>(cfg.kv_cache_memory_bytes));
    if (cfg.num_threads < 0)
        return make_error("num_threads must be >= 0 (0 = all cores), got %d", cfg.num_threads);
    if (!(cfg.mm_processor_cache_gb >= 0.0))
        return make_error("mm_processor_cache_gb must be >= 0, got %g", cfg.mm_processor_cache_gb);
    if (!(cfg.encoder_store_gb > 0.0))
        return make_error("encoder_store_gb must be positive, got %g", cfg.encoder_store_gb);
    if (!cfg.encoder_store_listen.empty() && !cfg.encoder_store_address.empty())
        return make_error("encoder_store_listen publishes this engine's encoder store and "
                          "encoder_store_address uses another's; give one of them");
    if (cfg.encoder_cache_size < 0)
        return make_error("encoder_cache_size must be >= 0 (0 = max_num_batched_tokens), got %d",
                          cfg.encoder_cache_size);
    if (!cfg.kv_transfer_config.empty()) {
        auto kv = kv::parse_and_validate_kv_transfer_config(cfg.kv_transfer_config);
        if (!kv) return kv.err();
        if (!cfg.enable_prefix_caching)
            return make_error(
                "kv_transfer_config needs prefix caching (blocks are found by "
                "their hashes); do not disable it");
    }
    if (!cfg.speculative_config.empty()) {
        auto spec = parse_speculative_config(cfg.speculative_config);
        if (!spec) return spec.err();
    }
    // Async scheduling fills a step's placeholders from the worker's own last output, so
    // that worker must sample (one stage), and it proposes no drafts and runs no connector
    // metadata ahead of the tokens they depend on (vLLM had the same limits at first).
    if (cfg.async_scheduling) {
        if (cfg.workers.size() > 1)
            return make_error("async_scheduling needs one pipeline stage (got %zu workers)",
                              cfg.workers.size());
        if (!cfg.speculative_config.empty())
            return make_error("async_scheduling cannot be combined with speculative_config yet");
        if (!cfg.kv_transfer_config.empty())
            return make_error("async_scheduling cannot be combined with kv_transfer_config yet");
    }
    return {};
}

/// The template text: --chat-template as a file or inline Jinja, else the tokenizer's.
result<std::string> chat_template_text(const actorlm::engine_config& cfg, const tokenizer& tok) {
    if (cfg.chat_template.empty()) return tok.chat_template();
    std::ifstream in(cfg.chat_template, std::ios::binary);
    if (in) return std::string(std::istreambuf_iterator<char>(in), {});
    if (cfg.chat_template.find("{{") != std::string::npos ||
        cfg.chat_template.find("{%") != std::string::npos)
        return cfg.chat_template;
    return make_error("chat template '%s' is neither a readable file nor a Jinja template",
                      cfg.chat_template.c_str());
}

/// The file's stem or the directory's name ("stories260K"): what clients see in
/// /v1/models. GGUF general.name is often just "llama".
std::string default_served_name(const std::string& model_path, const model_config& mc) {
    std::filesystem::path p(model_path);
    if (p.filename().empty()) p = p.parent_path();
    std::error_code ec;
    std::string name =
        std::filesystem::is_directory(p, ec) ? p.filename().string() : p.stem().string();
    return name.empty() ? mc.name : name;
}

}  // namespace

result<scheduler_config> make_scheduler_config(const actorlm::engine_config& cfg,
                                               const model_config& model, int32_t num_blocks,
                                               int32_t block_size, bool hybrid_kv_groups) {
    ACTORLM_TRY(check_options(cfg));
    const auto model_len = static_cast<int32_t>(std::min<int64_t>(model.max_position, 1 << 30));
    if (cfg.max_model_len > model_len)
        return make_error("max_model_len %d exceeds the model's context length of %d tokens",
                          cfg.max_model_len, model_len);
    scheduler_config sc;
    sc.num_blocks = num_blocks;
    sc.block_size = block_size;
    sc.max_model_len = cfg.max_model_len > 0 ? cfg.max_model_len : model_len;
    sc.max_num_seqs = cfg.max_num_seqs;
    sc.max_num_batched_tokens = cfg.max_num_batched_tokens;
    sc.long_prefill_token_threshold = cfg.long_prefill_token_threshold;
    sc.enable_prefix_caching = cfg.enable_prefix_caching;
    // A cluster member's events feed the routers' prefix indexes.
    sc.enable_kv_cache_events = cfg.enable_kv_cache_events || !cfg.cluster_listen.empty();
    if (cfg.scheduling_policy == "fcfs")
        sc.policy = scheduling_policy::fcfs;
    else if (cfg.scheduling_policy == "priority")
        sc.policy = scheduling_policy::priority;
    else
        return make_error("scheduling_policy must be 'fcfs' or 'priority', got '%s'",
                          cfg.scheduling_policy.c_str());
    sc.vocab_size = model.vocab_size;
    sc.encoder_cache_size = cfg.encoder_cache_size;
    sc.max_num_encoder_input_tokens = cfg.encoder_cache_size;
    if (!model.recipe.causal) {
        // An encoder's attention is bidirectional: a token's K/V depend on every later token
        // of its prompt, so a prompt runs whole in one step (no chunked prefill, the budget
        // raised to max_model_len as vLLM does) and no cached prefix is reused (its K/V were
        // computed beside other tokens). It only embeds, so it never decodes or speculates.
        if (!cfg.speculative_config.empty())
            return make_error(
                "%s is an embedding (encoder) model: speculative decoding does "
                "not apply",
                model.name.c_str());
        sc.enable_chunked_prefill = false;
        sc.enable_prefix_caching = false;
        sc.long_prefill_token_threshold = 0;
        sc.max_num_batched_tokens = std::max(sc.max_num_batched_tokens, sc.max_model_len);
    }
    // The KV-cache groups (model/kv_cache_layout.hpp): one per attention type when the
    // executor pages them so (a model mixing full and sliding layers), else one. A window
    // every group's layers share frees the blocks that left it, except under a KV
    // connector, which saves, loads and hands over whole block tables (vLLM likewise turns
    // its hybrid manager off with one): the window then only masks, which stays exact.
    sc.kv_group_windows = make_kv_cache_layout(model, hybrid_kv_groups).group_windows();
    if (!cfg.kv_transfer_config.empty()) sc.kv_group_windows.assign(1, 0);
    if (!cfg.speculative_config.empty()) {  // check_options validated it
        auto spec = parse_speculative_config(cfg.speculative_config);
        if (!spec) return spec.err();
        sc.speculative = *spec;
    }
    return sc;
}

std::string embedding_only_generation_error(const std::string& model_name) {
    return "model " + model_name +
           " is an embedding model (an encoder without a language-model head): it serves "
           "/v1/embeddings, not completions or chat";
}

std::vector<int32_t> merge_eos_ids(const model_config& model, const tokenizer& tok) {
    std::vector<int32_t> ids = model.eos_token_ids;
    for (int32_t id : tok.eos_ids())
        if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
    return ids;
}

result<engine_plan> make_engine_plan(const actorlm::engine_config& cfg) {
    if (cfg.model_path.empty()) return make_error("no model given (model_path is empty)");
    // Plugins first: they may register the architecture, connector or processors named below.
    ACTORLM_TRY(plugins::load_plugins(cfg.plugins));
    ACTORLM_TRY(check_options(cfg));
    auto device = find_backend(cfg.device);
    if (!device) return device.err();

    engine_plan plan;
    plan.device = *device;
    if (!cfg.kv_transfer_config.empty()) {  // check_options validated it
        auto kv = kv::parse_and_validate_kv_transfer_config(cfg.kv_transfer_config);
        if (!kv) return kv.err();
        plan.kv_transfer = std::move(kv).value();
    }
    auto model = load_model(cfg.model_path);
    if (!model) return model.err();
    auto tok = load_tokenizer_for_model(cfg.model_path);
    if (!tok) return make_error("%s: tokenizer: %s", cfg.model_path.c_str(), tok.message().c_str());
    plan.tok = std::shared_ptr<const tokenizer>(std::move(tok).value());
    if (!cfg.mmproj.empty()) {
        if (!model->gguf)
            return make_error("--mmproj %s: %s is a Hugging Face directory, which carries its own "
                              "vision tower; mmproj files go with GGUF text models",
                              cfg.mmproj.c_str(), cfg.model_path.c_str());
        auto vision =
            multimodal::load_vision_language_from_mmproj(cfg.mmproj, *plan.tok, model->config);
        if (!vision) return vision.err();
        model->vision = std::move(vision).value();
    }
    plan.model = std::make_shared<const loaded_model>(std::move(model).value());
    const model_config& mc = plan.model->config;

    auto text = chat_template_text(cfg, *plan.tok);
    if (!text) return text.err();
    if (!text->empty()) {
        auto chat = chat_template::parse(*text);
        if (chat)
            plan.chat = std::make_shared<const chat_template>(std::move(chat).value());
        else if (!cfg.chat_template.empty())
            return make_error("chat template: %s", chat.message().c_str());
        else
            plan.chat_error = chat.message();  // the model's own: serve without chat
    }

    // Groups per attention type need a backend that pages them and one stage holding every
    // layer; never with a KV connector (whole tables move) or remote workers.
    plan.executor.hybrid_kv_groups = has_mixed_attention(mc) && cfg.kv_transfer_config.empty() &&
                                     cfg.workers.empty() && plan.device->pages_kv_groups();
    auto sched = make_scheduler_config(cfg, mc, 0, cfg.block_size, plan.executor.hybrid_kv_groups);
    if (!sched) return sched.err();
    plan.sched = *sched;

    auto kv_type = plan.device->resolve_kv_dtype(cfg.kv_cache_dtype, *plan.model);
    if (!kv_type) return kv_type.err();
    plan.kv_dtype = *kv_type;
    kv_cache_spec kv_shape;
    kv_shape.block_size = cfg.block_size;
    kv_shape.type = plan.kv_dtype;
    plan.sched.hash_root = model_root_block_hash(kv::make_model_identity(
        mc, kv::model_weights_fingerprint(plan.model->weights), kv_shape, *plan.tok));
    plan.executor.device = cfg.device;
    plan.executor.block_size = cfg.block_size;
    plan.executor.kv_cache_dtype = cfg.kv_cache_dtype;
    plan.executor.kv_cache_memory_bytes = cfg.kv_cache_memory_bytes;
    plan.executor.num_threads = cfg.num_threads;
    plan.executor.on_load_progress = cfg.on_load_progress;
    // More blocks than max_num_seqs full-length sequences can use would only waste memory
    // (under a sliding window that frees blocks, a sequence holds its window and one chunk;
    // the null block is one more).
    plan.executor.max_num_blocks = static_cast<int32_t>(std::min<int64_t>(
        static_cast<int64_t>(cfg.max_num_seqs) * plan.sched.max_blocks_per_request() +
            (plan.sched.frees_kv_blocks() ? 1 : 0),
        INT32_MAX));

    if (plan.model->vision) {
        const int32_t image_token = plan.tok->token_id(
            multimodal::image_marker(plan.model->vision->processor));
        if (image_token != plan.model->vision->image_token_id)
            return make_error("%s: the tokenizer spells the image token '%s' as id %d, but the "
                              "model's config says %d",
                              cfg.model_path.c_str(),
                              multimodal::image_marker(plan.model->vision->processor).c_str(),
                              image_token, plan.model->vision->image_token_id);
        plan.images = std::make_shared<multimodal::image_preprocessor>(
            plan.model->vision,
            static_cast<size_t>(cfg.mm_processor_cache_gb * double(int64_t{1} << 30)));
    }

    plan.eos_token_ids = merge_eos_ids(mc, *plan.tok);
    plan.served_model_name = cfg.served_model_name.empty() ? default_served_name(cfg.model_path, mc)
                                                           : cfg.served_model_name;
    plan.seed = cfg.seed;
    return plan;
}

}  // namespace actorlm::core
