// scheduler implementation. schedule() follows vLLM v1's Scheduler.schedule():
// the running loop (with preemption until the request fits or preempts itself),
// then, only if nothing was preempted, the waiting loop; num_computed_tokens
// advances for everything scheduled (vLLM's _update_after_schedule). A decoding
// request's drafts join its scheduled tokens (vLLM's num_tokens_with_spec) and are
// trimmed, as the rest of the step, by the token budget and max_model_len.
#include "core/scheduler.hpp"

#include <algorithm>
#include <iterator>
#include <utility>

#include "core/sampling_params_check.hpp"
#include "base/check.hpp"

namespace actorlm::core {

status scheduler::validate(const scheduler_config& cfg) {
    if (cfg.block_size <= 0)
        return make_error("block_size must be positive, got %d", cfg.block_size);
    if (cfg.num_blocks <= 0)
        return make_error("num_blocks must be positive, got %d", cfg.num_blocks);
    if (cfg.max_model_len <= 0)
        return make_error("max_model_len must be positive, got %d", cfg.max_model_len);
    if (cfg.max_num_seqs <= 0)
        return make_error("max_num_seqs must be positive, got %d", cfg.max_num_seqs);
    if (cfg.max_num_batched_tokens <= 0)
        return make_error("max_num_batched_tokens must be positive, got %d",
                          cfg.max_num_batched_tokens);
    if (cfg.long_prefill_token_threshold < 0)
        return make_error("long_prefill_token_threshold must be >= 0, got %d",
                          cfg.long_prefill_token_threshold);
    if (cfg.max_num_encoder_input_tokens < 0 || cfg.encoder_cache_size < 0)
        return make_error("max_num_encoder_input_tokens and encoder_cache_size must be >= 0, got "
                          "%d and %d",
                          cfg.max_num_encoder_input_tokens, cfg.encoder_cache_size);
    if (cfg.kv_group_windows.empty())
        return make_error("the KV cache needs at least one layer group");
    for (int32_t w : cfg.kv_group_windows)
        if (w < 0) return make_error("sliding_window must be >= 0, got %d", w);
    // One sequence of max_model_len must fit alone, or it would preempt itself forever.
    // Under a sliding window it holds only the window's blocks plus one step's chunk.
    const int32_t usable = cfg.num_blocks - (cfg.frees_kv_blocks() ? 1 : 0);
    const int32_t need = cfg.max_blocks_per_request();
    if (usable < need)
        return make_error(
            "the KV cache (%d usable blocks of %d tokens) cannot hold one sequence of "
            "max_model_len %d tokens, which needs %d blocks; give it more memory or lower "
            "max_model_len",
            usable, cfg.block_size, cfg.max_model_len, need);
    if (cfg.speculative.enabled()) {
        const speculative_config& sp = cfg.speculative;
        if (sp.num_speculative_tokens > k_max_speculative_tokens)
            return make_error("num_speculative_tokens must be in 1..%d, got %d",
                              k_max_speculative_tokens, sp.num_speculative_tokens);
        if (sp.prompt_lookup_min < 1 || sp.prompt_lookup_min > sp.prompt_lookup_max)
            return make_error("prompt_lookup_min (%d) must be in 1..prompt_lookup_max (%d)",
                              sp.prompt_lookup_min, sp.prompt_lookup_max);
    }
    if (!cfg.enable_chunked_prefill && cfg.max_num_batched_tokens < cfg.max_model_len)
        return make_error(
            "without chunked prefill max_num_batched_tokens (%d) must be >= "
            "max_model_len (%d) or long prompts could never run",
            cfg.max_num_batched_tokens, cfg.max_model_len);
    return {};
}

result<std::unique_ptr<scheduler>> scheduler::create(const scheduler_config& cfg) {
    ACTORLM_TRY(validate(cfg));
    return std::unique_ptr<scheduler>(new scheduler(cfg));
}

scheduler::scheduler(const scheduler_config& cfg)
    : cfg_(cfg),
      kv_(cfg.num_blocks, cfg.block_size, cfg.max_model_len, cfg.enable_prefix_caching,
          cfg.enable_kv_cache_events, cfg.kv_group_windows),
      encoder_(cfg.encoder_cache_tokens()),
      waiting_(cfg.policy) {
    if (cfg.speculative.enabled()) {
        proposer_.emplace(cfg.speculative.prompt_lookup_min, cfg.speculative.prompt_lookup_max);
        spec_stats_.num_accepted_tokens_per_pos.assign(
            static_cast<size_t>(cfg.speculative.num_speculative_tokens), 0);
    }
}

actorlm::engine_stats to_engine_stats(const scheduler_stats& s) {
    actorlm::engine_stats e;
    e.num_requests_running = s.num_running;
    e.num_requests_waiting = s.num_waiting;
    e.kv_cache_usage = s.kv_cache_usage;
    e.prompt_tokens_total = s.num_prompt_tokens;
    e.generation_tokens_total = s.num_generation_tokens;
    e.prefix_cache_queries_total = s.prefix_cache.queries;
    e.prefix_cache_hits_total = s.prefix_cache.hits;
    e.encoder_cache_queries_total = s.encoder_cache_queries;
    e.encoder_cache_hits_total = s.encoder_cache_hits;
    e.num_preemptions_total = s.num_preemptions;
    const kv::kv_connector_stats& k = s.kv_connector;
    e.external_prefix_cache_queries_total = k.queries;
    e.external_prefix_cache_hits_total = k.hits;
    e.kv_connector_blocks_loaded_total = k.blocks_loaded;
    e.kv_connector_bytes_loaded_total = k.bytes_loaded;
    e.kv_connector_blocks_saved_total = k.blocks_saved;
    e.kv_connector_bytes_saved_total = k.bytes_saved;
    e.kv_connector_load_errors_total = k.load_errors;
    e.kv_connector_save_errors_total = k.save_errors;
    e.kv_connector_load_seconds_total = k.load_seconds;
    e.kv_connector_save_seconds_total = k.save_seconds;
    e.kv_connector_saves_skipped_total = k.saves_skipped;
    e.kv_connector_evictions_total = k.evictions;
    e.kv_connector_blocks_stored = k.blocks_stored;
    e.kv_connector_bytes_stored = k.bytes_stored;
    e.num_requests_waiting_for_remote_kvs = s.num_waiting_for_remote_kvs;
    e.spec_decode_num_drafts_total = s.spec_decode.num_drafts;
    e.spec_decode_num_draft_tokens_total = s.spec_decode.num_draft_tokens;
    e.spec_decode_num_accepted_tokens_total = s.spec_decode.num_accepted_tokens;
    e.spec_decode_num_accepted_tokens_per_pos = s.spec_decode.num_accepted_tokens_per_pos;
    return e;
}

void add_spec_decode_stats(actorlm::engine_stats& sum, const actorlm::engine_stats& s) {
    sum.spec_decode_num_drafts_total += s.spec_decode_num_drafts_total;
    sum.spec_decode_num_draft_tokens_total += s.spec_decode_num_draft_tokens_total;
    sum.spec_decode_num_accepted_tokens_total += s.spec_decode_num_accepted_tokens_total;
    auto& into = sum.spec_decode_num_accepted_tokens_per_pos;
    const auto& from = s.spec_decode_num_accepted_tokens_per_pos;
    if (into.size() < from.size()) into.resize(from.size(), 0);
    for (size_t j = 0; j < from.size(); ++j) into[j] += from[j];
}

status scheduler::add_request(request_spec spec) {
    if (spec.req_id.empty()) return make_error(error_kind::invalid_argument, "request id is empty");
    if (requests_.count(spec.req_id) || deferred_free_.count(spec.req_id))
        return make_error(error_kind::invalid_argument, "request id '%s' is already in use",
                          spec.req_id.c_str());
    const auto len = static_cast<int64_t>(spec.prompt_token_ids.size());
    if (len == 0)
        return make_error(error_kind::invalid_argument, "request '%s': the prompt is empty",
                          spec.req_id.c_str());
    if (len > cfg_.max_model_len)
        return make_error(error_kind::invalid_argument,
                          "request '%s': the prompt (%lld tokens) is longer than the maximum "
                          "model length of %d tokens",
                          spec.req_id.c_str(), static_cast<long long>(len), cfg_.max_model_len);
    // Prompt and resumed output ids alike must index the vocabulary.
    auto outside_vocab = [&](const std::vector<int32_t>& ids, const char* what) -> status {
        if (cfg_.vocab_size > 0)
            for (int32_t t : ids)
                if (t < 0 || t >= cfg_.vocab_size)
                    return make_error(error_kind::invalid_argument,
                                      "request '%s': %s token id %d is outside the vocabulary "
                                      "[0, %lld)",
                                      spec.req_id.c_str(), what, t,
                                      static_cast<long long>(cfg_.vocab_size));
        return status::success();
    };
    if (auto st = outside_vocab(spec.prompt_token_ids, "prompt"); !st) return st;
    if (auto st = validate_sampling_params(spec.params, cfg_.vocab_size); !st)
        return make_error(error_kind::invalid_argument, "request '%s': %s", spec.req_id.c_str(),
                          st.message().c_str());
    if (!spec.output_token_ids.empty()) {
        const auto outs = static_cast<int64_t>(spec.output_token_ids.size());
        if (spec.params.n != 1)
            return make_error(error_kind::invalid_argument,
                              "request '%s': resumed output tokens need n = 1", spec.req_id.c_str());
        if ((spec.params.max_tokens > 0 && outs >= spec.params.max_tokens) ||
            len + outs >= cfg_.max_model_len)
            return make_error(error_kind::invalid_argument,
                              "request '%s': %lld resumed output tokens leave nothing to generate",
                              spec.req_id.c_str(), static_cast<long long>(outs));
        if (auto st = outside_vocab(spec.output_token_ids, "resumed output"); !st) return st;
    }
    if (auto st = check_mm_features(spec.mm_features, static_cast<int32_t>(len)); !st)
        return make_error(error_kind::invalid_argument, "request '%s': %s", spec.req_id.c_str(),
                          st.message().c_str());
    const int32_t encoder_room = std::min(cfg_.encoder_budget(), cfg_.encoder_cache_tokens());
    for (const mm_feature& f : spec.mm_features)
        if (f.length > encoder_room)
            return make_error(error_kind::invalid_argument,
                              "request '%s': a multimodal input of %d embedding tokens exceeds "
                              "the encoder budget of %d tokens per step (raise "
                              "max_num_batched_tokens)",
                              spec.req_id.c_str(), f.length, encoder_room);
    const double arrival = spec.arrival_time >= 0.0 ? spec.arrival_time : next_arrival_;
    next_arrival_ = std::max(next_arrival_, arrival) + 1.0;
    auto req = std::make_unique<request>(
        spec.req_id, std::move(spec.prompt_token_ids), std::move(spec.params),
        std::move(spec.eos_token_ids), cfg_.enable_prefix_caching ? cfg_.block_size : 0,
        spec.priority, arrival, std::move(spec.cache_salt), cfg_.hash_root,
        std::move(spec.mm_features));
    req->append_output_tokens(spec.output_token_ids);
    waiting_.push(req.get());
    requests_.emplace(req->id(), std::move(req));
    return status::success();
}

void scheduler::preempt(request* r) {
    kv_.free(*r);
    encoder_.free(*r);  // its outputs stay cached (freeable) for when it runs again
    r->status = request_status::preempted;
    r->num_computed_tokens = 0;
    // A token in flight is dropped when it arrives (the request no longer runs) and
    // sampled again after the recompute.
    r->num_output_placeholders = 0;
    ++r->num_preemptions;
    ++num_preemptions_;
    waiting_.push_front(r);
}

std::vector<int32_t> scheduler::propose_drafts(const request& r) {
    if (!proposer_ || !r.params().speculative_decoding) return {};
    // A structured-output request keeps one grammar mask per sequence, for the next
    // position only; drafts would need a mask per draft position (vLLM computes them), so
    // such requests decode without drafts for now (docs/speculative-decoding.md).
    if (r.params().structured_output.active()) return {};
    // A step emits up to drafts + 1 tokens; more drafts than could be emitted before
    // the length caps would only be computed to be thrown away.
    const int64_t room = std::min<int64_t>(
        static_cast<int64_t>(cfg_.max_model_len) - r.num_tokens(),
        static_cast<int64_t>(r.max_tokens()) - r.num_output_tokens());
    const auto k = static_cast<int32_t>(
        std::min<int64_t>(cfg_.speculative.num_speculative_tokens, room - 1));
    if (k <= 0) return {};
    return proposer_->propose(r.all_token_ids(), k);
}

void scheduler::apply_verification(request& r, int32_t num_drafts, int32_t num_sampled) {
    // The last sampled token is the target's own (a correction or the bonus); the ones
    // before it are accepted drafts.
    const int32_t num_accepted = std::clamp(num_sampled - 1, 0, num_drafts);
    r.num_computed_tokens -= num_drafts - num_accepted;
    ++spec_stats_.num_drafts;
    spec_stats_.num_draft_tokens += num_drafts;
    spec_stats_.num_accepted_tokens += num_accepted;
    for (int32_t j = 0; j < num_accepted; ++j)
        ++spec_stats_.num_accepted_tokens_per_pos[static_cast<size_t>(j)];
}

namespace {

struct planned {
    request* req;
    int32_t num_tokens;
    std::vector<int32_t> new_block_ids;
    enum { running, resumed, fresh } kind;
    int32_t encoder_tokens = 0;
    std::vector<int32_t> drafts;  // the last drafts.size() of num_tokens
};

}  // namespace

scheduler::encoder_plan scheduler::plan_encoder_inputs(
    request& r, int32_t num_computed, int32_t n, int32_t encoder_budget,
    const std::unordered_set<std::string>& step_hashes) {
    encoder_plan e;
    e.num_tokens = n;
    const auto& features = r.mm_features();
    std::unordered_set<std::string> mine;
    for (size_t i = 0; i < features.size(); ++i) {
        const mm_feature& f = features[i];
        if (f.offset >= num_computed + e.num_tokens) break;  // not reached this step
        if (f.end() <= num_computed) continue;  // its placeholders are in the KV cache
        // Another request (or an earlier input of this one) encodes it this step: the
        // worker encodes each hash once, so it costs no budget or room again.
        if (step_hashes.count(f.mm_hash) || mine.count(f.mm_hash)) {
            e.inputs.push_back(static_cast<int32_t>(i));
            continue;
        }
        if (encoder_.check_and_update_cache(r, i)) continue;
        if (!encoder_.can_allocate(r, i, encoder_budget - e.encoder_tokens, e.encoder_tokens)) {
            // Stop before its placeholders: a chunk never reaches into an image whose
            // output does not exist.
            e.num_tokens = std::max(0, f.offset - num_computed);
            break;
        }
        e.encoder_tokens += f.length;
        e.inputs.push_back(static_cast<int32_t>(i));
        mine.insert(f.mm_hash);
    }
    // Inputs chosen before a shortening start before the input that shortened the
    // step, so the step still reaches all of them.
    return e;
}

void scheduler::commit_encoder_inputs(request& r, const encoder_plan& e, scheduler_output& out,
                                      std::unordered_set<std::string>& step_hashes) {
    if (e.inputs.empty()) return;
    for (int32_t i : e.inputs) {
        encoder_.allocate(r, static_cast<size_t>(i));
        step_hashes.insert(r.mm_features()[static_cast<size_t>(i)].mm_hash);
    }
    out.scheduled_encoder_inputs[r.id()] = e.inputs;
}

void scheduler::free_encoded_inputs(request& r) {
    for (size_t i : encoder_.cached_inputs(r))
        if (r.mm_features()[i].end() <= r.num_computed_tokens) encoder_.free_encoder_input(r, i);
}

scheduler_output scheduler::schedule() {
    scheduler_output out;
    int32_t budget = cfg_.max_num_batched_tokens;
    int32_t encoder_budget = cfg_.encoder_budget();
    std::unordered_set<std::string> step_hashes;  // encoded this step
    std::vector<planned> plan;
    plan.reserve(running_.size());
    const bool by_priority = cfg_.policy == scheduling_policy::priority;

    // 1. Running requests: one decode token, or the next chunk of their prefill.
    size_t i = 0;
    while (i < running_.size() && budget > 0) {
        request* r = running_[i];
        // With a step in flight (async scheduling) the tokens it will sample count:
        // their positions are scheduled as placeholders the worker fills.
        int32_t n = r->num_tokens() + r->num_output_placeholders - r->num_computed_tokens;
        // Its length cap is reached once the tokens in flight arrive: nothing to schedule.
        if (r->num_output_placeholders > 0 &&
            r->num_output_tokens() + r->num_output_placeholders >= r->max_tokens())
            n = 0;
        // Decoding (only the last sampled token left to compute): add the drafts.
        std::vector<int32_t> drafts;
        if (n == 1 && r->num_output_placeholders == 0) drafts = propose_drafts(*r);
        n += static_cast<int32_t>(drafts.size());
        if (cfg_.long_prefill_token_threshold > 0 && drafts.empty())
            n = std::min(n, cfg_.long_prefill_token_threshold);
        n = std::min({n, budget, cfg_.max_model_len - r->num_computed_tokens});
        encoder_plan enc;
        if (n > 0 && !r->mm_features().empty()) {
            enc = plan_encoder_inputs(*r, r->num_computed_tokens, n, encoder_budget, step_hashes);
            n = enc.num_tokens;
        }
        // The caps may cut the drafts short (never the token before them).
        if (!drafts.empty()) drafts.resize(static_cast<size_t>(std::max(n - 1, 0)));
        if (n <= 0) {
            ++i;
            continue;
        }
        std::optional<std::vector<int32_t>> blocks;
        bool preempted_self = false;
        while (!(blocks = kv_.allocate_slots(*r, n))) {
            size_t v = running_.size() - 1;  // FCFS: the latest arrival among running
            if (by_priority)
                for (size_t j = 0; j < running_.size(); ++j) {
                    const request* a = running_[j];
                    const request* b = running_[v];
                    if (a->priority() > b->priority() ||
                        (a->priority() == b->priority() && a->arrival_time() > b->arrival_time()))
                        v = j;
                }
            request* victim = running_[v];
            running_.erase(running_.begin() + static_cast<std::ptrdiff_t>(v));
            auto p = std::find_if(plan.begin(), plan.end(),
                                  [&](const planned& x) { return x.req == victim; });
            if (p != plan.end()) {  // scheduled earlier in this step: undo it
                budget += p->num_tokens;
                encoder_budget += p->encoder_tokens;
                out.scheduled_encoder_inputs.erase(victim->id());
                plan.erase(p);
            }
            preempt(victim);
            out.preempted_req_ids.push_back(victim->id());
            if (victim == r) {
                preempted_self = true;
                break;
            }
            if (v < i) --i;
        }
        if (preempted_self) break;
        commit_encoder_inputs(*r, enc, out, step_hashes);
        plan.push_back(
            {r, n, std::move(*blocks), planned::running, enc.encoder_tokens, std::move(drafts)});
        budget -= n;
        encoder_budget -= enc.encoder_tokens;
        ++i;
    }

    // 2. Waiting requests, only in a step that preempted nothing (vLLM): admitting
    // work right after running out of blocks would just thrash.
    if (out.preempted_req_ids.empty()) {
        while (!waiting_.empty() && budget > 0 &&
               static_cast<int32_t>(running_.size()) < cfg_.max_num_seqs) {
            request* r = waiting_.peek();
            // Back from an asynchronous load: it holds its blocks and computed tokens.
            const bool loaded = !kv_.block_ids(r->id()).empty();
            computed_blocks hit;
            kv::kv_connector_scheduler::match ext;
            if (!loaded) {
                hit = kv_.get_computed_blocks(*r);
                if (connector_) {
                    ext = connector_->get_num_new_matched_tokens(*r, hit.num_tokens);
                    // The last token is always computed: its logits are needed.
                    if (ext.num_tokens <= 0 || hit.num_tokens + ext.num_tokens >= r->num_tokens())
                        ext = {};
                }
            }
            if (ext.load_async) {
                // Blocks for the loaded prefix now; the request waits, others go on.
                auto blocks = kv_.allocate_slots(*r, ext.num_tokens, &hit, 0,
                                                 /*delay_cache_blocks=*/true);
                if (!blocks) break;
                waiting_.pop();
                r->num_computed_tokens = hit.num_tokens;
                connector_->update_state_after_alloc(*r, kv_.block_ids(r->id()), ext.num_tokens);
                remote_loads_[r->id()] = {hit.num_tokens / cfg_.block_size,
                                          ext.num_tokens / cfg_.block_size,
                                          r->status == request_status::preempted};
                r->status = request_status::waiting_for_remote_kvs;
                remote_waiting_.push_back(r);
                continue;
            }
            const int32_t base = loaded ? r->num_computed_tokens : hit.num_tokens + ext.num_tokens;
            int32_t n = r->num_tokens() - base;
            if (cfg_.long_prefill_token_threshold > 0)
                n = std::min(n, cfg_.long_prefill_token_threshold);
            if (!cfg_.enable_chunked_prefill && n > budget) break;
            n = std::min(n, budget);
            encoder_plan enc;
            if (!r->mm_features().empty()) {
                enc = plan_encoder_inputs(*r, base, n, encoder_budget, step_hashes);
                // Without chunked prefill the whole rest must fit in this step.
                if (enc.num_tokens <= 0 || (!cfg_.enable_chunked_prefill && enc.num_tokens < n))
                    break;
                n = enc.num_tokens;
            }
            auto blocks = loaded ? kv_.allocate_slots(*r, n)
                                 : kv_.allocate_slots(*r, n + ext.num_tokens, &hit);
            if (!blocks) break;
            waiting_.pop();
            const bool resumed = r->status == request_status::preempted;
            if (!loaded) {
                r->num_computed_tokens = hit.num_tokens;
                if (connector_)
                    connector_->update_state_after_alloc(*r, kv_.block_ids(r->id()),
                                                         ext.num_tokens);
                r->num_computed_tokens += ext.num_tokens;  // loaded synchronously this step
            }
            if (r->num_cached_tokens < 0) r->num_cached_tokens = r->num_computed_tokens;
            if (!resumed) num_prompt_tokens_ += r->num_prompt_tokens();
            if (r->queued_seconds < 0.0)
                r->queued_seconds =
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - r->queued_at)
                        .count();
            r->status = request_status::running;
            running_.push_back(r);
            commit_encoder_inputs(*r, enc, out, step_hashes);
            plan.push_back({r, n, {}, resumed ? planned::resumed : planned::fresh,
                            enc.encoder_tokens});
            budget -= n;
            encoder_budget -= enc.encoder_tokens;
        }
    }

