// scripted_backend: a deterministic stand-in for the engine used by the net
// tests, so the HTTP/SSE layer can be exercised without a model. It runs its own
// worker thread (deltas arrive off the I/O threads, as from the real engine),
// emits one token per step per sequence, honours max_tokens, n, stop strings,
// logprobs and abort, fails prompts containing "TOO_LONG" the way the engine
// reports a prompt over max_model_len, and "ENGINE_FAIL" like a lost worker.
// Tokenizer: BOS (id 1), then one token per byte; a first message "TEMPLATE_FAIL"
// fails to render, like a template that raises. set_script() replaces the " w<j>"
// tokens with given token texts, ending with finish_reason stop (an EOS) after the last,
// so parser tests can script a model's exact output token by token.
#pragma once

#include <actorlm/engine.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <list>
#include <mutex>
#include <thread>

#include "net/inference_backend.hpp"

namespace actorlm::test {

class scripted_backend final : public net::inference_backend {
public:
    /// `step` is the time between tokens.
    explicit scripted_backend(std::chrono::microseconds step = std::chrono::microseconds(200))
        : step_(step), worker_([this] { loop(); }) {}

    ~scripted_backend() override {
        {
            std::lock_guard lock(mu_);
            stop_ = true;
        }
        cv_.notify_all();
        worker_.join();
    }

    /// Token j of sequence s: " w<j+s>" — greedy-like and deterministic.
    static std::string token_text(int32_t j, int32_t s) { return " w" + std::to_string(j + s); }

    std::string generate(generate_request req, delta_fn on_delta) override {
        std::lock_guard lock(mu_);
        active a;
        a.id = req.request_id.empty() ? "req-" + std::to_string(next_id_++) : req.request_id;
        if (!req.messages.empty()) req.prompt = render(req.messages, req.add_generation_prompt);
        a.num_prompt_tokens = static_cast<int32_t>(
            req.prompt_token_ids.empty() ? req.prompt.size() : req.prompt_token_ids.size());
        last_prompt_ = req.prompt;
        a.fail = req.prompt.find("TOO_LONG") != std::string::npos;
        a.engine_fail = req.prompt.find("ENGINE_FAIL") != std::string::npos;
        last_request_ = req;
        a.req = std::move(req);
        a.script = script_;
        a.on_delta = std::move(on_delta);
        a.seqs.resize(static_cast<size_t>(std::max(1, a.req.params.n)));
        prompt_tokens_total_ += a.num_prompt_tokens;
        const std::string id = a.id;
        active_.push_back(std::move(a));
        max_active_ = std::max(max_active_, active_.size());
        cv_.notify_all();
        return id;
    }

    void abort(const std::string& request_id) override {
        std::lock_guard lock(mu_);
        for (auto& a : active_)
            if (a.id == request_id) a.aborted = true;
        ++num_aborts_;
    }

    engine_stats stats() const override {
        std::lock_guard lock(mu_);
        engine_stats s;
        s.num_requests_running = static_cast<int64_t>(active_.size());
        s.prompt_tokens_total = prompt_tokens_total_;
        s.generation_tokens_total = generation_tokens_total_;
        s.healthy = healthy;
        s.health_message = healthy ? "" : "scripted failure";
        return s;
    }

    /// Like the engine: refused while any request is active.
    bool reset_prefix_cache(std::string* error) override {
        std::lock_guard lock(mu_);
        if (!active_.empty()) {
            *error = std::to_string(active_.size()) + " requests hold KV blocks";
            return false;
        }
        ++num_resets_;
        return true;
    }

    model_info info() const override { return {"scripted", 4096, 256}; }

    /// BOS (id 1) per add_special_tokens (default: yes for a prompt, no for messages),
    /// then one id per byte of the prompt or of the rendered messages.
    bool tokenize_prompt(const generate_request& req, std::vector<int32_t>* ids,
                         std::string* error) const override {
        if (!req.prompt_token_ids.empty()) {
            *ids = req.prompt_token_ids;
            return true;
        }
        const bool chat = !req.messages.empty();
        if (chat && req.messages.front().content == "TEMPLATE_FAIL") {
            *error = "the template rejected the messages";
            return false;
        }
        const std::string text =
            chat ? render(req.messages, req.add_generation_prompt) : req.prompt;
        ids->clear();
        if (req.add_special_tokens.value_or(!chat)) ids->push_back(1);
        for (unsigned char c : text) ids->push_back(c);
        return true;
    }

