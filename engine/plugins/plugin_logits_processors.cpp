// plugin_logits_processors implementation: slots are the lowest free index; batch changes are
// buffered and handed over once, before the next apply.
#include "plugins/plugin_logits_processors.hpp"

#include <algorithm>

#include "plugins/plugin_loader.hpp"

namespace actorlm::plugins {

result<std::unique_ptr<plugin_logits_processors>> plugin_logits_processors::create(
    int64_t vocab_size) {
    std::unique_ptr<plugin_logits_processors> set(new plugin_logits_processors);
    for (const actorlm_logits_processor_v1& t : registered_logits_processors()) {
        void* self = t.create(t.user, vocab_size);
        if (!self) return make_error("logits processor '%s' (a plugin's) failed to start", t.name);
        set->instances_.push_back({t, self});
    }
    return set;
}

plugin_logits_processors::~plugin_logits_processors() {
    for (instance& i : instances_) i.table.destroy(i.self);
}

int32_t plugin_logits_processors::add_request(const std::string& request_id,
                                              const actorlm::sampling_params& p,
                                              std::span<const int32_t> prompt_token_ids) {
    if (instances_.empty()) return -1;
    remove_request(request_id);  // a re-added id starts over
    int32_t slot;
    if (!free_slots_.empty()) {
        auto lowest = std::min_element(free_slots_.begin(), free_slots_.end());
        slot = *lowest;
        free_slots_.erase(lowest);
    } else {
        slot = next_slot_++;
    }
    slots_[request_id] = slot;
    added_.push_back({slot, request_id, p.extra_args_json, p.temperature, p.max_tokens,
                      std::vector<int32_t>(prompt_token_ids.begin(), prompt_token_ids.end())});
    return slot;
}

void plugin_logits_processors::remove_request(const std::string& request_id) {
    auto it = slots_.find(request_id);
    if (it == slots_.end()) return;
    const int32_t slot = it->second;
    slots_.erase(it);
    free_slots_.push_back(slot);
    // Added and removed before any apply: the processors never hear of it.
    auto pending =
        std::find_if(added_.begin(), added_.end(), [&](const added& a) { return a.slot == slot; });
    if (pending != added_.end())
        added_.erase(pending);
    else
        removed_.push_back(slot);
}

void plugin_logits_processors::flush_updates() {
    if (removed_.empty() && added_.empty()) return;
    std::vector<actorlm_lp_added_request> adds;
    adds.reserve(added_.size());
    for (const added& a : added_)
        adds.push_back({a.slot, a.request_id.c_str(), a.extra_args_json.c_str(), a.temperature,
                        a.max_tokens, a.prompt_token_ids.data(),
                        static_cast<int64_t>(a.prompt_token_ids.size())});
    actorlm_lp_batch_update update{removed_.data(), static_cast<int64_t>(removed_.size()),
                                   adds.data(), static_cast<int64_t>(adds.size())};
    for (instance& i : instances_) i.table.update_state(i.self, &update);
    removed_.clear();
    added_.clear();
}

void plugin_logits_processors::apply(std::span<float> logits, int32_t slot,
                                     std::span<const int32_t> output_token_ids,
                                     bool argmax_invariant) {
    if (instances_.empty() || slot < 0) return;
    flush_updates();
    const actorlm_lp_row row{slot, output_token_ids.data(),
                             static_cast<int64_t>(output_token_ids.size())};
    for (instance& i : instances_)
        if ((i.table.argmax_invariant != 0) == argmax_invariant)
            i.table.apply(i.self, logits.data(), 1, static_cast<int64_t>(logits.size()), &row);
}

}  // namespace actorlm::plugins