    // 3. The output, then advance num_computed_tokens.
    for (auto& p : plan) {
        request* r = p.req;
        const int32_t nc = r->num_computed_tokens;
        const bool will_sample = nc + p.num_tokens >= r->num_tokens() + r->num_output_placeholders;
        if (p.kind == planned::fresh) {
            auto table = kv_.block_ids(r->id());
            out.scheduled_new_reqs.push_back(new_request_data{
                r->id(),
                std::vector<int32_t>(r->prompt_token_ids().begin(), r->prompt_token_ids().end()),
                r->params(), r->eos_token_ids(), std::vector<int32_t>(table.begin(), table.end()),
                nc, p.num_tokens, will_sample,
                std::vector<int32_t>(r->output_token_ids().begin(), r->output_token_ids().end()),
                r->mm_features()});
        } else {
            cached_request_data c;
            c.req_id = r->id();
            c.resumed_from_preemption = p.kind == planned::resumed;
            // Positions past the known tokens await a step in flight: placeholders.
            const auto num_scheduled = static_cast<size_t>(p.num_tokens) - p.drafts.size();
            const auto num_known = std::min(
                num_scheduled, static_cast<size_t>(std::max(r->num_tokens() - nc, 0)));
            auto toks = r->all_token_ids().subspan(static_cast<size_t>(nc), num_known);
            c.new_token_ids.assign(toks.begin(), toks.end());
            c.new_token_ids.resize(num_scheduled, k_placeholder_token);
            c.new_token_ids.insert(c.new_token_ids.end(), p.drafts.begin(), p.drafts.end());
            if (c.resumed_from_preemption) {
                auto table = kv_.block_ids(r->id());
                c.new_block_ids.assign(table.begin(), table.end());
            } else {
                c.new_block_ids = std::move(p.new_block_ids);
            }
            c.num_computed_tokens = nc;
            c.num_output_tokens = r->num_output_tokens();
            c.num_scheduled_tokens = p.num_tokens;
            c.will_sample = will_sample;
            out.scheduled_cached_reqs.push_back(std::move(c));
        }
        r->num_computed_tokens += p.num_tokens;
        if (will_sample && !r->params().pooling) ++r->num_output_placeholders;
        out.total_num_scheduled_tokens += p.num_tokens;
        if (!p.drafts.empty()) out.scheduled_spec_decode_tokens[r->id()] = std::move(p.drafts);
    }
    out.free_encoder_mm_hashes = encoder_.take_freed_mm_hashes();
    out.finished_req_ids = std::move(finished_since_schedule_);
    finished_since_schedule_.clear();
    if (connector_) out.kv_connector_metadata = connector_->build_connector_meta(out);
    collect_kv_events(/*with_connector=*/false);
    return out;
}