    bool detokenize(const std::vector<int32_t>& ids, std::string* text,
                    std::string* error) const override {
        text->clear();
        for (int32_t id : ids) {
            if (id < 0 || id > 255) {
                *error = "token id " + std::to_string(id) + " out of range";
                return false;
            }
            text->push_back(static_cast<char>(id));
        }
        return true;
    }

    /// A scripted router's membership: members are kept as given (an address without
    /// ':' is refused as unreachable, a second add of an address as a duplicate).
    std::vector<cluster_member_info> cluster_members() const override {
        std::lock_guard lock(members_mu_);
        return members_;
    }
    bool add_cluster_member(const std::string& address, const std::string& role,
                            std::string* error) override {
        std::lock_guard lock(members_mu_);
        if (address.find(':') == std::string::npos) {
            *error = "cannot reach cluster member " + address;
            return false;
        }
        for (const auto& m : members_)
            if (m.address == address) {
                *error = "cluster member " + address + " is a member already";
                return false;
            }
        members_.push_back({address, role, true, true, 0, 0});
        return true;
    }
    bool remove_cluster_member(const std::string& address, std::string* error) override {
        std::lock_guard lock(members_mu_);
        for (auto it = members_.begin(); it != members_.end(); ++it)
            if (it->address == address) {
                members_.erase(it);
                return true;
            }
        *error = "no cluster member " + address;
        return false;
    }

    /// A scripted migration: both members must be listed; it moves nothing.
    int32_t migrate_requests(const std::string& from, const std::string& to,
                             const std::string& request_id, std::string* error) override {
        (void)request_id;
        std::lock_guard lock(members_mu_);
        for (const auto& who : {from, to}) {
            bool known = false;
            for (const auto& m : members_) known = known || m.address == who;
            if (!known) {
                *error = "no cluster member " + who;
                return -1;
            }
        }
        return 0;
    }

    /// The scripted chat template: "<|role|>content\n" per message, then "<|assistant|>".
    static std::string render(const std::vector<chat_message>& messages,
                              bool add_generation_prompt) {
        std::string prompt;
        for (const auto& m : messages) prompt += "<|" + m.role + "|>" + m.content + "\n";
        if (add_generation_prompt) prompt += "<|assistant|>";
        return prompt;
    }

    int64_t num_aborts() const {
        std::lock_guard lock(mu_);
        return num_aborts_;
    }
    /// The last request's prompt text (a chat request's rendered messages).
    std::string last_prompt() const {
        std::lock_guard lock(mu_);
        return last_prompt_;
    }
    int64_t num_resets() const {
        std::lock_guard lock(mu_);
        return num_resets_;
    }
    /// The most requests that were in flight at once.
    size_t max_active() const {
        std::lock_guard lock(mu_);
        return max_active_;
    }
    size_t num_active() const {
        std::lock_guard lock(mu_);
        return active_.size();
    }

    /// Every sequence of later requests emits these token texts, then stops (EOS).
    void set_script(std::vector<std::string> tokens) {
        std::lock_guard lock(mu_);
        script_ = std::move(tokens);
    }
    /// The last request submitted (what the router made of the body).
    generate_request last_request() const {
        std::lock_guard lock(mu_);
        return last_request_;
    }

    std::atomic<bool> healthy{true};

private:
    mutable std::mutex members_mu_;
    std::vector<cluster_member_info> members_;
    struct sequence {
        int32_t emitted = 0;
        std::string text;
        bool done = false;
    };
    struct active {
        std::string id;
        generate_request req;
        delta_fn on_delta;
        std::vector<sequence> seqs;
        int32_t num_prompt_tokens = 0;
        bool fail = false;
        bool engine_fail = false;  // a server-side failure before any output
        bool aborted = false;
        std::vector<std::string> script;  // set_script's tokens when it was submitted
    };

