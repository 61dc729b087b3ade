// engine_runtime: builds and owns one engine's actor system from the engine
// plan (core/engine_plan: model, tokenizer, chat template, scheduler and KV
// request): sets up local or remote workers (one pipeline stage each, each
// sizing its KV cache on its own device), and spawns the scheduler, KV-cache,
// detokenizer and frontend actors. The public actorlm::engine facade is a
// pimpl over this; tests use it to reach the actors directly.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "actorlm/engine.hpp"
#include "actors/connector_actor.hpp"
#include "actors/cluster_member_actor.hpp"
#include "actors/detokenizer_actor.hpp"
#include "actors/encoder_cache_actor.hpp"
#include "actors/engine_service.hpp"
#include "actors/frontend_actor.hpp"
#include "actors/kv_cache_actor.hpp"
#include "actors/runtime_config.hpp"
#include "actors/scheduler_actor.hpp"
#include "core/engine_plan.hpp"

namespace actorlm::actors {

class engine_runtime final : public engine_service {
public:
    /// Everything or nothing: on failure *error names the problem.
    static std::unique_ptr<engine_runtime> create(const engine_config& cfg, std::string* error);
    ~engine_runtime() override;

    std::string submit(generate_request req, delta_callback on_delta) override;
    void abort(const std::string& request_id) override;
    engine_stats stats() const override;
    /// Forgets the device prefix cache (through the KV-cache actor); false with
    /// *error when requests hold blocks or the engine does not answer.
    bool reset_prefix_cache(std::string* error) override;
    model_info info() const override { return info_; }

    const tokenizer& tok() const override { return *plan_->tok; }
    const chat_template* chat() const override { return plan_->chat.get(); }
    const std::string& chat_error() const override { return plan_->chat_error; }
    multimodal::image_preprocessor* images() const override {
        return info_.supports_image_input ? plan_->images.get() : nullptr;
    }
    /// The port the cluster member listens on (--cluster-listen); 0 when not published.
    uint16_t cluster_port() const { return cluster_port_; }
    /// The port this engine's encoder store listens on (encoder_store_listen); 0 if none.
    uint16_t encoder_store_port() const { return encoder_store_port_; }
    /// The encoder store the worker asks (null for text models and remote workers).
    encoder_cache_actor encoder_store() const { return encoder_store_; }
    caf::actor_system& system() { return *sys_; }
    scheduler_actor scheduler() const { return scheduler_; }
    /// Where state queries go and KV events come from (subscribe_atom).
    kv_cache_actor kv_cache() const { return kv_; }

private:
    engine_runtime() = default;
    static std::string open_encoder_store(engine_runtime& rt, const engine_config& cfg);

    std::unique_ptr<runtime_config> cfg_;
    std::unique_ptr<caf::actor_system> sys_;
    std::shared_ptr<const core::engine_plan> plan_;
    std::vector<worker_actor> workers_;
    bool remote_workers_ = false;
    scheduler_actor scheduler_;
    kv_cache_actor kv_;
    detokenizer_actor detokenizer_;
    frontend_actor frontend_;
    connector_actor connector_;
    cluster_member_actor member_;
    uint16_t cluster_port_ = 0;
    /// The encoder store the worker uses: our own (owned) or another engine's.
    encoder_cache_actor encoder_store_;
    bool own_encoder_store_ = false;
    uint16_t encoder_store_port_ = 0;
    model_info info_;
    std::string pooling_device_;  // the last stage's device when it cannot pool, else ""
};

}  // namespace actorlm::actors