void scheduler::collect_kv_events(bool with_connector) {
    if (!cfg_.enable_kv_cache_events && !(with_connector && connector_)) return;
    auto append = [&](std::vector<kv::kv_event> events) {
        if (events.empty()) return;
        if (kv_events_.empty()) {
            kv_events_ = std::move(events);
        } else {
            kv_events_.insert(kv_events_.end(), std::make_move_iterator(events.begin()),
                              std::make_move_iterator(events.end()));
        }
    };
    append(kv_.take_events());
    if (with_connector && connector_) append(connector_->take_events());
    if (kv_events_.size() > k_max_kv_events) {
        const size_t drop = kv_events_.size() - k_max_kv_events;
        kv_events_.erase(kv_events_.begin(), kv_events_.begin() + static_cast<ptrdiff_t>(drop));
        kv_events_dropped_ += static_cast<int64_t>(drop);
    }
}

std::vector<kv::kv_event> scheduler::take_kv_events() {
    collect_kv_events(/*with_connector=*/false);
    return std::exchange(kv_events_, {});
}

bool scheduler::reset_prefix_cache() {
    const bool done = kv_.reset_prefix_cache();
    collect_kv_events(/*with_connector=*/false);
    return done;
}

std::vector<request_output> scheduler::update_from_output(const scheduler_output& sched,
                                                          const model_runner_output& out) {
    if (connector_) {
        connector_->update_connector_output(out.kv_connector_output);
        apply_kv_connector_output(out.kv_connector_output);
    }
    collect_kv_events(/*with_connector=*/true);
    // This step's sampled positions are placeholders no longer, whatever it returned.
    auto settle = [&](const std::string& id, bool will_sample) {
        auto it = requests_.find(id);
        if (will_sample && it != requests_.end() && it->second->num_output_placeholders > 0)
            --it->second->num_output_placeholders;
    };
    for (const auto& c : sched.scheduled_cached_reqs) settle(c.req_id, c.will_sample);
    for (const auto& n : sched.scheduled_new_reqs) settle(n.req_id, n.will_sample);
    std::vector<request_output> results;
    std::vector<std::pair<request*, size_t>> stopped;  // and its output's index
    for (size_t k = 0; k < out.req_ids.size(); ++k) {
        auto it = requests_.find(out.req_ids[k]);
        if (it == requests_.end()) continue;  // aborted since schedule()
        request* r = it->second.get();
        if (r->status != request_status::running) continue;
        if (!r->mm_features().empty()) free_encoded_inputs(*r);
        request_output ro;
        bool done = false;
        // Before the tokens are appended: a stop among them ends the request anyway.
        if (auto d = sched.scheduled_spec_decode_tokens.find(r->id());
            d != sched.scheduled_spec_decode_tokens.end())
            apply_verification(*r, static_cast<int32_t>(d->second.size()),
                               k < out.sampled_token_ids.size()
                                   ? static_cast<int32_t>(out.sampled_token_ids[k].size())
                                   : 0);
        if (k < out.sampled_token_ids.size()) {
            for (int32_t tok : out.sampled_token_ids[k]) {
                r->append_output_tokens(std::span<const int32_t>(&tok, 1));
                ro.new_token_ids.push_back(tok);
                ++num_generation_tokens_;
                if ((done = check_stop(*r, cfg_.max_model_len))) break;
            }
        }
        if (k < out.logprobs.size() && !out.logprobs[k].empty()) {
            const size_t m = std::min(out.logprobs[k].size(), ro.new_token_ids.size());
            ro.logprobs.assign(out.logprobs[k].begin(),
                               out.logprobs[k].begin() + static_cast<std::ptrdiff_t>(m));
        }
        if (k < out.prompt_logprobs.size()) ro.prompt_logprobs = out.prompt_logprobs[k];
        // A pooling request ends with its prompt: the vector is its whole output.
        if (k < out.pooler_output.size() && !out.pooler_output[k].empty() && r->params().pooling) {
            ro.embedding = out.pooler_output[k];
            r->status = request_status::finished_stopped;
            done = true;
        }
        if (ro.new_token_ids.empty() && ro.prompt_logprobs.empty() && !done) continue;
        ro.req_id = r->id();
        ro.status = r->status;
        ro.stop_reason = r->stop_reason;
        ro.num_prompt_tokens = r->num_prompt_tokens();
        ro.num_output_tokens = r->num_output_tokens();
        ro.num_cached_tokens = std::max(r->num_cached_tokens, 0);
        if (!r->queue_time_reported) {
            ro.queued_seconds = r->queued_seconds;
            r->queue_time_reported = true;
        }
        results.push_back(std::move(ro));
        if (done) stopped.emplace_back(r, results.size() - 1);
    }
    if (!stopped.empty()) {
        running_.erase(std::remove_if(running_.begin(), running_.end(),
                                      [&](request* r) { return is_finished(r->status); }),
                       running_.end());
        for (auto [r, index] : stopped) results[index].kv_transfer = finish(r);
    }
    return results;
}

