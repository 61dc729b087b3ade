// CAF inspect() overloads for the engine structs that cross a process in the
// worker protocol (scheduler_output in, model_runner_output out). CAF 0.17 has
// no std::optional support, so optional fields travel as (has, value) pairs
// rebuilt by a load_callback. Include only from actors/ (CAF headers).
#pragma once

#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/none.hpp>

#include <cstring>

#include "actorlm/engine.hpp"
#include "core/block_hash.hpp"
#include "kv/kv_connector.hpp"
#include "core/model_runner_output.hpp"
#include "core/scheduler_output.hpp"

namespace actorlm {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, engine_stats& x) {
    return f(caf::meta::type_name("engine_stats"), x.num_requests_running, x.num_requests_waiting,
             x.kv_cache_usage, x.kv_cache_reserved_bytes, x.kv_cache_resident_bytes,
             x.prompt_tokens_total, x.generation_tokens_total,
             x.prefix_cache_queries_total, x.prefix_cache_hits_total, x.num_preemptions_total,
             x.external_prefix_cache_queries_total, x.external_prefix_cache_hits_total,
             x.kv_connector_blocks_loaded_total, x.kv_connector_bytes_loaded_total,
             x.kv_connector_blocks_saved_total, x.kv_connector_bytes_saved_total,
             x.kv_connector_load_errors_total, x.kv_connector_save_errors_total,
             x.kv_connector_load_seconds_total, x.kv_connector_save_seconds_total,
             x.kv_connector_saves_skipped_total, x.kv_connector_evictions_total,
             x.kv_connector_blocks_stored, x.kv_connector_bytes_stored,
             x.num_requests_waiting_for_remote_kvs, x.mm_processor_cache_queries_total,
             x.mm_processor_cache_hits_total, x.mm_images_processed_total,
             x.encoder_cache_queries_total,
             x.encoder_cache_hits_total, x.spec_decode_num_drafts_total,
             x.spec_decode_num_draft_tokens_total, x.spec_decode_num_accepted_tokens_total,
             x.spec_decode_num_accepted_tokens_per_pos, x.engine_steps_total,
             x.worker_busy_seconds_total, x.worker_wait_seconds_total, x.healthy, x.health_message);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kv_transfer_params& x) {
    return f(caf::meta::type_name("kv_transfer_params"), x.do_remote_decode, x.do_remote_prefill,
             x.remote_host, x.remote_port, x.remote_request_id, x.remote_block_ids);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, structured_output_params& x) {
    auto type = static_cast<uint8_t>(x.type);
    auto rebuild = caf::meta::load_callback([&]() -> caf::error {
        if (type > static_cast<uint8_t>(structured_output_params::kind::grammar))
            return caf::make_error(caf::sec::invalid_argument, "structured output kind");
        x.type = static_cast<structured_output_params::kind>(type);
        return caf::none;
    });
    return f(caf::meta::type_name("structured_output_params"), type, x.spec, x.choices,
             x.reasoning_start, x.reasoning_end, rebuild);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sampling_params& x) {
    bool has_seed = x.seed.has_value();
    uint64_t seed = x.seed.value_or(0);
    bool has_kv_transfer = x.kv_transfer.has_value();
    kv_transfer_params kv_transfer = x.kv_transfer.value_or(kv_transfer_params{});
    // pooling: 0 unset, else 1 + its kind; normalize beside it.
    auto pooling = static_cast<uint8_t>(x.pooling ? 1 + static_cast<uint8_t>(x.pooling->type) : 0);
    bool pooling_normalize = x.pooling ? x.pooling->normalize : true;
    auto rebuild = caf::meta::load_callback([&]() -> caf::error {
        x.seed = has_seed ? std::optional<uint64_t>(seed) : std::nullopt;
        x.kv_transfer = has_kv_transfer ? std::optional(kv_transfer) : std::nullopt;
        if (pooling > 1 + static_cast<uint8_t>(pooling_params::kind::cls))
            return caf::make_error(caf::sec::invalid_argument, "sampling_params pooling");
        x.pooling = pooling == 0
                        ? std::nullopt
                        : std::optional(pooling_params{
                              static_cast<pooling_params::kind>(pooling - 1), pooling_normalize});
        return caf::none;
    });
    return f(caf::meta::type_name("sampling_params"), x.n, x.temperature, x.top_p, x.top_k, x.min_p,
             has_seed, seed, x.presence_penalty, x.frequency_penalty, x.repetition_penalty,
             x.logit_bias, x.max_tokens, x.min_tokens, x.ignore_eos, x.stop, x.stop_token_ids,
             x.include_stop_str_in_output, x.skip_special_tokens, x.spaces_between_special_tokens,
             x.logprobs, x.prompt_logprobs, x.speculative_decoding, has_kv_transfer, kv_transfer,
             x.structured_output, x.extra_args_json, pooling, pooling_normalize, rebuild);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chat_message& x) {
    return f(caf::meta::type_name("chat_message"), x.role, x.content, x.name, x.tool_call_id,
             x.tool_calls_json);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, generate_request& x) {
    // add_special_tokens is optional: 0 unset, 1 false, 2 true.
    int8_t add_special = x.add_special_tokens ? (*x.add_special_tokens ? 2 : 1) : 0;
    auto rebuild = caf::meta::load_callback([&]() -> caf::error {
        x.add_special_tokens =
            add_special == 0 ? std::nullopt : std::optional<bool>(add_special == 2);
        return caf::none;
    });
    return f(caf::meta::type_name("generate_request"), x.request_id, x.prompt,
             x.prompt_token_ids, x.messages, x.tools_json, x.chat_template_kwargs_json,
             x.add_generation_prompt, add_special,
             x.parse_special_tokens, x.params, x.priority, x.cache_salt,
             x.resume_output_token_ids, rebuild);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, top_logprob& x) {
    return f(caf::meta::type_name("top_logprob"), x.token_id, x.text, x.logprob);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, token_logprob& x) {
    return f(caf::meta::type_name("token_logprob"), x.token_id, x.text, x.logprob, x.top);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, output_delta& x) {
    // prompt_logprobs holds optionals (the first position has none): flags + values.
    std::vector<char> present;
    std::vector<token_logprob> values;
    for (const auto& lp : x.prompt_logprobs) {
        present.push_back(lp.has_value() ? 1 : 0);
        values.push_back(lp.value_or(token_logprob{}));
    }
    auto finish = static_cast<uint8_t>(x.finish);
    auto kind = static_cast<uint8_t>(x.error_kind);
    bool has_kv_transfer = x.kv_transfer.has_value();
    kv_transfer_params kv_transfer = x.kv_transfer.value_or(kv_transfer_params{});
    auto rebuild = caf::meta::load_callback([&]() -> caf::error {
        x.kv_transfer = has_kv_transfer ? std::optional(kv_transfer) : std::nullopt;
        x.prompt_logprobs.clear();
        for (size_t i = 0; i < present.size() && i < values.size(); ++i)
            x.prompt_logprobs.push_back(present[i] ? std::optional<token_logprob>(values[i])
                                                   : std::nullopt);
        x.finish = static_cast<finish_reason>(finish);
        x.error_kind = static_cast<error_kind>(kind);
        return caf::none;
    });
    return f(caf::meta::type_name("output_delta"), x.request_id, x.index, x.text, x.token_ids,
             x.logprobs, present, values, finish, x.stop_reason, x.error, x.num_prompt_tokens,
             x.num_output_tokens, x.prompt_token_ids, x.queued_seconds, kind, has_kv_transfer,
             kv_transfer, x.embedding, rebuild);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, model_info& x) {
    // default_pooling as sampling_params' pooling: 0 unset, else 1 + its kind.
    auto pooling = static_cast<uint8_t>(
        x.default_pooling ? 1 + static_cast<uint8_t>(x.default_pooling->type) : 0);
    bool pooling_normalize = x.default_pooling ? x.default_pooling->normalize : true;
    auto rebuild = caf::meta::load_callback([&]() -> caf::error {
        if (pooling > 1 + static_cast<uint8_t>(pooling_params::kind::cls))
            return caf::make_error(caf::sec::invalid_argument, "model_info default_pooling");
        x.default_pooling = pooling == 0
                                ? std::nullopt
                                : std::optional(pooling_params{
                                      static_cast<pooling_params::kind>(pooling - 1),
                                      pooling_normalize});
        return caf::none;
    });
    return f(caf::meta::type_name("model_info"), x.name, x.max_model_len, x.vocab_size,
             x.hidden_size, pooling, pooling_normalize, x.embedding_only, rebuild);
}

}  // namespace actorlm

