// plugin_logits_processors: one engine's instances of the plugins' logits processors (vLLM v1's
// custom LogitsProcessor), created when the model runner first runs. Each request the runner
// takes gets a slot; the batch changes (requests added with their sampling params and extra
// args, requests removed) are handed to every processor before its next apply, as vLLM's
// BatchUpdate. The sampler applies the processors to a row: those that may change the argmax
// with logit_bias and the penalties, the argmax-invariant ones after temperature (random rows
// only). Single-threaded, like the runner that owns it.
#pragma once

#include <actorlm/engine.hpp>
#include <actorlm/plugin.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/result.hpp"

namespace actorlm::plugins {

class plugin_logits_processors {
public:
    /// Instances of every registered processor (none: an empty set, which does nothing).
    /// Fails naming the processor whose create returned null.
    static result<std::unique_ptr<plugin_logits_processors>> create(int64_t vocab_size);
    ~plugin_logits_processors();
    plugin_logits_processors(const plugin_logits_processors&) = delete;
    plugin_logits_processors& operator=(const plugin_logits_processors&) = delete;

    bool empty() const { return instances_.empty(); }

    /// A request joined the batch; returns its slot (-1 when the set is empty).
    int32_t add_request(const std::string& request_id, const actorlm::sampling_params& p,
                        std::span<const int32_t> prompt_token_ids);
    /// A request left the batch (unknown ids are ignored).
    void remove_request(const std::string& request_id);

    /// Applies the processors of one kind (argmax-invariant or not) to the logits row of the
    /// request in `slot`, after telling them the batch changes since the last apply.
    void apply(std::span<float> logits, int32_t slot, std::span<const int32_t> output_token_ids,
               bool argmax_invariant);

private:
    struct instance {
        actorlm_logits_processor_v1 table;
        void* self = nullptr;
    };
    struct added {
        int32_t slot;
        std::string request_id, extra_args_json;
        float temperature;
        int32_t max_tokens;
        std::vector<int32_t> prompt_token_ids;
    };
    plugin_logits_processors() = default;
    void flush_updates();

    std::vector<instance> instances_;
    std::unordered_map<std::string, int32_t> slots_;
    std::vector<int32_t> free_slots_;
    int32_t next_slot_ = 0;
    std::vector<int32_t> removed_;  // pending for the next flush
    std::vector<added> added_;
};

}  // namespace actorlm::plugins