void scheduler::apply_kv_connector_output(const kv::kv_connector_output& out) {
    auto release = [&](const std::string& id) {
        if (snapshots_.erase(id) != 0) {
            kv_.release(id);
            return true;
        }
        auto d = deferred_free_.find(id);
        if (d == deferred_free_.end()) return false;
        kv_.free(*d->second);
        deferred_free_.erase(d);
        return true;
    };
    for (const auto& id : out.finished_recving) {
        auto load = remote_loads_.find(id);
        if (load == remote_loads_.end()) {
            release(id);  // aborted while loading
            continue;
        }
        const remote_load rl = load->second;
        remote_loads_.erase(load);
        if (release(id)) continue;
        auto it = std::find_if(remote_waiting_.begin(), remote_waiting_.end(),
                               [&](const request* r) { return r->id() == id; });
        if (it == remote_waiting_.end()) continue;
        request* r = *it;
        remote_waiting_.erase(it);
        // Computed up to the first block that failed to load; the rest is recomputed.
        const auto table = kv_.block_ids(id);
        int32_t ok = 0;
        while (ok < rl.num_blocks &&
               std::find(out.invalid_block_ids.begin(), out.invalid_block_ids.end(),
                         table[static_cast<size_t>(rl.first_block + ok)]) ==
                   out.invalid_block_ids.end())
            ++ok;
        r->num_computed_tokens = (rl.first_block + ok) * cfg_.block_size;
        kv_.cache_blocks(*r, r->num_computed_tokens);
        r->status = rl.was_preempted ? request_status::preempted : request_status::waiting;
        waiting_.push_front(r);
    }
    for (const auto& id : out.finished_sending) release(id);
}

