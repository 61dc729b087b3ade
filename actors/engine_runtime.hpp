// engine_runtime: builds and owns one engine's actor system — loads the model
// and tokenizer, sizes the KV cache, sets up local or remote workers (one
// pipeline stage each), and spawns the scheduler, KV-cache, encoder-cache,
// detokenizer and frontend actors. The public actorlm::engine facade is a
// pimpl over this; tests use it to reach the actors directly.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "actorlm/engine.hpp"
#include "actors/connector_actor.hpp"
#include "actors/detokenizer_actor.hpp"
#include "actors/encoder_cache_actor.hpp"
#include "actors/frontend_actor.hpp"
#include "actors/kv_cache_actor.hpp"
#include "actors/runtime_config.hpp"
#include "actors/scheduler_actor.hpp"
#include "chat/chat_template.hpp"
#include "model/model_loader.hpp"
#include "tokenizer/tokenizer.hpp"

namespace actorlm::actors {

class engine_runtime {
public:
    /// Everything or nothing: on failure *error names the problem.
    static std::unique_ptr<engine_runtime> create(const engine_config& cfg, std::string* error);
    ~engine_runtime();

    /// Submits a request (assigning an id when it has none); returns the id.
    std::string submit(generate_request req, delta_callback on_delta);
    void abort(const std::string& request_id);
    engine_stats stats() const;
    kv_step_report kv_report() const;
    model_info info() const { return info_; }

    const tokenizer& tok() const { return *tok_; }
    const chat_template* chat() const { return chat_.get(); }
    const std::string& chat_error() const { return chat_error_; }
    caf::actor_system& system() { return *sys_; }
    scheduler_actor scheduler() const { return scheduler_; }
    encoder_cache_actor encoder_cache() const { return encoder_cache_; }

private:
    engine_runtime() = default;

    std::unique_ptr<runtime_config> cfg_;
    std::unique_ptr<caf::actor_system> sys_;
    std::shared_ptr<const loaded_model> model_;
    std::shared_ptr<const tokenizer> tok_;
    std::shared_ptr<const chat_template> chat_;
    std::string chat_error_;
    std::vector<worker_actor> workers_;
    bool remote_workers_ = false;
    scheduler_actor scheduler_;
    kv_cache_actor kv_;
    encoder_cache_actor encoder_cache_;
    detokenizer_actor detokenizer_;
    frontend_actor frontend_;
    connector_actor connector_;
    model_info info_;
    std::atomic<uint64_t> next_id_{0};
};

}  // namespace actorlm::actors
