// engine_service: what the public actorlm::engine facade runs on. An engine in this
// process (engine_runtime: workers, scheduler, KV-cache actor...) and a router over
// cluster members (cluster_router) both provide it, so the HTTP server and embedders
// use either through the same engine API.
#pragma once

#include <atomic>
#include <string>

#include "actorlm/engine.hpp"
#include "actors/messages.hpp"
#include "chat/chat_template.hpp"
#include "tokenizer/tokenizer.hpp"

namespace actorlm::multimodal {
class image_preprocessor;
}  // namespace actorlm::multimodal

namespace actorlm::actors {

class engine_service {
public:
    virtual ~engine_service() = default;
    /// Submits a request (assigning an id when it has none); returns the id. Deltas
    /// reach `on_delta` on an actor thread, in order, one final delta per sequence.
    virtual std::string submit(generate_request req, delta_callback on_delta) = 0;
    virtual void abort(const std::string& request_id) = 0;
    virtual engine_stats stats() const = 0;
    /// Forgets the device prefix cache; false with *error when it cannot.
    virtual bool reset_prefix_cache(std::string* error) = 0;
    virtual model_info info() const = 0;
    virtual const tokenizer& tok() const = 0;
    virtual const chat_template* chat() const = 0;
    virtual const std::string& chat_error() const = 0;
    /// The image step of a vision-language engine whose worker is local; null otherwise
    /// (images are then refused).
    virtual multimodal::image_preprocessor* images() const { return nullptr; }
    /// A router's membership (engine::cluster_members and the two below); an engine has
    /// none and refuses changes.
    virtual std::vector<cluster_member_info> cluster_members() const { return {}; }
    virtual bool add_cluster_member(const std::string& address, const std::string& role,
                                    std::string* error) {
        (void)address, (void)role;
        if (error) *error = "this engine is not a router; members are added to a router";
        return false;
    }
    virtual bool remove_cluster_member(const std::string& address, std::string* error) {
        (void)address;
        if (error) *error = "this engine is not a router; members are removed from a router";
        return false;
    }
    virtual int32_t migrate_requests(const std::string& from, const std::string& to,
                                     const std::string& request_id, std::string* error) {
        (void)from, (void)to, (void)request_id;
        if (error) *error = "this engine is not a router; requests migrate between its members";
        return -1;
    }

protected:
    /// Gives `req` the next "req-N" id when it has none; returns its id.
    std::string assign_request_id(generate_request& req) {
        if (req.request_id.empty()) req.request_id = "req-" + std::to_string(next_id_.fetch_add(1));
        return req.request_id;
    }

private:
    std::atomic<uint64_t> next_id_{0};
};

}  // namespace actorlm::actors
