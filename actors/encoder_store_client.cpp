// encoder_store_client implementation.
#include "actors/encoder_store_client.hpp"

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
                if (!r.hit) return;
                // Bytes that do not decode are a miss: the worker encodes instead.
                if (auto f = multimodal::features_from_bytes(r.data))
                    out = std::make_shared<const multimodal::vision_features>(std::move(f).value());
            },
            [](caf::error&) {});
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