namespace actorlm::core {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, block_hash& x) {
    return f(caf::meta::type_name("block_hash"), x.low, x.high);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mm_feature& x) {
    return f(caf::meta::type_name("mm_feature"), x.mm_hash, x.offset, x.length);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, new_request_data& x) {
    return f(caf::meta::type_name("new_request_data"), x.req_id, x.prompt_token_ids, x.params,
             x.eos_token_ids, x.block_ids, x.num_computed_tokens, x.num_scheduled_tokens,
             x.will_sample, x.output_token_ids, x.mm_features);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cached_request_data& x) {
    return f(caf::meta::type_name("cached_request_data"), x.req_id, x.resumed_from_preemption,
             x.new_token_ids, x.new_block_ids, x.num_computed_tokens, x.num_output_tokens,
             x.num_scheduled_tokens, x.will_sample);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, scheduler_output& x) {
    return f(caf::meta::type_name("scheduler_output"), x.scheduled_cached_reqs,
             x.scheduled_new_reqs, x.total_num_scheduled_tokens, x.finished_req_ids,
             x.preempted_req_ids, x.scheduled_encoder_inputs, x.free_encoder_mm_hashes,
             x.scheduled_spec_decode_tokens);
}

// Logprob values travel as raw bytes: CAF packs vector<float> element by element
// (guide §5), a byte vector is one memcpy.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, position_logprobs& x) {
    std::vector<char> bytes(x.logprobs.size() * sizeof(float));
    if (!bytes.empty()) std::memcpy(bytes.data(), x.logprobs.data(), bytes.size());
    auto rebuild = caf::meta::load_callback([&]() -> caf::error {
        // A peer's byte count that is not whole floats would make the copy below overrun.
        if (bytes.size() % sizeof(float) != 0)
            return caf::make_error(caf::sec::invalid_argument, "position_logprobs bytes");
        x.logprobs.resize(bytes.size() / sizeof(float));
        if (!x.logprobs.empty()) std::memcpy(x.logprobs.data(), bytes.data(), bytes.size());
        return caf::none;
    });
    return f(caf::meta::type_name("position_logprobs"), x.token_ids, bytes, x.rank, rebuild);
}

