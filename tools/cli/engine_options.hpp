// The CLI's shared option groups: "Engine options" (model, device, KV cache,
// scheduler limits; vllm serve's names) mapped onto actorlm::engine_config, and
// "Sampling options" (vLLM's SamplingParams names) mapped onto
// actorlm::sampling_params. Every command that builds an engine takes its
// engine flags from here, so one concept has one spelling everywhere; the
// actor runtime and the offline engine both take the resulting engine_config.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include <actorlm/engine.hpp>

namespace actorlm::cli {

/// Families of engine options; a command adds the ones it honours (an accepted
/// flag that is silently ignored would be worse than an unknown one).
enum class engine_flags : uint32_t {
    model = 1u << 0,        ///< --model PATH (required)
    model_tag = 1u << 1,    ///< with `model`: also the positional MODEL, as `vllm serve MODEL`
    device = 1u << 2,       ///< --device cpu|cuda
    workers = 1u << 3,      ///< --worker HOST:PORT (repeatable)
    serving = 1u << 4,      ///< --served-model-name, --chat-template
    threads = 1u << 5,      ///< --threads
    kv_layout = 1u << 6,    ///< --block-size, --kv-cache-dtype
    kv_memory = 1u << 7,    ///< --kv-cache-memory-bytes
    scheduler = 1u << 8,    ///< --max-num-seqs, --max-num-batched-tokens, --max-model-len,
                            ///< --long-prefill-token-threshold, --[no-]enable-prefix-caching,
                            ///< --scheduling-policy, --speculative-config JSON
    kv_transfer = 1u << 9,  ///< --kv-transfer-config JSON (KV connectors), --kv-events-config
                            ///< JSON (the device prefix cache's KV events)
};

constexpr engine_flags operator|(engine_flags a, engine_flags b) {
    return static_cast<engine_flags>(static_cast<uint32_t>(a) | static_cast<uint32_t>(b));
}
constexpr bool has(engine_flags set, engine_flags f) {
    return (static_cast<uint32_t>(set) & static_cast<uint32_t>(f)) != 0;
}

/// What the offline engine (core::llm_engine: generate, bench-throughput) honours.
inline constexpr engine_flags k_offline_engine_flags =
    engine_flags::model | engine_flags::device | engine_flags::threads | engine_flags::kv_layout |
    engine_flags::kv_memory | engine_flags::scheduler | engine_flags::kv_transfer;

/// Adds the `which` engine options to `app`, bound to `cfg` (whose current values
/// are the defaults shown in --help). With engine_flags::serving,
/// `served_model_names` receives every --served-model-name (the first also goes
/// to cfg.served_model_name); it must outlive parsing.
void add_engine_options(CLI::App& app, engine_config& cfg, engine_flags which,
                        std::vector<std::string>* served_model_names = nullptr);

/// Adds the sampling options (--temperature, --top-p, --top-k, --min-p, --seed,
/// --max-tokens, --min-tokens, --n, --stop, --ignore-eos, the penalties) bound to
/// `params`; its current values are the defaults.
void add_sampling_options(CLI::App& app, sampling_params& params);

}  // namespace actorlm::cli