std::optional<actorlm::kv_transfer_params> scheduler::finish(request* r) {
    finished_since_schedule_.push_back(r->id());
    encoder_.free(*r);
    // Its blocks must outlive a load still writing into them, a save reading them or
    // another engine pulling them.
    bool defer = remote_loads_.count(r->id()) != 0;
    std::optional<actorlm::kv_transfer_params> transfer;
    if (connector_) {
        auto f = connector_->request_finished(*r, kv_.block_ids(r->id()));
        defer = defer || f.delay_free_blocks;
        transfer = std::move(f.kv_transfer_params);
    }
    auto it = requests_.find(r->id());
    if (defer) {
        deferred_free_[r->id()] = std::move(it->second);
    } else {
        kv_.free(*r);
    }
    requests_.erase(it);
    return transfer;
}

bool scheduler::finish_request(const std::string& req_id, request_status st,
                               std::string stop_reason) {
    ACTORLM_CHECK(is_finished(st), "finish_request with unfinished status %s",
                  request_status_name(st));
    auto it = requests_.find(req_id);
    if (it == requests_.end()) return false;
    end_request(it->second.get(), st, std::move(stop_reason));
    return true;
}

std::optional<actorlm::kv_transfer_params> scheduler::migrate_request(const std::string& req_id,
                                                                      bool* found) {
    auto it = requests_.find(req_id);
    *found = it != requests_.end();
    if (!*found) return std::nullopt;
    it->second->hand_over_kv = true;
    return end_request(it->second.get(), request_status::finished_aborted, {});
}

