// The shared engine and sampling option groups (see engine_options.hpp). Names
// and ranges follow vLLM's EngineArgs / SamplingParams where one exists.
#include "engine_options.hpp"

#include <simdjson.h>

#include "base/result.hpp"
#include "cli_values.hpp"
#include "core/speculative_config.hpp"
#include "kv/kv_transfer_config.hpp"
#include "plugin_option.hpp"

namespace actorlm::cli {

namespace {

constexpr const char* k_engine_group = k_engine_option_group;
constexpr const char* k_sampling_group = "Sampling options";

/// --kv-events-config: vLLM's KVEventsConfig as JSON. Only enable_kv_cache_events is
/// honoured; any other key (vLLM's publisher, endpoint, topic, ...) is refused by name,
/// since the events go to the KV-cache actor's subscribers, not to a ZMQ publisher.
result<bool> parse_kv_events_config(const std::string& text) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(text).get(doc) != simdjson::SUCCESS)
        return make_error("kv_events_config is not valid JSON");
    simdjson::dom::object obj;
    if (doc.get_object().get(obj) != simdjson::SUCCESS)
        return make_error("kv_events_config must be a JSON object");
    bool enabled = false;
    for (auto field : obj) {
        const std::string key(field.key);
        if (key != "enable_kv_cache_events")
            return make_error(
                "kv_events_config: unknown key '%s' (only 'enable_kv_cache_events' is "
                "supported: events go to the KV-cache actor's subscribers)",
                key.c_str());
        if (field.value.get_bool().get(enabled) != simdjson::SUCCESS)
            return make_error("kv_events_config: 'enable_kv_cache_events' must be true or false");
    }
    return enabled;
}

}  // namespace

void add_engine_options(CLI::App& app, engine_config& cfg, engine_flags which,
                        std::vector<std::string>* served_model_names) {
    auto group = [](CLI::Option* o) { return o->group(k_engine_group); };
    // First: CLI11 runs option callbacks in definition order, so a plugin is loaded before
    // the options below check names it registers (--kv-transfer-config's connector).
    add_plugin_option(app, cfg.plugins);
    if (has(which, engine_flags::model)) {
        const char* names = has(which, engine_flags::model_tag) ? "model_tag,--model" : "--model";
        group(app.add_option(names, cfg.model_path,
                             "GGUF file, Hugging Face directory, or a Hugging Face Hub "
                             "repository ORG/NAME[:QUANT] (downloaded into the Hub cache)"))
            ->required();
        group(app.add_option("--mmproj", cfg.mmproj,
                             "llama.cpp mmproj GGUF: the vision tower of a GGUF text model"))
            ->type_name("FILE");
    }
    if (has(which, engine_flags::serving)) {
        group(app.add_option_function<std::vector<std::string>>(
            "--served-model-name",
            [&cfg, served_model_names](const std::vector<std::string>& names) {
                if (served_model_names) *served_model_names = names;
                if (!names.empty()) cfg.served_model_name = names.front();
            },
            "model name(s) the API accepts (default: the model's name)"));
        group(app.add_option("--chat-template", cfg.chat_template,
                             "Jinja chat template (file or inline) instead of the model's"));
    }
    if (has(which, engine_flags::device))
        group(app.add_option("--device", cfg.device, "cpu or cuda"))
            ->check(CLI::IsMember({"cpu", "cuda"}))
            ->capture_default_str();
    if (has(which, engine_flags::workers))
        group(app.add_option("--worker", cfg.workers,
                             "HOST:PORT of a remote `actorlm worker` (repeatable)"))
            ->type_name("HOST:PORT")
            ->check(host_port_text());
    if (has(which, engine_flags::threads))
        group(app.add_option("--threads", cfg.num_threads, "CPU threads (0 = all cores)"))
            ->check(actorlm::cli::non_negative())
            ->capture_default_str();
    if (has(which, engine_flags::kv_layout)) {
        group(app.add_option("--block-size", cfg.block_size, "tokens per KV block"))
            ->check(CLI::IsMember({1, 8, 16, 32, 64, 128}))
            ->capture_default_str();
        group(app.add_option("--kv-cache-dtype", cfg.kv_cache_dtype,
                             "KV cache type: auto (the device's default: on cpu F32 for F32 "
                             "weights, else F16; on cuda bf16), f32, f16, bf16 (cuda) or "
                             "q8_0 (cpu: 8-bit with a scale per 32 values, ~1.88x the "
                             "tokens of f16)"))
            ->check(CLI::IsMember({"auto", "f32", "f16", "bf16", "q8_0"}))
            ->capture_default_str();
    }
    if (has(which, engine_flags::kv_memory))
        group(app.add_option("--kv-cache-memory-bytes", cfg.kv_cache_memory_bytes,
                             "KV cache size, e.g. 2GiB, 512MiB, 2e9 (default: a share of "
                             "free memory)"))
            ->type_name("SIZE")
            ->transform(byte_size());
    if (has(which, engine_flags::scheduler)) {
        group(app.add_option("--max-num-seqs", cfg.max_num_seqs, "sequences per batch"))
            ->check(CLI::Range(1, 1 << 20))
            ->capture_default_str();
        group(app.add_option("--max-num-batched-tokens", cfg.max_num_batched_tokens,
                             "tokens per step"))
            ->check(CLI::Range(1, 1 << 24))
            ->capture_default_str();
        group(app.add_option("--max-model-len", cfg.max_model_len,
                             "context length (0 = the model's)"))
            ->check(actorlm::cli::non_negative());
        group(app.add_option("--long-prefill-token-threshold", cfg.long_prefill_token_threshold,
                             "prefill chunk cap when several prompts wait (0 = off)"))
            ->check(actorlm::cli::non_negative());
        group(app.add_flag("--enable-prefix-caching,!--no-enable-prefix-caching",
                           cfg.enable_prefix_caching,
                           "reuse cached KV blocks of shared prefixes "
                           "(on by default)"));
        group(app.add_option("--scheduling-policy", cfg.scheduling_policy, "fcfs or priority"))
            ->check(CLI::IsMember({"fcfs", "priority"}))
            ->capture_default_str();
        group(app.add_option("--speculative-config", cfg.speculative_config,
                             "speculative decoding as JSON, e.g. {\"method\":\"ngram\","
                             "\"num_speculative_tokens\":4,\"prompt_lookup_max\":4,"
                             "\"prompt_lookup_min\":2} (n-gram prompt lookup)"))
            ->type_name("JSON")
            ->check(CLI::Validator(
                [](std::string& text) -> std::string {
                    auto parsed = actorlm::core::parse_speculative_config(text);
                    return parsed ? std::string() : parsed.message();
                },
                ""));
        group(app.add_flag("--async-scheduling", cfg.async_scheduling,
                           "schedule the next step while the current one runs (one stage; "
                           "not with --speculative-config or --kv-transfer-config)"));
        group(app.add_option("--mm-processor-cache-gb", cfg.mm_processor_cache_gb,
                             "GiB of preprocessed images kept for repeats (0 = off)"))
            ->check(CLI::Range(0.0, 1024.0))
            ->capture_default_str();
        group(app.add_option("--encoder-cache-size", cfg.encoder_cache_size,
                             "image embedding tokens kept and encoded per step "
                             "(0 = max-num-batched-tokens)"))
            ->check(actorlm::cli::non_negative());
        group(app.add_option("--encoder-store-gb", cfg.encoder_store_gb,
                             "GiB of image encoder outputs the encoder store keeps"))
            ->check(CLI::Range(0.001, 1024.0))
            ->capture_default_str();
        group(app.add_option("--encoder-store-listen", cfg.encoder_store_listen,
                             "publish the encoder store for other engines at HOST:PORT"))
            ->type_name("HOST:PORT");
        group(app.add_option("--encoder-store-address", cfg.encoder_store_address,
                             "use another engine's encoder store (its --encoder-store-listen)"))
            ->type_name("HOST:PORT")
            ->excludes("--encoder-store-listen");
    }
    if (has(which, engine_flags::kv_transfer))
        group(app.add_option("--kv-transfer-config", cfg.kv_transfer_config,
                             "KV connector as JSON, e.g. {\"kv_connector\":"
                             "\"OffloadingConnector\",\"kv_connector_extra_config\":"
                             "{\"disk_path\":\"DIR\"}}"))
            ->type_name("JSON")
            ->check(CLI::Validator(
                [](std::string& text) -> std::string {
                    auto parsed = actorlm::kv::parse_and_validate_kv_transfer_config(text);
                    return parsed ? std::string() : parsed.message();
                },
                ""));
    if (has(which, engine_flags::kv_transfer))
        group(app.add_option_function<std::string>(
                  "--kv-events-config",
                  [&cfg](const std::string& text) {
                      auto parsed = parse_kv_events_config(text);  // the check accepted it
                      cfg.enable_kv_cache_events = parsed && *parsed;
                  },
                  "KV cache events as JSON, {\"enable_kv_cache_events\":true}: the device "
                  "prefix cache's block stored/removed/cleared events go to the KV-cache "
                  "actor's subscribers"))
            ->type_name("JSON")
            ->check(CLI::Validator(
                [](std::string& text) -> std::string {
                    auto parsed = parse_kv_events_config(text);
                    return parsed ? std::string() : parsed.message();
                },
                ""));
}

