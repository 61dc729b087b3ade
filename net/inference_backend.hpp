// inference_backend: the slice of actorlm::engine the HTTP layer calls
// (generate with a delta callback, abort, stats, info, prompt tokenization).
// The server is written against this interface so that its transport can be
// tested without a model; engine_backend.cpp adapts the real actorlm::engine.
// Implementations must be thread-safe; on_delta may run on any thread.
#pragma once

#include <actorlm/engine.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace actorlm::net {

class inference_backend {
public:
    using delta_fn = std::function<void(const output_delta&)>;

    virtual ~inference_backend() = default;
    /// Submits a request; `on_delta` runs on an engine thread for each delta, the last one
    /// with finished() true (also for errors and aborts). May run before this returns.
    virtual std::string generate(generate_request req, delta_fn on_delta) = 0;
    /// Aborts a request; its sequences finish with finish_reason::abort. Unknown ids are ignored.
    virtual void abort(const std::string& request_id) = 0;
    virtual engine_stats stats() const = 0;
    /// engine::reset_prefix_cache: false with *error while requests hold blocks.
    virtual bool reset_prefix_cache(std::string* error) = 0;
    virtual model_info info() const = 0;
    /// The token ids generate() would run for `req` (engine::tokenize_prompt): what
    /// /tokenize reports and what the server checks against the context before submitting.
    virtual bool tokenize_prompt(const generate_request& req, std::vector<int32_t>* ids,
                                 std::string* error) const = 0;
    /// engine::prepare_prompt: sets req.prompt_token_ids (and, for an engine, what lets
    /// generate() skip preparing the prompt again). A backend without it tokenizes.
    virtual bool prepare_prompt(generate_request& req, std::string* error) const {
        std::vector<int32_t> ids;
        if (!tokenize_prompt(req, &ids, error)) return false;
        req.prompt_token_ids = std::move(ids);
        return true;
    }
    virtual bool detokenize(const std::vector<int32_t>& ids, std::string* text,
                            std::string* error) const = 0;
    /// A router's membership (engine::cluster_members and the two below); a backend that
    /// is no router has none and refuses changes.
    virtual std::vector<cluster_member_info> cluster_members() const { return {}; }
    virtual bool add_cluster_member(const std::string& address, const std::string& role,
                                    std::string* error) {
        (void)address, (void)role;
        if (error) *error = "this server is not a router";
        return false;
    }
    virtual bool remove_cluster_member(const std::string& address, std::string* error) {
        (void)address;
        if (error) *error = "this server is not a router";
        return false;
    }
    /// engine::migrate_requests: how many requests were asked to move, or -1.
    virtual int32_t migrate_requests(const std::string& from, const std::string& to,
                                     const std::string& request_id, std::string* error) {
        (void)from, (void)to, (void)request_id;
        if (error) *error = "this server is not a router";
        return -1;
    }
};

/// Adapts a running engine. Defined in engine_backend.cpp, which needs the engine facade
/// (actorlm_actors) at link time; only `actorlm serve` and the e2e tests reference it.
std::unique_ptr<inference_backend> make_engine_backend(std::shared_ptr<engine> eng);

}  // namespace actorlm::net
