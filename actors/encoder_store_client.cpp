// encoder_store_client implementation.
#include "actors/encoder_store_client.hpp"

#include <cstdio>

namespace actorlm::actors {

encoder_store_client::encoder_store_client(caf::actor_system& sys, encoder_cache_actor store,
                                           std::chrono::milliseconds timeout)
    : sys_(sys), store_(std::move(store)), timeout_(timeout) {}

std::shared_ptr<const multimodal::vision_features> encoder_store_client::find(
    const std::string& mm_hash, const std::string& request_id) {
    std::shared_ptr<const multimodal::vision_features> out;
    caf::scoped_actor self{sys_, true};
    self->request(store_, timeout_, caf::get_atom::value, mm_hash, request_id)
        .receive(
            [&](encoder_lookup& r) {
                if (unanswered_) {
                    std::fprintf(stderr, "actorlm: the encoder store answers again\n");
                    unanswered_ = false;
                }
                if (!r.hit) return;
                // Bytes that do not decode are a miss: the worker encodes instead.
                auto f = multimodal::features_from_bytes(r.data);
                if (!f) {
                    std::fprintf(stderr,
                                 "actorlm: warning: the encoder store's entry for image %s does "
                                 "not decode (%s); encoding it here\n",
                                 mm_hash.c_str(), f.message().c_str());
                    return;
                }
                out = std::make_shared<const multimodal::vision_features>(std::move(f).value());
            },
            [&](caf::error& err) {
                // Once per outage: every image meanwhile is encoded here, which is correct
                // but costs the encoder runs the store was meant to save.
                if (unanswered_) return;
                unanswered_ = true;
                std::fprintf(stderr,
                             "actorlm: warning: the encoder store did not answer (%s); images "
                             "are encoded here until it does\n",
                             sys_.render(err).c_str());
            });
    return out;
}

void encoder_store_client::put(const std::string& mm_hash, const std::string& request_id,
                               const multimodal::vision_features& features) {
    caf::anon_send(store_, insert_atom_v, mm_hash, request_id,
                   multimodal::features_to_bytes(features));
}

void encoder_store_client::release(const std::string& request_id) {
    caf::anon_send(store_, release_atom_v, request_id);
}

}  // namespace actorlm::actors