void add_sampling_options(CLI::App& app, sampling_params& params) {
    auto group = [](CLI::Option* o) { return o->group(k_sampling_group); };
    group(app.add_option("--max-tokens", params.max_tokens,
                         "tokens to generate at most (-1 = up to the model length)"))
        ->check(CLI::Range(-1, 1 << 30))
        ->capture_default_str();
    group(app.add_option("--min-tokens", params.min_tokens, "tokens to generate at least"))
        ->check(actorlm::cli::non_negative());
    group(app.add_option("--n", params.n, "sequences per prompt"))->check(CLI::Range(1, 1024));
    group(app.add_option("--temperature", params.temperature, "0 = greedy"))
        ->check(CLI::Range(0.0f, 1e6f))
        ->capture_default_str();
    group(app.add_option("--top-p", params.top_p, "nucleus sampling mass"))
        ->check(CLI::Range(0.0f, 1.0f))
        ->capture_default_str();
    group(app.add_option("--top-k", params.top_k, "top-k sampling (0 or -1 = off)"))
        ->check(CLI::Range(-1, 1 << 30));
    group(app.add_option("--min-p", params.min_p, "min-p sampling"))->check(CLI::Range(0.0f, 1.0f));
    group(app.add_option("--presence-penalty", params.presence_penalty, "in [-2, 2]"))
        ->check(CLI::Range(-2.0f, 2.0f));
    group(app.add_option("--frequency-penalty", params.frequency_penalty, "in [-2, 2]"))
        ->check(CLI::Range(-2.0f, 2.0f));
    group(app.add_option("--repetition-penalty", params.repetition_penalty, "> 0, 1 = off"))
        ->check(actorlm::cli::positive());
    group(app.add_option("--seed", params.seed, "per-request RNG seed"));
    group(app.add_option("--stop", params.stop, "stop string (repeatable)"));
    group(app.add_flag("--ignore-eos", params.ignore_eos, "keep generating past EOS"));
}

}  // namespace actorlm::cli
