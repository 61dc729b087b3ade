// cluster_router: an engine_service that runs no model. It sends each request to one
// of the cluster members (engines published with --cluster-listen) chosen by the
// routing policy, and streams the member's deltas back to the caller. The members'
// loads come from polling their stats (every k_load_poll); a member that goes down
// ends its requests with an error and gets no new ones until the router reaches it
// again on its address (tried every second). The model at model_path gives
// the tokenizer and chat template (for /tokenize and prompt checks); its weights are
// mapped, never run. Owns its actor system; the router actor is scheduled.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "actors/engine_service.hpp"
#include "actors/interfaces.hpp"
#include "actors/runtime_config.hpp"
#include "core/engine_plan.hpp"

namespace actorlm::actors {

class cluster_router final : public engine_service {
public:
    /// Connects to every member of cfg.cluster_members; all or nothing: on failure
    /// *error names the member or option at fault.
    static std::unique_ptr<cluster_router> create(const engine_config& cfg, std::string* error);
    ~cluster_router() override;

    std::string submit(generate_request req, delta_callback on_delta) override;
    void abort(const std::string& request_id) override;
    /// The members' stats summed (KV usage averaged); healthy while any member is.
    engine_stats stats() const override;
    bool reset_prefix_cache(std::string* error) override;
    std::vector<cluster_member_info> cluster_members() const override;
    /// Connects from the calling thread, then hands the member to the router actor.
    bool add_cluster_member(const std::string& address, const std::string& role,
                            std::string* error) override;
    bool remove_cluster_member(const std::string& address, std::string* error) override;
    int32_t migrate_requests(const std::string& from, const std::string& to,
                             const std::string& request_id, std::string* error) override;
    model_info info() const override { return info_; }
    const tokenizer& tok() const override { return *plan_->tok; }
    const chat_template* chat() const override { return plan_->chat.get(); }
    const std::string& chat_error() const override { return plan_->chat_error; }

private:
    cluster_router() = default;

    std::unique_ptr<runtime_config> cfg_;
    std::unique_ptr<caf::actor_system> sys_;
    std::shared_ptr<const core::engine_plan> plan_;
    caf::actor router_;
    model_info info_;
};

}  // namespace actorlm::actors
