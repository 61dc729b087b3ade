// encoder_store_client: the worker's encoder_output_store over an encoder-cache actor —
// one in this engine, or another engine's reached through the middleman, so an image
// encoded by one engine is prefilled by another without its encoder running again.
// find() is a request with a short timeout (a store that does not answer is a miss: the
// worker encodes, and a warning says so once per outage); put() and release() are one-way
// messages. Used from the worker's own
// thread only.
#pragma once

#include <chrono>

#include "actors/encoder_cache_actor.hpp"
#include "multimodal/encoder_output_store.hpp"

namespace actorlm::actors {

class encoder_store_client : public multimodal::encoder_output_store {
public:
    encoder_store_client(caf::actor_system& sys, encoder_cache_actor store,
                         std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));

    std::shared_ptr<const multimodal::vision_features> find(const std::string& mm_hash,
                                                            const std::string& request_id) override;
    void put(const std::string& mm_hash, const std::string& request_id,
             const multimodal::vision_features& features) override;
    void release(const std::string& request_id) override;

private:
    caf::actor_system& sys_;
    encoder_cache_actor store_;
    std::chrono::milliseconds timeout_;
    bool unanswered_ = false;  // the last lookup got no answer (warned once)
};

}  // namespace actorlm::actors
