// Speculative decoding in the actor runtime: the scheduler actor's steps carry the
// n-gram drafts to the worker (in process, and across processes through the wire
// format of scheduler_output), the multi-token results come back, and the greedy ids
// equal the golden ones; the spec_decode counters reach engine::stats().
#include <doctest/doctest.h>

#include "engine_fixture.hpp"
#include "worker_process.hpp"

using namespace actorlm;
using namespace actorlm::test;

namespace spec_decode_actors_test {

constexpr const char* k_spec =
    R"({"method":"ngram","num_speculative_tokens":4,"prompt_lookup_max":4,"prompt_lookup_min":1})";

void check_golden(engine& eng) {
    auto cases = load_stories_golden();
    std::vector<request_stream> streams;
    for (const auto& g : cases) streams.push_back(eng.generate(greedy_request(g)));
    for (size_t i = 0; i < cases.size(); ++i)
        CHECK(collect(streams[i]).tokens[0] == cases[i].greedy_ids);
    const engine_stats st = eng.stats();
    CHECK(st.spec_decode_num_drafts_total > 0);
    CHECK(st.spec_decode_num_accepted_tokens_total > 0);
    CHECK(st.spec_decode_num_accepted_tokens_total <= st.spec_decode_num_draft_tokens_total);
    REQUIRE(st.spec_decode_num_accepted_tokens_per_pos.size() == 4);
    int64_t sum = 0;
    for (int64_t v : st.spec_decode_num_accepted_tokens_per_pos) sum += v;
    CHECK(sum == st.spec_decode_num_accepted_tokens_total);
    MESSAGE("accepted " << st.spec_decode_num_accepted_tokens_total << " of "
                        << st.spec_decode_num_draft_tokens_total << " draft tokens");
}

}  // namespace spec_decode_actors_test

using namespace spec_decode_actors_test;

TEST_CASE("actors: speculative decoding gives the golden greedy ids in process") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    engine_config cfg = stories_config();
    cfg.speculative_config = k_spec;
    auto eng = start_engine(cfg);
    check_golden(*eng);
}

TEST_CASE("actors: speculative decoding across two worker processes gives the golden ids") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    const std::string model = shared_path("models/stories260K.gguf");
    worker_process w0(model, test_port(2));
    worker_process w1(model, test_port(3));
    REQUIRE(w0.start());
    REQUIRE(w1.start());
    engine_config cfg = stories_config();
    cfg.workers = {w0.address(), w1.address()};
    cfg.speculative_config = k_spec;
    auto eng = start_engine(cfg);
    check_golden(*eng);
}

TEST_CASE("actors: a bad speculative_config is a creation error naming the field") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    engine_config cfg = stories_config();
    cfg.speculative_config = R"({"method":"ngram","num_speculative_tokens":4,"prompt_lookup_min":9,"prompt_lookup_max":2})";
    std::string err;
    auto eng = engine::create(cfg, &err);
    CHECK(eng == nullptr);
    CHECK(err.find("prompt_lookup_min") != std::string::npos);
}
