// The pooling fields on the wire (actors/wire_inspect.hpp): a pooling request's params,
// the worker's pooled rows, the finished delta's vector, the model's hidden size, default
// pooling and embedding_only survive CAF's binary serialization, as they must between
// cluster nodes and between the scheduler and a worker process; an unset pooling stays
// unset, and a kind no version knows is refused.
#include <doctest/doctest.h>

#include <caf/all.hpp>

#include <vector>

#include "actors/messages.hpp"

using namespace actorlm;

namespace {

template <class T>
std::vector<char> to_bytes(caf::actor_system& sys, T value) {
    std::vector<char> bytes;
    caf::binary_serializer sink{sys, bytes};
    REQUIRE_FALSE(sink(value));
    return bytes;
}

template <class T>
T round_trip(caf::actor_system& sys, T value) {
    const std::vector<char> bytes = to_bytes(sys, std::move(value));
    T out;
    caf::binary_deserializer source{sys, bytes};
    REQUIRE_FALSE(source(out));
    return out;
}

struct system_fixture {
    caf::actor_system_config cfg;
    caf::actor_system sys{cfg.set("scheduler.max-threads", 1)};
};

}  // namespace

TEST_CASE_FIXTURE(system_fixture, "wire: pooling params, pooled rows and embeddings round-trip") {
    sampling_params p;
    p.pooling = pooling_params{pooling_params::kind::mean, false};
    const sampling_params got = round_trip(sys, p);
    REQUIRE(got.pooling.has_value());
    CHECK(got.pooling->type == pooling_params::kind::mean);
    CHECK_FALSE(got.pooling->normalize);
    CHECK_FALSE(round_trip(sys, sampling_params{}).pooling.has_value());

    core::model_runner_output out;
    out.req_ids = {"a", "b"};
    out.sampled_token_ids = {{}, {7}};
    out.pooler_output = {{0.25f, -1.5f}, {}};
    CHECK(round_trip(sys, out).pooler_output == out.pooler_output);

    output_delta d;
    d.request_id = "r";
    d.finish = finish_reason::stop;
    d.embedding = {1.0f, 0.0f, -0.125f};
    CHECK(round_trip(sys, d).embedding == d.embedding);

    model_info info;
    info.hidden_size = 64;
    CHECK(round_trip(sys, info).hidden_size == 64);
    CHECK_FALSE(round_trip(sys, info).default_pooling.has_value());
    CHECK_FALSE(round_trip(sys, info).embedding_only);
    info.default_pooling = pooling_params{pooling_params::kind::cls, false};
    info.embedding_only = true;
    const model_info back = round_trip(sys, info);
    REQUIRE(back.default_pooling.has_value());
    CHECK(back.default_pooling->type == pooling_params::kind::cls);
    CHECK_FALSE(back.default_pooling->normalize);
    CHECK(back.embedding_only);
}

TEST_CASE_FIXTURE(system_fixture, "wire: an unknown pooling kind is refused") {
    sampling_params p;
    p.pooling = pooling_params{pooling_params::kind::cls, true};
    std::vector<char> bytes = to_bytes(sys, p);
    // The kind travels as 1 + its value: find CLS's byte after the structured output and
    // make it a kind beyond CLS.
    const auto cls = static_cast<char>(1 + static_cast<uint8_t>(pooling_params::kind::cls));
    REQUIRE(bytes.size() >= 2);
    REQUIRE(bytes[bytes.size() - 2] == cls);  // then the normalize flag, last
    bytes[bytes.size() - 2] = static_cast<char>(cls + 1);
    sampling_params out;
    caf::binary_deserializer source{sys, bytes};
    CHECK(source(out));
}