// prompt_logprobs holds optionals: flattened to (present flags, values) on the wire.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, model_runner_output& x) {
    std::vector<std::vector<char>> present;
    std::vector<std::vector<position_logprobs>> values;
    for (const auto& row : x.prompt_logprobs) {
        auto& p = present.emplace_back();
        auto& v = values.emplace_back();
        for (const auto& lp : row) {
            p.push_back(lp.has_value() ? 1 : 0);
            v.push_back(lp.value_or(position_logprobs{}));
        }
    }
    auto rebuild = caf::meta::load_callback([&]() -> caf::error {
        x.prompt_logprobs.assign(present.size(), {});
        for (size_t i = 0; i < present.size() && i < values.size(); ++i)
            for (size_t j = 0; j < present[i].size() && j < values[i].size(); ++j)
                x.prompt_logprobs[i].push_back(
                    present[i][j] ? std::optional<position_logprobs>(values[i][j]) : std::nullopt);
        return caf::none;
    });
    return f(caf::meta::type_name("model_runner_output"), x.req_ids, x.sampled_token_ids,
             x.logprobs, present, values, x.pooler_output, rebuild);
}

}  // namespace actorlm::core

namespace actorlm::kv {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kv_event& x) {
    return f(caf::meta::type_name("kv_event"), x.type, x.block_hashes, x.medium);
}

}  // namespace actorlm::kv
