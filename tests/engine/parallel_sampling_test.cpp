// parent_request and its use in the output processor: child ids and params
// come from the index, a request is known until its last sequence ends, and
// sequences ending in reverse or interleaved order (by length, stop token,
// stop string, abort) each give exactly one final delta.
#include <doctest/doctest.h>

#include "core/output_processor.hpp"
#include "core/parent_request.hpp"
#include "support/shared_data.hpp"

using namespace actorlm;
using namespace actorlm::core;

TEST_CASE("parallel sampling: parent_request derives ids and params from the index") {
    actorlm::sampling_params p;
    p.n = 3;
    p.seed = 40;
    parent_request r("req", p);
    CHECK(r.n() == 3);
    CHECK(r.child_id(0) == "req#0");
    CHECK(r.child_id(2) == "req#2");
    CHECK(r.child_params(2).seed == 42u);
    CHECK(r.child_params(2).n == 1);
    p.seed.reset();
    CHECK_FALSE(parent_request("req", p).child_params(1).seed.has_value());
    p.n = 1;
    CHECK(parent_request("solo", p).child_id(0) == "solo");
    p.n = 0;  // clamped: one sequence
    CHECK(parent_request("zero", p).n() == 1);

    // Reverse order: the ids stay those of the index, not of what is left.
    CHECK(r.finish_child(2));
    CHECK(r.running_child_ids() == std::vector<std::string>{"req#0", "req#1"});
    CHECK(r.finish_child(1));
    CHECK_FALSE(r.finish_child(1));  // already finished: nothing changes
    CHECK_FALSE(r.finish_child(7));  // no such sequence
    CHECK(r.num_running() == 1);
    CHECK_FALSE(r.finished());
    CHECK(r.running_child_ids() == std::vector<std::string>{"req#0"});
    CHECK(r.finish_child(0));
    CHECK(r.finished());
    CHECK(r.running_indices().empty());
}

namespace {

request_output token(const std::string& child, int32_t id, int32_t num_out,
                     request_status st = request_status::running) {
    request_output o;
    o.req_id = child;
    o.new_token_ids = {id};
    o.num_prompt_tokens = 3;
    o.num_output_tokens = num_out;
    o.status = st;
    return o;
}

}  // namespace

TEST_CASE("parallel sampling: the output processor forgets a request with its last sequence") {
    ACTORLM_REQUIRE_SHARED("models/stories260K-hf");
    auto tok = load_tokenizer_for_model(actorlm::test::shared_path("models/stories260K-hf"));
    REQUIRE(tok.ok());
    const std::vector<int32_t> prompt = (*tok)->encode("Once upon", true, false);
    const int32_t a = (*tok)->encode("cat", false, false).at(0);
    output_processor out(**tok);
    actorlm::sampling_params p;
    p.n = 3;

    SUBCASE("reverse order") {
        REQUIRE(out.add_request(parent_request("r", p), prompt));
        CHECK_FALSE(out.add_request(parent_request("r", p), prompt));  // still live
        auto step1 = out.process({token("r#0", a, 1), token("r#1", a, 1), token("r#2", a, 1)});
        REQUIRE(step1.deltas.size() == 3);
        for (const auto& d : step1.deltas) CHECK_FALSE(d.finished());
        CHECK(step1.deltas[2].prompt_token_ids == prompt);
        auto s2 = out.process({token("r#0", a, 2), token("r#1", a, 2),
                               token("r#2", a, 2, request_status::finished_length_capped)});
        REQUIRE(s2.deltas.size() == 3);
        CHECK(s2.deltas[2].index == 2);
        CHECK(s2.deltas[2].finish == actorlm::finish_reason::length);
        CHECK(out.running_children("r") == std::vector<std::string>{"r#0", "r#1"});
        auto s3 =
            out.process({token("r#0", a, 3), token("r#1", a, 3, request_status::finished_stopped)});
        REQUIRE(s3.deltas.size() == 2);
        CHECK(s3.deltas[1].finish == actorlm::finish_reason::stop);
        CHECK(out.running_children("r") == std::vector<std::string>{"r#0"});
        CHECK(out.has_request("r"));
        auto s4 = out.process({token("r#0", a, 4, request_status::finished_length_capped)});
        REQUIRE(s4.deltas.size() == 1);
        CHECK(s4.deltas[0].index == 0);
        CHECK(s4.deltas[0].finished());
        CHECK_FALSE(out.has_request("r"));
        CHECK(out.num_requests() == 0);
        CHECK(out.num_sequences() == 0);
        // A late output for an ended sequence gives no delta; the id is free again.
        CHECK(out.process({token("r#0", a, 5)}).deltas.empty());
        CHECK(out.add_request(parent_request("r", p), prompt));
    }
    SUBCASE("interleaved: stop string, abort, length") {
        const std::vector<int32_t> one{a};
        std::string piece = (*tok)->decode(one, true);
        piece.erase(0, piece.find_first_not_of(' '));
        REQUIRE_FALSE(piece.empty());
        p.stop = {piece};
        REQUIRE(out.add_request(parent_request("i", p), prompt));
        const int32_t b = (*tok)->encode("dog", false, false).at(0);
        // Sequence 1 hits the stop string first; the engine must finish it.
        auto s1 = out.process({token("i#0", b, 1), token("i#1", a, 1), token("i#2", b, 1)});
        REQUIRE(s1.deltas.size() == 3);
        CHECK(s1.deltas[1].finish == actorlm::finish_reason::stop);
        REQUIRE(s1.stopped_by_string.size() == 1);
        CHECK(s1.stopped_by_string[0].first == "i#1");
        // Then sequence 0 is aborted outside a step, then 2 ends by length.
        auto d0 = out.finish_sequence("i#0", actorlm::finish_reason::abort);
        REQUIRE(d0);
        CHECK(d0->index == 0);
        CHECK(d0->num_prompt_tokens == static_cast<int32_t>(prompt.size()));
        CHECK_FALSE(out.finish_sequence("i#0", actorlm::finish_reason::abort));
        CHECK(out.has_request("i"));
        CHECK(out.running_children("i") == std::vector<std::string>{"i#2"});
        auto s2 = out.process({token("i#2", b, 2, request_status::finished_length_capped)});
        REQUIRE(s2.deltas.size() == 1);
        CHECK(s2.deltas[0].index == 2);
        CHECK(s2.deltas[0].finish == actorlm::finish_reason::length);
        CHECK_FALSE(out.has_request("i"));
        CHECK(out.num_sequences() == 0);
    }
    SUBCASE("finish_request ends only the running sequences, by index") {
        REQUIRE(out.add_request(parent_request("f", p), prompt));
        out.process({token("f#1", a, 1, request_status::finished_length_capped)});
        auto ds = out.finish_request("f", actorlm::finish_reason::abort);
        REQUIRE(ds.size() == 2);
        CHECK(ds[0].index == 0);
        CHECK(ds[1].index == 2);
        CHECK(ds[1].finish == actorlm::finish_reason::abort);
        CHECK_FALSE(out.has_request("f"));
        CHECK(out.finish_request("f", actorlm::finish_reason::abort).empty());
    }
}
