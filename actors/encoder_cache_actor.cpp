// encoder-cache actor implementation over engine/core/encoder_cache.
#include "actors/encoder_cache_actor.hpp"

#include "core/encoder_cache.hpp"

namespace actorlm::actors {

namespace {

struct encoder_state {
    encoder_state() = default;  // not an aggregate: CAF probes State(self)
    std::unique_ptr<encoder_cache> cache;
    static inline const char* name = "actorlm.encoder_cache";
};

encoder_cache_actor::behavior_type encoder_impl(
    encoder_cache_actor::stateful_pointer<encoder_state> self, size_t capacity) {
    self->state.cache = std::make_unique<encoder_cache>(capacity);
    return {
        [self](caf::get_atom, const std::string& hash, const std::string& request_id) {
            encoder_lookup r;
            auto& cache = *self->state.cache;
            r.hit = cache.acquire(hash, request_id);
            if (r.hit) r.data = *cache.get(hash);
            return r;
        },
        [self](insert_atom, const std::string& hash, const std::string& request_id,
               std::vector<char>& data) {
            auto payload = std::make_shared<const std::vector<char>>(std::move(data));
            return self->state.cache->insert(hash, request_id, std::move(payload)).ok();
        },
        [self](release_atom, const std::string& request_id) {
            self->state.cache->release_request(request_id);
        },
        [self](stats_atom) {
            const auto& c = *self->state.cache;
            return std::make_tuple(c.num_queries(), c.num_hits(), static_cast<int64_t>(c.size()),
                                    static_cast<int64_t>(c.used_bytes()));
        },
    };
}

}  // namespace

encoder_cache_actor spawn_encoder_cache_actor(caf::actor_system& sys, size_t capacity_bytes) {
    return sys.spawn(encoder_impl, capacity_bytes);
}

}  // namespace actorlm::actors
