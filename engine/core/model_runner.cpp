// model_runner implementation: apply deltas, build the batch (cached requests
// first, then new ones, as scheduler_output orders them), forward, then sample
// the rows that end a prompt or decode and compute prompt logprobs rows. A row with
// drafts gets one logits row per draft plus one, verified by the rejection sampler.
#include "core/model_runner.hpp"

#include <algorithm>
#include <cmath>

#include "core/batch_builder.hpp"
#include "core/logprobs.hpp"
#include "core/rejection_sampler.hpp"

namespace actorlm::core {

model_runner::model_runner(model_executor& exec, uint64_t seed) : exec_(exec), sampler_(seed) {}

namespace {

void write_tokens(std::vector<int32_t>& dst, int32_t from, std::span<const int32_t> toks) {
    const auto end = static_cast<size_t>(from) + toks.size();
    if (dst.size() < end) dst.resize(end);
    std::copy(toks.begin(), toks.end(), dst.begin() + from);
}

}  // namespace

void model_runner::remember_sampled(state& st, int32_t position, int32_t token) {
    const auto pos = static_cast<size_t>(position);
    if (st.token_ids.size() <= pos) st.token_ids.resize(pos + 1, k_placeholder_token);
    st.token_ids[pos] = token;
}

status model_runner::apply(const scheduler_output& so) {
    if (!plugin_lps_) {
        auto lps = plugins::plugin_logits_processors::create(exec_.config().vocab_size);
        if (!lps) return lps.err();
        plugin_lps_ = std::move(*lps);
        sampler_.set_plugin_processors(plugin_lps_.get());
    }
    for (const auto& id : so.finished_req_ids) {
        auto it = requests_.find(id);
        if (it == requests_.end()) continue;
        plugin_lps_->remove_request(id);
        if (store_ && !it->second.mm_features.empty()) store_->release(id);
        requests_.erase(it);
    }
    for (const auto& n : so.scheduled_new_reqs) {
        state st;
        st.token_ids = n.prompt_token_ids;
        st.num_prompt_tokens = static_cast<int32_t>(n.prompt_token_ids.size());
        st.token_ids.insert(st.token_ids.end(), n.output_token_ids.begin(),
                            n.output_token_ids.end());  // a resumed request's earlier outputs
        st.params = n.params;
        st.eos_token_ids = n.eos_token_ids;
        st.block_ids = n.block_ids;
        st.mm_features = n.mm_features;
        if (!n.params.pooling)
            st.plugin_slot = plugin_lps_->add_request(n.req_id, n.params, n.prompt_token_ids);
        if (n.params.structured_output.active()) {
            // The scheduler validated the spec, so a failure here means this worker has
            // no vocabulary; the sequence then may only stop.
            std::shared_ptr<const structured::compiled_grammar> g;
            if (grammars_)
                if (auto c = grammars_->compile(n.params.structured_output); c.ok()) g = c.value();
            std::vector<int32_t> stops = n.eos_token_ids;
            stops.insert(stops.end(), n.params.stop_token_ids.begin(),
                         n.params.stop_token_ids.end());
            const structured_output_params& so_params = n.params.structured_output;
            st.grammar = std::make_unique<structured::sequence_grammar>(
                std::move(g), std::move(stops), so_params.reasoning_start,
                so_params.reasoning_end, n.prompt_token_ids);
        }
        requests_[n.req_id] = std::move(st);
    }
    for (const auto& c : so.scheduled_cached_reqs) {
        auto it = requests_.find(c.req_id);
        if (it == requests_.end())
            return make_error("model_runner: cached request '%s' was never sent as new",
                              c.req_id.c_str());
        state& st = it->second;
        // Placeholders (async scheduling: tokens the scheduler has not received yet) are
        // the tokens this runner sampled at those positions.
        // (Copied only then: a lockstep step sends every token.)
        std::span<const int32_t> toks = c.new_token_ids;
        std::vector<int32_t> filled;
        if (std::find(toks.begin(), toks.end(), k_placeholder_token) != toks.end()) {
            filled.assign(toks.begin(), toks.end());
            for (size_t j = 0; j < filled.size(); ++j) {
                if (filled[j] != k_placeholder_token) continue;
                const size_t pos = static_cast<size_t>(c.num_computed_tokens) + j;
                if (pos >= st.token_ids.size() || st.token_ids[pos] == k_placeholder_token)
                    return make_error("model_runner: request '%s' has a placeholder at "
                                      "position %zu where it sampled no token",
                                      c.req_id.c_str(), pos);
                filled[j] = st.token_ids[pos];
            }
            toks = filled;
        }
        // Tokens beyond the scheduled ones are stale after a preemption; drop them.
        st.token_ids.resize(
            static_cast<size_t>(std::max(st.num_prompt_tokens, c.num_computed_tokens)));
        write_tokens(st.token_ids, c.num_computed_tokens, toks);
        if (c.resumed_from_preemption)
            st.block_ids = c.new_block_ids;
        else
            st.block_ids.insert(st.block_ids.end(), c.new_block_ids.begin(), c.new_block_ids.end());
    }
    return status::success();
}

status model_runner::run_encoders(const scheduler_output& so) {
    for (const auto& hash : so.free_encoder_mm_hashes) encoder_outputs_.erase(hash);
    for (const auto& [req_id, inputs] : so.scheduled_encoder_inputs) {
        auto it = requests_.find(req_id);
        if (it == requests_.end())
            return make_error("model_runner: encoder inputs for unknown request '%s'",
                              req_id.c_str());
        for (int32_t i : inputs) {
            const auto& features = it->second.mm_features;
            if (i < 0 || static_cast<size_t>(i) >= features.size())
                return make_error("model_runner: request '%s' has no multimodal input %d",
                                  req_id.c_str(), i);
            const mm_feature& f = features[static_cast<size_t>(i)];
            if (encoder_outputs_.count(f.mm_hash)) continue;  // another request's, this step
            if (store_) {
                if (auto found = store_->find(f.mm_hash, req_id)) {
                    encoder_outputs_.emplace(f.mm_hash, std::move(found));
                    ++num_store_hits_;
                    continue;
                }
            }
            if (!encoder_)
                return make_error("this worker has no image encoder (the model is not a "
                                  "vision-language model)");
            if (!f.data)
                return make_error("image input %s reached the worker without its pixel values "
                                  "(images are encoded by a worker in the engine's process)",
                                  f.mm_hash.c_str());
            auto out = encoder_->encode(*f.data);
            if (!out) return make_error("image encoder: %s", out.message().c_str());
            if (store_) store_->put(f.mm_hash, req_id, **out);
            encoder_outputs_.emplace(f.mm_hash, std::move(out).value());
        }
    }
    return status::success();
}

status model_runner::gather_embeddings(const state& st, int32_t nc, int32_t n,
                                       int32_t first_index, forward_batch& batch) const {
    const int64_t hidden = exec_.config().hidden_size;
    for (const mm_feature& f : st.mm_features) {
        const int32_t begin = std::max(nc, f.offset);
        const int32_t end = std::min(nc + n, f.end());
        if (begin >= end) continue;
        auto it = encoder_outputs_.find(f.mm_hash);
        if (it == encoder_outputs_.end())
            return make_error("model_runner: the encoder output of %s is not held when its "
                              "placeholders run",
                              f.mm_hash.c_str());
        const multimodal::vision_features& out = *it->second;
        if (out.dim != hidden)
            return make_error("image features are %lld wide but the language model's hidden "
                              "size is %lld",
                              static_cast<long long>(out.dim), static_cast<long long>(hidden));
        // Without its input (a hash-only feature) every position takes a row.
        static const std::vector<bool> k_all_positions;
        const std::vector<bool>& is_embed = f.data ? f.data->is_embed : k_all_positions;
        // The row of position p is the number of embedding positions before it in the range.
        int64_t row = 0;
        if (!is_embed.empty())
            for (int32_t p = f.offset; p < begin; ++p) row += is_embed[static_cast<size_t>(p - f.offset)];
        else
            row = begin - f.offset;
        for (int32_t p = begin; p < end; ++p) {
            if (!is_embed.empty() && !is_embed[static_cast<size_t>(p - f.offset)]) continue;
            if ((row + 1) * out.dim > static_cast<int64_t>(out.data.size()))
                return make_error("image %s has fewer feature rows than embedding positions",
                                  f.mm_hash.c_str());
            batch.embedding_overrides.push_back(forward_batch::embedding_row{
                first_index + (p - nc), out.data.data() + row * out.dim});
            ++row;
        }
    }
    return status::success();
}

std::vector<float> model_runner::pool_rows(state& st, const float* rows, int32_t nc, int32_t n,
                                           bool final_chunk) const {
    const auto h = static_cast<size_t>(exec_.config().hidden_size);
    const pooling_params& pooling = *st.params.pooling;
    // A prefill that starts at position 0 again (preempted, recomputed) starts over.
    if (nc == 0 || st.pooled.size() != h) st.pooled.assign(h, 0.0);
    if (pooling.type == pooling_params::kind::last) {
        if (n == 1) st.pooled.assign(rows, rows + h);
    } else {
        for (int32_t i = 0; i < n; ++i)
            for (size_t j = 0; j < h; ++j) st.pooled[j] += rows[static_cast<size_t>(i) * h + j];
    }
    if (!final_chunk) return {};
    std::vector<float> out(h);
    const double scale =
        pooling.type == pooling_params::kind::mean ? 1.0 / st.num_prompt_tokens : 1.0;
    double norm2 = 0.0;
    for (size_t j = 0; j < h; ++j) norm2 += st.pooled[j] * st.pooled[j] * scale * scale;
    // vLLM's normalize: x / max(||x||, eps), so a zero vector stays zero.
    const double norm = pooling.normalize ? std::max(std::sqrt(norm2), 1e-12) : 1.0;
    for (size_t j = 0; j < h; ++j) out[j] = static_cast<float>(st.pooled[j] * scale / norm);
    st.pooled.clear();
    return out;
}

result<model_runner_output> model_runner::execute(const scheduler_output& so) {
    auto r = execute_stage(so, nullptr);
    if (!r) return r.err();
    return std::move(r->output);
}

result<model_runner::stage_output> model_runner::execute_stage(const scheduler_output& so,
                                                               const float* hidden_in) {
    if (auto st = apply(so); !st) return st.err();
    if (hidden_in == nullptr && (!so.scheduled_encoder_inputs.empty() ||
                                 !so.free_encoder_mm_hashes.empty()))
        ACTORLM_TRY(run_encoders(so));
    if (!connector_) return run_stage(so, hidden_in);
    const int64_t num_layers = exec_.kv_blocks() ? exec_.kv_blocks()->num_kv_layers() : 0;
    connector_->bind_connector_metadata(so.kv_connector_metadata);
    connector_->start_load_kv();
    for (int64_t l = 0; l < num_layers; ++l) connector_->wait_for_layer_load(l);
    auto r = run_stage(so, hidden_in);
    if (r) {
        for (int64_t l = 0; l < num_layers; ++l) connector_->save_kv_layer(l);
        connector_->wait_for_save();
        r->output.kv_connector_output = connector_->get_finished(so.finished_req_ids);
    }
    connector_->clear_connector_metadata();
    return r;
}

result<model_runner::stage_output> model_runner::run_stage(const scheduler_output& so,
                                                           const float* hidden_in) {
    stage_output result_out;
    model_runner_output& out = result_out.output;
    const int32_t block_size = exec_.kv_spec().block_size;
    const int64_t vocab = exec_.config().vocab_size;

    std::vector<const state*> states;
    std::vector<batch_row> rows;
    const bool mrope_model = !exec_.config().mrope_section.empty();
    std::vector<int32_t> row_drafts;  // drafts per row (speculative decoding)
    auto add_row = [&](const std::string& id, int32_t nc, int32_t n, bool sample) -> status {
        state& st = requests_.at(id);
        if (mrope_model && !st.mm_features.empty() && !st.mrope) {
            auto positions = compute_mrope_positions(st.num_prompt_tokens, st.mm_features);
            if (!positions) return positions.err();
            st.mrope = std::move(positions).value();
        }
        int32_t num_drafts = 0;
        if (auto d = so.scheduled_spec_decode_tokens.find(id);
            d != so.scheduled_spec_decode_tokens.end()) {
            num_drafts = static_cast<int32_t>(d->second.size());
            // The drafts are the last scheduled tokens; the state holds them from new_token_ids.
            if (!sample || num_drafts >= n ||
                !std::equal(d->second.begin(), d->second.end(),
                            st.token_ids.begin() + (nc + n - num_drafts)))
                return make_error("model_runner: request '%s' has %d drafts that are not the "
                                  "last of its %d scheduled tokens",
                                  id.c_str(), num_drafts, n);
        }
        states.push_back(&st);
        row_drafts.push_back(num_drafts);
        // A pooling request needs hidden states, never logits: its prompt's end samples nothing.
        const bool pooling = st.params.pooling.has_value();
        rows.push_back(batch_row{st.token_ids, st.block_ids, nc, n, st.num_prompt_tokens,
                                 sample && !pooling,
                                 st.params.prompt_logprobs >= 0 && nc < st.num_prompt_tokens,
                                 st.mrope ? &*st.mrope : nullptr, num_drafts});
        out.req_ids.push_back(id);
        return status::success();
    };
    for (const auto& c : so.scheduled_cached_reqs)
        ACTORLM_TRY(
            add_row(c.req_id, c.num_computed_tokens, c.num_scheduled_tokens, c.will_sample));
    for (const auto& n : so.scheduled_new_reqs)
        ACTORLM_TRY(
            add_row(n.req_id, n.num_computed_tokens, n.num_scheduled_tokens, n.will_sample));
    out.sampled_token_ids.resize(rows.size());
    if (rows.empty()) return result_out;

    built_batch bb = build_forward_batch(rows, block_size, exec_.kv_spec().num_kv_groups);
    if (hidden_in == nullptr) {
        for (size_t r = 0; r < rows.size(); ++r)
            if (!states[r]->mm_features.empty())
                ACTORLM_TRY(gather_embeddings(*states[r], rows[r].num_computed_tokens,
                                              rows[r].num_scheduled_tokens,
                                              bb.batch.query_start_loc[r], bb.batch));
    }
    // The token indices whose hidden states each pooling row needs (hidden_rows[r]: the
    // first of its entries in batch.hidden_indices and how many), all of a MEAN chunk's,
    // the prompt's first for CLS, the prompt's last for LAST.
    std::vector<std::pair<int32_t, int32_t>> hidden_rows(rows.size(), {0, 0});
    bool any_pooling = false;
    for (size_t r = 0; r < rows.size(); ++r) {
        const auto& pooling = states[r]->params.pooling;
        if (!pooling) continue;
        any_pooling = true;
        const int32_t first = bb.batch.query_start_loc[r];
        const int32_t n = rows[r].num_scheduled_tokens;
        const bool last_chunk = rows[r].num_computed_tokens + n >= states[r]->num_prompt_tokens;
        int32_t begin = first, count = 0;
        switch (pooling->type) {
            case pooling_params::kind::last:
                begin = first + n - 1;
                count = last_chunk ? 1 : 0;
                break;
            case pooling_params::kind::mean: count = n; break;
            case pooling_params::kind::cls: count = rows[r].num_computed_tokens == 0 ? 1 : 0; break;
        }
        hidden_rows[r] = {static_cast<int32_t>(bb.batch.hidden_indices.size()), count};
        for (int32_t i = 0; i < count; ++i) bb.batch.hidden_indices.push_back(begin + i);
    }
    if (!exec_.is_last_stage()) {
        if (auto st = exec_.forward_stage(bb.batch, hidden_in, &result_out.hidden, nullptr); !st)
            return make_error("forward pass failed: %s", st.message().c_str());
        return result_out;
    }
    if (auto st = exec_.forward_stage_with_hidden(bb.batch, hidden_in, nullptr, &logits_,
                                                  &normed_hidden_);
        !st)
        return make_error("forward pass failed: %s", st.message().c_str());
    // Every pooling row, even one that needs no rows this step: a CLS prompt's last chunk
    // reads nothing but finishes the vector its first chunk read.
    if (any_pooling) {
        const auto h = static_cast<size_t>(exec_.config().hidden_size);
        if (normed_hidden_.size() < bb.batch.hidden_indices.size() * h)
            return make_error("forward pass returned %zu hidden floats for %zu rows of %zu",
                              normed_hidden_.size(), bb.batch.hidden_indices.size(), h);
        for (size_t r = 0; r < rows.size(); ++r) {
            if (!states[r]->params.pooling) continue;
            state& st = requests_.at(out.req_ids[r]);
            const int32_t nc = rows[r].num_computed_tokens, n = rows[r].num_scheduled_tokens;
            auto pooled = pool_rows(st, normed_hidden_.data() + hidden_rows[r].first * h, nc,
                                    hidden_rows[r].second, nc + n >= st.num_prompt_tokens);
            if (pooled.empty()) continue;
            out.pooler_output.resize(rows.size());
            out.pooler_output[r] = std::move(pooled);
        }
    }
    const auto v = static_cast<size_t>(vocab);
    if (logits_.size() < bb.uses.size() * v)
        return make_error("forward pass returned %zu logits for %zu rows of vocabulary %lld",
                          logits_.size(), bb.uses.size(), static_cast<long long>(vocab));

    // Prompt logprobs rows (from raw logits, before the sampler edits rows in place).
    bool any_prompt_lp = false;
    for (size_t u = 0; u < bb.uses.size(); ++u) {
        const logits_use& use = bb.uses[u];
        if (use.sample) continue;
        if (!any_prompt_lp) out.prompt_logprobs.resize(rows.size());
        any_prompt_lp = true;
        const state& st = *states[static_cast<size_t>(use.row)];
        auto& dst = out.prompt_logprobs[static_cast<size_t>(use.row)];
        if (dst.empty() && rows[static_cast<size_t>(use.row)].num_computed_tokens == 0)
            dst.push_back(std::nullopt);  // the first prompt token has no logprob
        log_softmax(std::span<const float>(logits_).subspan(u * v, v), logprobs_scratch_);
        dst.push_back(gather_logprobs(logprobs_scratch_,
                                      st.token_ids[static_cast<size_t>(use.position + 1)],
                                      st.params.prompt_logprobs));
    }

    // Sample rows: gather them contiguously (unless every row samples, the usual case).
    const bool all_sample = !any_prompt_lp;
    std::vector<sampling_row> srows;
    std::vector<int32_t> srow_req;
    std::vector<float> slogits;
    for (size_t u = 0; u < bb.uses.size(); ++u) {
        const logits_use& use = bb.uses[u];
        if (!use.sample) continue;
        const state& st = *states[static_cast<size_t>(use.row)];
        const auto seq_len = static_cast<size_t>(use.position + 1);
        std::span<const int32_t> all(st.token_ids.data(), seq_len);
        const auto outputs = all.subspan(static_cast<size_t>(st.num_prompt_tokens));
        srows.push_back(sampling_row{
            &st.params, all.first(static_cast<size_t>(st.num_prompt_tokens)), outputs,
            st.eos_token_ids,
            st.grammar ? st.grammar->next_token_mask(outputs) : std::span<const uint32_t>(),
            st.plugin_slot});
        srow_req.push_back(use.row);
        if (!all_sample)
            slogits.insert(slogits.end(), logits_.begin() + static_cast<std::ptrdiff_t>(u * v),
                           logits_.begin() + static_cast<std::ptrdiff_t>((u + 1) * v));
    }
    const std::span<float> sample_logits =
        all_sample ? std::span<float>(logits_) : std::span<float>(slogits);
    bool any_lp = false;
    auto emit = [&](size_t r, sample_result& res) {
        out.sampled_token_ids[r].push_back(res.token_id);
        if (res.logprobs) {
            if (!any_lp) out.logprobs.resize(rows.size());
            any_lp = true;
            out.logprobs[r].push_back(std::move(*res.logprobs));
        }
    };
    const bool any_drafts =
        std::any_of(row_drafts.begin(), row_drafts.end(), [](int32_t d) { return d > 0; });
    if (!any_drafts) {
        auto sampled = sampler_.sample(sample_logits, vocab, srows);
        for (size_t k = 0; k < sampled.size(); ++k) {
            const auto r = static_cast<size_t>(srow_req[k]);
            emit(r, sampled[k]);
            // With async scheduling the next step is scheduled before this token reaches
            // the scheduler: its position there is a placeholder that apply() fills from
            // here. (In lockstep the scheduler sends the same token back.)
            remember_sampled(requests_.at(out.req_ids[r]),
                             rows[r].num_computed_tokens + rows[r].num_scheduled_tokens,
                             sampled[k].token_id);
        }
        return result_out;
    }
    // A row's sampling rows are consecutive: drafts + 1 of them, in position order.
    for (size_t k = 0; k < srows.size();) {
        const auto r = static_cast<size_t>(srow_req[k]);
        const auto num = static_cast<size_t>(row_drafts[r]) + 1;
        std::span<float> l = sample_logits.subspan(k * v, num * v);
        std::span<const sampling_row> sr = std::span<const sampling_row>(srows).subspan(k, num);
        std::vector<sample_result> sampled;
        if (num == 1) {
            sampled = sampler_.sample(l, vocab, sr);
        } else {
            const std::vector<int32_t>& drafts = so.scheduled_spec_decode_tokens.at(out.req_ids[r]);
            sampled = rejection_sample(sampler_, l, vocab, sr, drafts);
        }
        for (auto& res : sampled) emit(r, res);
        k += num;
    }
    return result_out;
}

}  // namespace actorlm::core