    // One step: every unfinished sequence of every request emits one token.
    void loop() {
        std::unique_lock lock(mu_);
        while (!stop_) {
            if (active_.empty()) {
                cv_.wait(lock, [this] { return stop_ || !active_.empty(); });
                continue;
            }
            std::vector<std::pair<delta_fn, output_delta>> out;
            for (auto it = active_.begin(); it != active_.end();) {
                step(*it, out);
                bool all_done = true;
                for (const auto& s : it->seqs) all_done = all_done && s.done;
                it = all_done ? active_.erase(it) : std::next(it);
            }
            lock.unlock();
            for (auto& [fn, d] : out) fn(d);  // outside the lock, like an engine thread
            std::this_thread::sleep_for(step_);
            lock.lock();
        }
    }

    void step(active& a, std::vector<std::pair<delta_fn, output_delta>>& out) {
        const sampling_params& p = a.req.params;
        const int32_t max_tokens = p.max_tokens < 0 ? 8 : p.max_tokens;
        for (size_t s = 0; s < a.seqs.size(); ++s) {
            sequence& seq = a.seqs[s];
            if (seq.done) continue;
            output_delta d;
            d.request_id = a.id;
            d.index = static_cast<int32_t>(s);
            d.num_prompt_tokens = a.num_prompt_tokens;
            if (a.fail) {
                d.finish = finish_reason::error;
                d.error_kind = error_kind::invalid_argument;
                d.error = "prompt of " + std::to_string(a.num_prompt_tokens) +
                          " tokens exceeds max_model_len";
                seq.done = true;
                out.emplace_back(a.on_delta, std::move(d));
                continue;
            }
            if (a.engine_fail) {
                d.finish = finish_reason::error;
                d.error = "worker lost";
                seq.done = true;
                out.emplace_back(a.on_delta, std::move(d));
                continue;
            }
            if (a.aborted) {
                d.finish = finish_reason::abort;
                seq.done = true;
                out.emplace_back(a.on_delta, std::move(d));
                continue;
            }
            const bool scripted = !a.script.empty();
            std::string text = scripted ? a.script[static_cast<size_t>(seq.emitted)]
                                        : token_text(seq.emitted, static_cast<int32_t>(s));
            d.token_ids.push_back(100 + seq.emitted);
            if (p.logprobs >= 0) {
                token_logprob lp{
                    100 + seq.emitted, text, -0.25f * static_cast<float>(seq.emitted + 1), {}};
                for (int32_t k = 0; k < p.logprobs; ++k)
                    lp.top.push_back(
                        {k, " alt" + std::to_string(k), -1.0f - static_cast<float>(k)});
                d.logprobs.push_back(lp);
            }
            ++seq.emitted;
            ++generation_tokens_total_;
            d.num_output_tokens = seq.emitted;
            seq.text += text;
            for (const auto& stop : p.stop) {
                const size_t at = seq.text.find(stop);
                if (at == std::string::npos) continue;
                const size_t keep = at + (p.include_stop_str_in_output ? stop.size() : 0);
                const size_t already = seq.text.size() - text.size();
                text = keep > already ? seq.text.substr(already, keep - already) : "";
                d.finish = finish_reason::stop;
                d.stop_reason = stop;
                break;
            }
            d.text = text;
            if (d.finish == finish_reason::none && scripted &&
                static_cast<size_t>(seq.emitted) == a.script.size())
                d.finish = finish_reason::stop;  // the script's end is an EOS
            if (d.finish == finish_reason::none && seq.emitted >= max_tokens)
                d.finish = finish_reason::length;
            if (d.finished()) seq.done = true;
            out.emplace_back(a.on_delta, std::move(d));
        }
    }

    std::chrono::microseconds step_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::list<active> active_;
    int64_t next_id_ = 0;
    int64_t prompt_tokens_total_ = 0;
    int64_t generation_tokens_total_ = 0;
    int64_t num_aborts_ = 0;
    std::string last_prompt_;
    int64_t num_resets_ = 0;
    size_t max_active_ = 0;
    std::vector<std::string> script_;
    generate_request last_request_;
    bool stop_ = false;
    std::thread worker_;
};

}  // namespace actorlm::test
