// The encoder-cache actor: a lookup hit shares a stored output, references
// keep entries, and releasing a request makes its entries evictable.
#include <doctest/doctest.h>

#include "actors/encoder_cache_actor.hpp"
#include "actors/runtime_config.hpp"

using namespace actorlm::actors;

TEST_CASE("actors: encoder cache actor stores, shares and evicts encoder outputs") {
    runtime_config cfg;
    caf::actor_system sys{cfg};
    auto cache = spawn_encoder_cache_actor(sys, 2);  // bytes
    caf::scoped_actor self{sys, true};
    auto lookup = [&](const std::string& hash, const std::string& req) {
        encoder_lookup out;
        self->request(cache, std::chrono::seconds(5), caf::get_atom::value, hash, req)
            .receive([&](encoder_lookup& r) { out = std::move(r); },
                     [](caf::error&) { FAIL("lookup failed"); });
        return out;
    };
    auto insert = [&](const std::string& hash, const std::string& req, std::vector<char> bytes) {
        bool ok = false;
        self->request(cache, std::chrono::seconds(5), insert_atom_v, hash, req, std::move(bytes))
            .receive([&](bool r) { ok = r; }, [](caf::error&) { FAIL("insert failed"); });
        return ok;
    };
    CHECK_FALSE(lookup("img-a", "r1").hit);
    CHECK(insert("img-a", "r1", {'a', 'b'}));
    encoder_lookup hit = lookup("img-a", "r2");
    CHECK(hit.hit);
    CHECK(hit.data == std::vector<char>{'a', 'b'});
    CHECK_FALSE(insert("img-b", "r3", {'c'}));  // img-a, in use, fills the cache
    self->send(cache, release_atom_v, std::string("r1"));
    self->send(cache, release_atom_v, std::string("r2"));
    CHECK(insert("img-b", "r3", {'c'}));  // img-a was evicted for it
    CHECK_FALSE(lookup("img-a", "r4").hit);
    anon_send_exit(cache, caf::exit_reason::user_shutdown);
}
