// llm_engine implementation: request fan-out (n), the step -> delta pipeline,
// stop strings fed back to the scheduler, and generate() to completion.
#include "core/llm_engine.hpp"

#include "core/engine_plan.hpp"
#include "core/prompt_builder.hpp"
#include "core/sampling_params_check.hpp"
#include "kv/kv_connector_registry.hpp"
#include "kv/kv_model_identity.hpp"

#include <algorithm>
#include <map>

namespace actorlm::core {

namespace {

// Built by appending: g++ 12 warns (-Wrestrict, a false positive) on "x" + std::string.
std::string join_id(const std::string& head, char sep, int64_t n) {
    std::string s = head;
    if (sep) s += sep;
    s += std::to_string(n);
    return s;
}

}  // namespace

llm_engine::llm_engine(std::unique_ptr<owned> own, const tokenizer& tok,
                       std::unique_ptr<engine_loop> loop)
    : own_(std::move(own)), tok_(tok), loop_(std::move(loop)), outputs_(tok) {}

llm_engine::~llm_engine() {
    // The loop references the executor that own_ may hold: destroy it first.
    loop_.reset();
}

result<std::unique_ptr<llm_engine>> llm_engine::create(const actorlm::engine_config& cfg,
                                                       const tokenizer& tok, model_executor& exec,
                                                       const std::string& weights_fingerprint) {
    auto sc = make_scheduler_config(cfg, exec.config(), exec.kv_spec().num_blocks,
                                    exec.kv_spec().block_size, exec.kv_spec().num_kv_groups > 1);
    if (!sc) return sc.err();
    sc->hash_root = model_root_block_hash(
        kv::make_model_identity(exec.config(), weights_fingerprint, exec.kv_spec(), tok));
    kv::kv_connector_pair connector;
    if (!cfg.kv_transfer_config.empty()) {
        auto kc = kv::parse_and_validate_kv_transfer_config(cfg.kv_transfer_config);
        if (!kc) return kc.err();
        kv_block_io* caches = exec.kv_blocks();
        // Without block access the context is empty and make_kv_connector says so.
        auto made = kv::make_kv_connector(
            *kc, caches ? kv::kv_connector_context_for(*caches, exec.kv_spec().block_size,
                                                       exec.config().name)
                        : kv::kv_connector_context{});
        if (!made) return made.err();
        connector = std::move(made).value();
        ACTORLM_TRY(connector.worker->register_kv_caches(*caches));
    }
    auto loop = engine_loop::create(*sc, exec, cfg.seed, std::move(connector));
    if (!loop) return loop.err();
    (*loop)->runner().set_grammar_compiler(structured::grammar_compiler::for_tokenizer(tok));
    auto eng = std::unique_ptr<llm_engine>(new llm_engine(nullptr, tok, std::move(loop).value()));
    eng->eos_ids_ = merge_eos_ids(exec.config(), tok);
    eng->pools_ = exec.returns_hidden_states();
    eng->embedding_only_ = !exec.config().recipe.causal;
    eng->model_name_ = exec.config().name;
    auto loggers = plugins::plugin_stat_loggers::create(
        cfg.served_model_name.empty() ? eng->model_name_ : cfg.served_model_name, 0);
    if (!loggers) return loggers.err();
    if (!(*loggers)->empty()) eng->stat_loggers_ = std::move(*loggers);
    return eng;
}

status llm_engine::add_request(actorlm::generate_request req) {
    if (req.request_id.empty()) req.request_id = join_id("req-", 0, next_id_++);
    const std::string& id = req.request_id;
    const bool pending =
        std::any_of(pending_.begin(), pending_.end(),
                    [&](const actorlm::output_delta& d) { return d.request_id == id; });
    if (outputs_.has_request(id) || pending)
        return make_error("request id '%s' is already in use", id.c_str());
    // The parent's params, before the fan-out gives each child n = 1 (the scheduler then
    // checks the children): n itself, and what n may be for a pooling request.
    if (auto st = validate_sampling_params(req.params, 0); !st)
        return make_error("request '%s': %s", id.c_str(), st.message().c_str());
    if (req.params.pooling && !pools_)
        return make_error("request '%s': embeddings need an executor that returns hidden "
                          "states; this one does not (use the cpu device)",
                          id.c_str());
    if (!req.params.pooling && embedding_only_)
        return make_error("request '%s': %s", id.c_str(),
                          embedding_only_generation_error(model_name_).c_str());
    if (req.prompt_token_ids.empty() && !req.messages.empty())
        return make_error(
            "request '%s': chat messages must be rendered with the chat template "
            "before they reach the engine",
            id.c_str());
    // Same prompt rules as the serving path: client text never becomes control tokens.
    auto prompt = build_prompt_tokens(req, tok_, /*chat=*/nullptr);
    if (!prompt) return make_error("request '%s': %s", id.c_str(), prompt.message().c_str());
    const parent_request parent(id, req.params);
    std::vector<std::string> added;
    for (request_spec& spec : expand_sequences(parent, req, prompt.value(), eos_ids_)) {
        std::string child = spec.req_id;
        if (auto st = loop_->add_request(std::move(spec)); !st) {
            for (const auto& c : added) loop_->abort_request(c);
            return st;
        }
        added.push_back(std::move(child));
    }
    outputs_.add_request(parent, prompt.value(), req.resume_output_token_ids);
    return status::success();
}

std::vector<actorlm::output_delta> llm_engine::step() {
    std::vector<actorlm::output_delta> deltas = std::move(pending_);
    pending_.clear();
    if (loop_->has_unfinished_requests()) {
        std::vector<request_output> outs = loop_->step();
        ++num_steps_;
        if (stat_loggers_) {
            int64_t finished = 0;
            for (const request_output& o : outs) finished += is_finished(o.status) ? 1 : 0;
            stat_loggers_->record(stats(), num_steps_, finished);
        }
        processed_outputs p = outputs_.process(std::move(outs));
        for (const auto& [child, stop] : p.stopped_by_string)
            loop_->sched().finish_request(child, request_status::finished_stopped, stop);
        for (auto& d : p.deltas) deltas.push_back(std::move(d));
    }
    return deltas;
}

bool llm_engine::abort_request(const std::string& request_id) {
    if (!outputs_.has_request(request_id)) return false;
    for (const auto& child : outputs_.running_children(request_id)) loop_->abort_request(child);
    for (auto& d : outputs_.finish_request(request_id, actorlm::finish_reason::abort))
        pending_.push_back(std::move(d));
    return true;
}

bool llm_engine::has_unfinished_requests() const {
    return loop_->has_unfinished_requests() || !pending_.empty();
}

result<std::vector<completion_result>> llm_engine::generate(
    std::vector<actorlm::generate_request> reqs) {
    std::vector<completion_result> results(reqs.size());
    std::map<std::string, size_t> slot;
    for (size_t i = 0; i < reqs.size(); ++i) {
        if (reqs[i].request_id.empty()) reqs[i].request_id = join_id("gen-", 0, next_id_++);
        const std::string id = reqs[i].request_id;
        results[i].request_id = id;
        results[i].outputs.resize(static_cast<size_t>(std::max(reqs[i].params.n, 1)));
        for (size_t k = 0; k < results[i].outputs.size(); ++k)
            results[i].outputs[k].index = static_cast<int32_t>(k);
        if (auto st = add_request(std::move(reqs[i])); !st) {
            for (const auto& [added, _] : slot) abort_request(added);
            while (has_unfinished_requests()) step();
            return st.err();
        }
        slot[id] = i;
    }
    while (has_unfinished_requests()) {
        for (auto& d : step()) {
            auto it = slot.find(d.request_id);
            if (it == slot.end()) continue;
            completion_result& r = results[it->second];
            if (!d.prompt_token_ids.empty() && r.prompt_token_ids.empty())
                r.prompt_token_ids = d.prompt_token_ids;
            if (d.index == 0)
                r.prompt_logprobs.insert(r.prompt_logprobs.end(), d.prompt_logprobs.begin(),
                                         d.prompt_logprobs.end());
            auto& seq = r.outputs[static_cast<size_t>(d.index)];
            seq.text += d.text;
            seq.token_ids.insert(seq.token_ids.end(), d.token_ids.begin(), d.token_ids.end());
            seq.logprobs.insert(seq.logprobs.end(), d.logprobs.begin(), d.logprobs.end());
            if (!d.embedding.empty()) r.embedding = d.embedding;
            if (d.finished()) {
                seq.finish = d.finish;
                seq.stop_reason = d.stop_reason;
                seq.error = d.error;
            }
        }
    }
    return results;
}

std::vector<kv::kv_event> llm_engine::take_kv_events() {
    scheduler& s = loop_->sched();
    auto events = s.take_kv_events();
    if (auto* c = s.kv_connector()) {
        auto late = c->take_events();
        events.insert(events.end(), std::make_move_iterator(late.begin()),
                      std::make_move_iterator(late.end()));
    }
    return events;
}

actorlm::engine_stats llm_engine::stats() const { return to_engine_stats(loop_->sched().stats()); }

}  // namespace actorlm::core