std::optional<actorlm::kv_transfer_params> scheduler::snapshot_request(
    const std::string& req_id) {
    auto it = requests_.find(req_id);
    if (!connector_ || it == requests_.end() || it->second->status != request_status::running)
        return std::nullopt;
    const request& r = *it->second;
    const auto table = kv_.block_ids(req_id);
    const auto n = static_cast<size_t>(std::min<int64_t>(
        r.num_computed_tokens / cfg_.block_size, static_cast<int64_t>(table.size())));
    if (n == 0) return std::nullopt;
    const std::vector<int32_t> blocks(table.begin(), table.begin() + static_cast<ptrdiff_t>(n));
    const std::string ticket = req_id + "#snapshot-" + std::to_string(next_snapshot_++);
    // Held first: a connector may hand the blocks to another thread as soon as it offers.
    kv_.hold(ticket, blocks);
    auto p = connector_->offer_snapshot(r, blocks, ticket);
    if (!p) {
        kv_.release(ticket);
        return std::nullopt;
    }
    snapshots_.insert(ticket);
    return p;
}

std::optional<actorlm::kv_transfer_params> scheduler::end_request(request* r, request_status st,
                                                                  std::string stop_reason) {
    if (r->status == request_status::running)
        running_.erase(std::find(running_.begin(), running_.end(), r));
    else if (r->status == request_status::waiting_for_remote_kvs)
        remote_waiting_.erase(std::find(remote_waiting_.begin(), remote_waiting_.end(), r));
    else
        waiting_.remove(r);
    r->status = st;
    r->stop_reason = std::move(stop_reason);
    return finish(r);
}

