// Helpers of the offline-engine KV tier tests (stories260K): engine configs with a
// device pool of a given number of blocks, four 96-token "documents" each asked two
// questions, greedy runs with logprobs, and a bit-for-bit comparison of two runs.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "backends/cpu/cpu_executor.hpp"
#include "core/llm_engine.hpp"
#include "model/model_loader.hpp"
#include "tokenizer/tokenizer.hpp"
#include "support/shared_data.hpp"
#include "support/temp_dir.hpp"

namespace actorlm::test {

inline constexpr const char* k_offload_model = "models/stories260K.gguf";

inline std::filesystem::path fresh_offload_dir(const std::string& name) {
    return fresh_temp_dir("kvtiers-" + name);
}

/// Bytes of one 16-token stories260K block (all 5 layers, K and V) in `kv_dtype`.
inline int64_t offload_block_bytes(const std::string& kv_dtype) {
    // q8_0: each token's row of 4 KV heads x 8 values is one 34-byte block.
    if (kv_dtype == "q8_0") return 34 * 2 * 16 * 5;
    return (kv_dtype == "f16" ? 2 : 4) * 2 * 16 * 4 * 8 * 5;
}

/// stories260K: 5 layers x 4 KV heads x head_dim 8, so a 16-token block is 20 KiB in
/// F32 and 10 KiB in F16. `num_blocks` blocks of device pool.
inline actorlm::engine_config offload_engine_config(const std::string& kv_dtype, int32_t num_blocks,
                                                    const std::string& kv_transfer = {}) {
    actorlm::engine_config cfg;
    cfg.model_path = shared_path(k_offload_model);
    cfg.kv_cache_dtype = kv_dtype;
    cfg.kv_cache_memory_bytes = num_blocks * offload_block_bytes(kv_dtype);
    cfg.max_model_len = 160;
    cfg.max_num_seqs = 4;
    cfg.num_threads = 1;
    cfg.kv_transfer_config = kv_transfer;
    return cfg;
}

/// --kv-transfer-config of an OffloadingConnector disk tier in `dir`.
inline std::string offload_disk_config(const std::filesystem::path& dir,
                                       const std::string& capacity = "64MiB",
                                       const std::string& role = "kv_both") {
    return R"({"kv_connector":"OffloadingConnector","kv_role":")" + role +
           R"(","kv_connector_extra_config":{"disk_path":")" + dir.string() +
           R"(","disk_capacity_bytes":")" + capacity + R"("}})";
}

inline std::unique_ptr<core::llm_engine> make_offload_engine(const actorlm::engine_config& cfg) {
    auto e = core::llm_engine::create(cfg);
    REQUIRE_MESSAGE(e.ok(), (e.ok() ? "" : e.message()));
    return std::move(e).value();
}

/// Four "documents" of 96 tokens, each asked two different 8-token questions: the
/// first four prompts ask every document its first question, the last four its second.
inline std::vector<std::vector<int32_t>> offload_prompts() {
    std::mt19937 rng(13);
    std::uniform_int_distribution<int32_t> tok(3, 500);
    std::vector<std::vector<int32_t>> docs(4);
    for (auto& d : docs) {
        d.push_back(1);  // BOS
        for (int i = 1; i < 96; ++i) d.push_back(tok(rng));
    }
    std::vector<std::vector<int32_t>> prompts;
    for (int round = 0; round < 2; ++round)
        for (const auto& d : docs) {
            auto p = d;
            for (int i = 0; i < 8; ++i) p.push_back(tok(rng));
            prompts.push_back(std::move(p));
        }
    return prompts;
}

struct offload_run {
    std::vector<int32_t> tokens;
    std::vector<float> logprobs;  // the sampled token's, then its top-3, per position
    bool operator==(const offload_run&) const = default;
};

/// Runs each prompt alone (same batches in every engine), greedy, 12 tokens, logprobs,
/// with `cache_salt` (a tenant) when given.
inline std::vector<offload_run> run_offload_prompts(
    core::llm_engine& eng, const std::vector<std::vector<int32_t>>& prompts,
    const std::string& cache_salt = {}) {
    std::vector<offload_run> out;
    for (const auto& p : prompts) {
        actorlm::generate_request r;
        r.prompt_token_ids = p;
        r.cache_salt = cache_salt;
        r.params.temperature = 0.0f;
        r.params.max_tokens = 12;
        r.params.ignore_eos = true;
        r.params.logprobs = 3;
        auto res = eng.generate({r});
        REQUIRE_MESSAGE(res.ok(), (res.ok() ? "" : res.message()));
        const auto& seq = (*res)[0].outputs[0];
        REQUIRE(seq.error.empty());
        offload_run o;
        o.tokens = seq.token_ids;
        for (const auto& lp : seq.logprobs) {
            o.logprobs.push_back(lp.logprob);
            for (const auto& t : lp.top) o.logprobs.push_back(t.logprob);
        }
        out.push_back(std::move(o));
    }
    return out;
}

inline void check_same_runs(const std::vector<offload_run>& a, const std::vector<offload_run>& b) {
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) {
        INFO("prompt " << i);
        CHECK(a[i].tokens == b[i].tokens);
        CHECK(a[i].logprobs == b[i].logprobs);  // bit-identical
    }
}

/// The engine's stats once the tiers' threads have finished the saves queued so far
/// (unchanged over 200 ms, at most 10 s).
inline actorlm::engine_stats settled_offload_stats(const core::llm_engine& eng) {
    auto last = eng.stats();
    for (int i = 0; i < 50; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        auto now = eng.stats();
        if (now.kv_connector_blocks_saved_total == last.kv_connector_blocks_saved_total &&
            now.kv_connector_save_errors_total == last.kv_connector_save_errors_total)
            return now;
        last = now;
    }
    return last;
}

/// Runs `prompts` on a 64-block stories260K engine whose model identity carries
/// `fingerprint` instead of the weights' (as two fine-tunes of one base), with
/// `kv_transfer`; the stats once its saves settled.
inline actorlm::engine_stats run_as_model(const std::string& fingerprint,
                                          const std::string& kv_transfer,
                                          const std::vector<std::vector<int32_t>>& prompts) {
    auto m = load_model(shared_path(k_offload_model));
    REQUIRE(m.ok());
    auto tok = tokenizer::from_gguf(*m->gguf);
    REQUIRE(tok.ok());
    kv_cache_spec spec;
    spec.num_blocks = 64;
    spec.block_size = 16;
    spec.type = dtype::f32;
    cpu_executor_options opts;
    opts.num_threads = 1;
    auto ex = cpu_executor::create(m->config, m->weights, spec, opts);
    REQUIRE(ex.ok());
    auto eng = core::llm_engine::create(offload_engine_config("f32", 64, kv_transfer), **tok, **ex,
                                        fingerprint);
    REQUIRE_MESSAGE(eng.ok(), (eng.ok() ? "" : eng.message()));
    run_offload_prompts(**eng, prompts);
    return settled_offload_stats(**eng);
}

}  // namespace actorlm::test
