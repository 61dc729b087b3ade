// A request's extra args (sampling_params::extra_args_json, the server's vllm_xargs) cross
// CAF's binary serialization, as they must to reach a remote worker's logits processors.
#include <doctest/doctest.h>

#include <caf/all.hpp>

#include <vector>

#include "actors/messages.hpp"

TEST_CASE("plugins: a request's extra args survive the wire to a remote worker") {
    caf::actor_system_config cfg;
    caf::actor_system sys{cfg.set("scheduler.max-threads", 1)};
    actorlm::sampling_params p;
    p.extra_args_json = R"({"banned_token_ids":[3,4]})";
    p.max_tokens = 7;
    std::vector<char> bytes;
    caf::binary_serializer sink{sys, bytes};
    REQUIRE_FALSE(sink(p));
    actorlm::sampling_params got;
    caf::binary_deserializer source{sys, bytes};
    REQUIRE_FALSE(source(got));
    CHECK(got.extra_args_json == p.extra_args_json);
    CHECK(got.max_tokens == 7);
}