int32_t scheduler::abort_requests(std::span<const std::string> req_ids) {
    int32_t n = 0;
    for (const auto& id : req_ids) n += abort_request(id) ? 1 : 0;
    return n;
}

scheduler_stats scheduler::stats() const {
    scheduler_stats s;
    s.num_running = num_running();
    s.num_waiting = num_waiting();
    s.kv_cache_usage = kv_.usage();
    s.prefix_cache = kv_.stats();
    s.num_preemptions = num_preemptions_;
    s.num_prompt_tokens = num_prompt_tokens_;
    s.num_generation_tokens = num_generation_tokens_;
    s.num_waiting_for_remote_kvs = num_waiting_for_remote_kvs();
    if (connector_) s.kv_connector = connector_->stats();
    s.encoder_cache_queries = encoder_.num_queries();
    s.encoder_cache_hits = encoder_.num_hits();
    s.spec_decode = spec_stats_;
    return s;
}

const request* scheduler::find(const std::string& req_id) const {
    auto it = requests_.find(req_id);
    return it == requests_.end() ? nullptr : it->second.get();
}

std::vector<std::string> scheduler::live_request_ids() const {
    std::vector<std::string> ids;
    for (const auto& [id, r] : requests_)
        if (!is_finished(r->status)) ids.push_back(id);
    return ids;
}

}  // namespace actorlm::core
