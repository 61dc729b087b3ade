// The public actorlm::engine and request_stream (include/actorlm/engine.hpp):
// a pimpl over an engine_service (an engine_runtime, or a cluster_router when the
// config names cluster members), so embedders never see CAF. request_stream is a
// blocking queue the delta callback fills.
#include <condition_variable>
#include <deque>
#include <mutex>

#include "actorlm/engine.hpp"
#include "actors/cluster_router.hpp"
#include "actors/engine_runtime.hpp"
#include "core/prompt_builder.hpp"

namespace actorlm {

struct engine::impl {
    // Shared so that streams can hold a weak reference: aborting a stream whose
    // engine is gone is a no-op, not a use-after-free.
    std::shared_ptr<actors::engine_service> rt;
};

struct request_stream::state {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<output_delta> queue;
    int32_t remaining = 1;  // sequences still running
    std::string request_id;
    std::function<void()> abort_fn;
};

std::unique_ptr<engine> engine::create(const engine_config& cfg, std::string* error) {
    std::string err;
    std::unique_ptr<actors::engine_service> rt;
    if (cfg.cluster_members.empty() && cfg.prefill_members.empty() && cfg.decode_members.empty())
        rt = actors::engine_runtime::create(cfg, &err);
    else
        rt = actors::cluster_router::create(cfg, &err);
    if (!rt) {
        if (error) *error = err;
        return nullptr;
    }
    auto p = std::make_unique<impl>();
    p->rt = std::move(rt);
    return std::unique_ptr<engine>(new engine(std::move(p)));
}

engine::engine(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
engine::~engine() = default;

std::string engine::generate(generate_request req, std::function<void(const output_delta&)> cb) {
    return impl_->rt->submit(std::move(req), std::move(cb));
}

request_stream engine::generate(generate_request req) {
    request_stream stream;
    auto st = std::make_shared<request_stream::state>();
    st->remaining = std::max(req.params.n, 1);
    stream.state_ = st;
    // The callback holds the state alive until the last delta; the stream may go first.
    std::string id = impl_->rt->submit(std::move(req), [st](const output_delta& d) {
        {
            std::lock_guard<std::mutex> lock(st->mu);
            st->queue.push_back(d);
        }
        st->cv.notify_all();
    });
    st->request_id = id;
    std::weak_ptr<actors::engine_service> rt = impl_->rt;
    st->abort_fn = [rt, id] {
        if (auto alive = rt.lock()) alive->abort(id);
    };
    return stream;
}

void engine::abort(const std::string& request_id) { impl_->rt->abort(request_id); }

engine_stats engine::stats() const { return impl_->rt->stats(); }

bool engine::reset_prefix_cache(std::string* error) { return impl_->rt->reset_prefix_cache(error); }

std::vector<cluster_member_info> engine::cluster_members() const {
    return impl_->rt->cluster_members();
}

bool engine::add_cluster_member(const std::string& address, const std::string& role,
                                std::string* error) {
    return impl_->rt->add_cluster_member(address, role, error);
}

bool engine::remove_cluster_member(const std::string& address, std::string* error) {
    return impl_->rt->remove_cluster_member(address, error);
}

int32_t engine::migrate_requests(const std::string& from, const std::string& to,
                                 const std::string& request_id, std::string* error) {
    return impl_->rt->migrate_requests(from, to, request_id, error);
}
model_info engine::info() const { return impl_->rt->info(); }

bool engine::tokenize(const std::string& text, bool add_special, std::vector<int32_t>* ids,
                      std::string* error) const {
    (void)error;
    *ids = impl_->rt->tok().encode(text, add_special, /*parse_special=*/true);
    return true;
}

namespace {

// The same function the tokenizer actor runs on submission, so /tokenize, the server's
// context check and the prompt a generation runs cannot drift apart.
result<core::prompt_inputs> build_engine_prompt(const actors::engine_service& rt,
                                                const generate_request& req,
                                                bool for_generation) {
    const chat_template* chat = rt.chat();
    if (chat == nullptr && !req.messages.empty() && req.prompt_token_ids.empty() &&
        !rt.chat_error().empty())
        return make_error("the model's chat template does not parse: %s",
                          rt.chat_error().c_str());
    return core::build_prompt(req, rt.tok(), chat, rt.images(), for_generation);
}

}  // namespace

bool engine::tokenize_prompt(const generate_request& req, std::vector<int32_t>* ids,
                             std::string* error) const {
    auto prompt = build_engine_prompt(*impl_->rt, req, /*for_generation=*/false);
    if (!prompt) {
        if (error) *error = prompt.message();
        return false;
    }
    *ids = std::move(prompt->token_ids);
    return true;
}

bool engine::prepare_prompt(generate_request& req, std::string* error) const {
    req.prepared.reset();  // built from this request as it is now, not an earlier version
    auto prompt = build_engine_prompt(*impl_->rt, req, /*for_generation=*/true);
    if (!prompt) {
        if (error) *error = prompt.message();
        return false;
    }
    req.prompt_token_ids = prompt->token_ids;
    auto prepared = std::make_shared<prepared_prompt>();
    prepared->inputs = std::move(prompt).value();
    prepared->tok = &impl_->rt->tok();
    prepared->images = impl_->rt->images();
    req.prepared = std::move(prepared);
    return true;
}

bool engine::detokenize(const std::vector<int32_t>& ids, std::string* text,
                        std::string* error) const {
    const tokenizer& tok = impl_->rt->tok();
    for (int32_t id : ids) {
        if (id < 0 || id >= tok.vocab_size()) {
            if (error)
                *error = "token id " + std::to_string(id) + " is outside the vocabulary (size " +
                         std::to_string(tok.vocab_size()) + ")";
            return false;
        }
    }
    *text = tok.decode(ids, /*skip_special=*/false);
    return true;
}

bool engine::apply_chat_template(const std::vector<chat_message>& messages,
                                 const std::string& tools_json, bool add_generation_prompt,
                                 std::string* prompt, std::string* error) const {
    const chat_template* chat = impl_->rt->chat();
    if (chat == nullptr) {
        if (error)
            *error = impl_->rt->chat_error().empty()
                         ? "this model has no chat template"
                         : "the model's chat template does not parse: " + impl_->rt->chat_error();
        return false;
    }
    auto text = core::render_chat_prompt(*chat, impl_->rt->tok(), messages, tools_json,
                                         add_generation_prompt);
    if (!text) {
        if (error) *error = text.message();
        return false;
    }
    *prompt = std::move(text.value());
    return true;
}

// -- request_stream ----------------------------------------------------------------

request_stream::request_stream() = default;
request_stream::~request_stream() = default;
request_stream::request_stream(request_stream&&) noexcept = default;
request_stream& request_stream::operator=(request_stream&&) noexcept = default;

const std::string& request_stream::request_id() const {
    static const std::string empty;
    return state_ ? state_->request_id : empty;
}

bool request_stream::next(output_delta& out) {
    if (!state_) return false;
    std::unique_lock<std::mutex> lock(state_->mu);
    if (state_->remaining <= 0 && state_->queue.empty()) return false;
    state_->cv.wait(lock, [&] { return !state_->queue.empty(); });
    out = std::move(state_->queue.front());
    state_->queue.pop_front();
    if (out.finished()) --state_->remaining;
    return true;
}

void request_stream::abort() {
    if (state_ && state_->abort_fn) state_->abort_fn();
}

}  // namespace actorlm
