// engine_backend: inference_backend over the real actorlm::engine facade.
// A pure forwarder; the engine is thread-safe and owns its threads. Keeping it
// in its own object file lets tests link actorlm_net without the engine.
#include "net/inference_backend.hpp"

namespace actorlm::net {

namespace {

class engine_backend final : public inference_backend {
public:
    explicit engine_backend(std::shared_ptr<engine> eng) : engine_(std::move(eng)) {}

    std::string generate(generate_request req, delta_fn on_delta) override {
        return engine_->generate(std::move(req), std::move(on_delta));
    }
    void abort(const std::string& request_id) override { engine_->abort(request_id); }
    engine_stats stats() const override { return engine_->stats(); }
    bool reset_prefix_cache(std::string* error) override {
        return engine_->reset_prefix_cache(error);
    }
    model_info info() const override { return engine_->info(); }
    bool tokenize_prompt(const generate_request& req, std::vector<int32_t>* ids,
                         std::string* error) const override {
        return engine_->tokenize_prompt(req, ids, error);
    }
    bool prepare_prompt(generate_request& req, std::string* error) const override {
        return engine_->prepare_prompt(req, error);
    }
    bool detokenize(const std::vector<int32_t>& ids, std::string* text,
                    std::string* error) const override {
        return engine_->detokenize(ids, text, error);
    }
    std::vector<cluster_member_info> cluster_members() const override {
        return engine_->cluster_members();
    }
    bool add_cluster_member(const std::string& address, const std::string& role,
                            std::string* error) override {
        return engine_->add_cluster_member(address, role, error);
    }
    bool remove_cluster_member(const std::string& address, std::string* error) override {
        return engine_->remove_cluster_member(address, error);
    }
    int32_t migrate_requests(const std::string& from, const std::string& to,
                             const std::string& request_id, std::string* error) override {
        return engine_->migrate_requests(from, to, request_id, error);
    }

private:
    std::shared_ptr<engine> engine_;
};

}  // namespace

std::unique_ptr<inference_backend> make_engine_backend(std::shared_ptr<engine> eng) {
    return std::make_unique<engine_backend>(std::move(eng));
}

}  // namespace actorlm::net
