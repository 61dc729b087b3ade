// Speculative decoding through llm_engine over stories260K: several tokens per step
// reach the output processor, which must give the same deltas as plain decoding —
// stop strings found mid-run end the text and drop the tokens after them, max_tokens
// cuts, n > 1 sequences, per-token logprobs — and an abort mid-stream ends cleanly.
// The output processor alone: a stop string inside a step of several tokens.
#include <doctest/doctest.h>

#include "core/kv_invariants.hpp"
#include "core/llm_engine.hpp"
#include "core/output_processor.hpp"
#include "support/shared_data.hpp"

using namespace actorlm;
using namespace actorlm::core;

namespace spec_decode_llm_engine_test {

constexpr const char* k_spec =
    R"({"method":"ngram","num_speculative_tokens":5,"prompt_lookup_max":4,"prompt_lookup_min":2})";
const std::string k_sentence = "Lily and Tom went to the park. They played with a red ball. ";

std::unique_ptr<llm_engine> make_engine(bool speculative) {
    actorlm::engine_config cfg;
    cfg.model_path = actorlm::test::shared_path("models/stories260K-hf");
    cfg.kv_cache_memory_bytes = 8 << 20;
    cfg.max_num_seqs = 8;
    cfg.num_threads = 1;
    if (speculative) cfg.speculative_config = k_spec;
    auto eng = llm_engine::create(cfg);
    REQUIRE_MESSAGE(eng.ok(), (eng.ok() ? "" : eng.message()));
    return std::move(eng).value();
}

std::vector<completion_result> generate(llm_engine& eng, std::vector<generate_request> reqs) {
    auto res = eng.generate(std::move(reqs));
    REQUIRE_MESSAGE(res.ok(), (res.ok() ? "" : res.message()));
    auto inv = check_kv_invariants(eng.sched());
    REQUIRE_MESSAGE(inv.ok(), inv.message());
    return std::move(res).value();
}

generate_request repeating(int32_t max_tokens) {
    generate_request r;
    r.prompt = k_sentence + k_sentence + k_sentence;
    r.params.temperature = 0.0f;
    r.params.max_tokens = max_tokens;
    r.params.ignore_eos = true;
    return r;
}

void check_same(const completion_result& a, const completion_result& b) {
    REQUIRE(a.outputs.size() == b.outputs.size());
    for (size_t k = 0; k < a.outputs.size(); ++k) {
        CAPTURE(k);
        const auto& x = a.outputs[k];
        const auto& y = b.outputs[k];
        CHECK(x.text == y.text);
        CHECK(x.token_ids == y.token_ids);
        CHECK(x.finish == y.finish);
        CHECK(x.stop_reason == y.stop_reason);
        REQUIRE(x.logprobs.size() == y.logprobs.size());
        for (size_t i = 0; i < x.logprobs.size(); ++i) {
            CHECK(x.logprobs[i].token_id == y.logprobs[i].token_id);
            CHECK(x.logprobs[i].logprob == y.logprobs[i].logprob);
            CHECK(x.logprobs[i].top.size() == y.logprobs[i].top.size());
        }
    }
}

}  // namespace spec_decode_llm_engine_test

using namespace spec_decode_llm_engine_test;

TEST_CASE("spec_decode: llm_engine deltas equal plain decoding (stop strings, n, logprobs)") {
    ACTORLM_REQUIRE_SHARED("models/stories260K-hf");
    auto plain = make_engine(false);
    auto spec = make_engine(true);

    // A stop string from the middle of the plain output: found inside a multi-token step.
    auto base = generate(*plain, {repeating(100)})[0];
    REQUIRE(base.outputs[0].text.size() > 80);
    const std::string stop = base.outputs[0].text.substr(60, 5);
    std::vector<generate_request> reqs;
    for (bool include : {false, true}) {
        auto r = repeating(100);
        r.params.stop = {stop};
        r.params.include_stop_str_in_output = include;
        reqs.push_back(std::move(r));
    }
    reqs.push_back(repeating(17));  // max_tokens cut
    auto lp = repeating(40);
    lp.params.logprobs = 3;
    reqs.push_back(std::move(lp));
    auto fan = repeating(30);  // n > 1, seeded sampling
    fan.params.n = 3;
    fan.params.temperature = 0.8f;
    fan.params.seed = 99;
    fan.params.logprobs = 1;
    reqs.push_back(std::move(fan));
    auto want = generate(*plain, reqs);
    auto got = generate(*spec, reqs);
    REQUIRE(want.size() == got.size());
    for (size_t i = 0; i < want.size(); ++i) {
        CAPTURE(i);
        check_same(want[i], got[i]);
    }
    CHECK(got[0].outputs[0].finish == actorlm::finish_reason::stop);
    CHECK(got[0].outputs[0].stop_reason == stop);
    CHECK(got[0].outputs[0].text.find(stop) == std::string::npos);
    CHECK(got[1].outputs[0].text.size() >= stop.size());
    CHECK(got[1].outputs[0].text.substr(got[1].outputs[0].text.size() - stop.size()) == stop);
    CHECK(got[2].outputs[0].token_ids.size() == 17);
    CHECK(got[2].outputs[0].finish == actorlm::finish_reason::length);
    CHECK(got[3].outputs[0].logprobs.size() == 40);
    const auto st = spec->stats();
    CHECK(st.spec_decode_num_accepted_tokens_total > 0);
    CHECK(st.spec_decode_num_accepted_tokens_per_pos.size() == 5);
    MESSAGE("accepted " << st.spec_decode_num_accepted_tokens_total << " of "
                        << st.spec_decode_num_draft_tokens_total << " draft tokens");
}

TEST_CASE("spec_decode: llm_engine aborts a speculating request mid-stream") {
    ACTORLM_REQUIRE_SHARED("models/stories260K-hf");
    auto eng = make_engine(true);
    auto r = repeating(200);
    r.request_id = "x";
    REQUIRE(eng->add_request(std::move(r)).ok());
    int32_t seen = 0;
    for (int i = 0; i < 30; ++i)
        for (const auto& d : eng->step()) seen += static_cast<int32_t>(d.token_ids.size());
    REQUIRE(seen > 0);
    REQUIRE(eng->abort_request("x"));
    bool ended = false;
    for (int i = 0; i < 5 && eng->has_unfinished_requests(); ++i)
        for (const auto& d : eng->step()) ended = ended || d.finish == actorlm::finish_reason::abort;
    CHECK(ended);
    CHECK_FALSE(eng->has_unfinished_requests());
    auto inv = check_kv_invariants(eng->sched());
    REQUIRE_MESSAGE(inv.ok(), inv.message());
    CHECK(eng->sched().kv().num_free_blocks() == eng->sched().kv().num_blocks());
}

TEST_CASE("spec_decode: a bad speculative_config is refused naming the field") {
    ACTORLM_REQUIRE_SHARED("models/stories260K-hf");
    actorlm::engine_config cfg;
    cfg.model_path = actorlm::test::shared_path("models/stories260K-hf");
    cfg.kv_cache_memory_bytes = 8 << 20;
    cfg.speculative_config = R"({"method":"ngram","num_speculative_tokens":-2})";
    auto eng = llm_engine::create(cfg);
    REQUIRE_FALSE(eng.ok());
    CHECK(eng.message().find("num_speculative_tokens") != std::string::npos);
}

TEST_CASE("spec_decode: the output processor drops the tokens after a stop string in one step") {
    ACTORLM_REQUIRE_SHARED("models/stories260K-hf");
    auto tok = load_tokenizer_for_model(actorlm::test::shared_path("models/stories260K-hf"));
    REQUIRE(tok.ok());
    const std::vector<int32_t> prompt = (*tok)->encode("Once upon", true, false);
    const std::vector<int32_t> ids = (*tok)->encode(" a time Lily went home and slept", false, false);
    // The first token whose text completes "home".
    size_t cut = 0;
    while (cut < ids.size() &&
           (*tok)->decode(std::vector<int32_t>(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(cut + 1)), true)
                   .find("home") == std::string::npos)
        ++cut;
    REQUIRE(cut + 2 < ids.size());  // tokens follow it in the same step
    actorlm::sampling_params p;
    p.stop = {"home"};
    p.logprobs = 0;
    output_processor out(**tok);
    REQUIRE(out.add_request(parent_request("s", p), prompt));
    request_output o;
    o.req_id = "s";
    o.new_token_ids = ids;
    for (int32_t id : ids) o.logprobs.push_back(position_logprobs{{id}, {-0.5f}, 1});
    o.num_prompt_tokens = static_cast<int32_t>(prompt.size());
    o.num_output_tokens = static_cast<int32_t>(ids.size());
    auto res = out.process({o});
    REQUIRE(res.deltas.size() == 1);
    const auto& d = res.deltas[0];
    CHECK(d.finish == actorlm::finish_reason::stop);
    CHECK(d.stop_reason == "home");
    CHECK(d.text.find("home") == std::string::npos);
    CHECK(d.text.find("Lily went ") != std::string::npos);
    CHECK(d.token_ids == std::vector<int32_t>(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(cut + 1)));
    CHECK(d.logprobs.size() == cut + 1);
    CHECK(d.num_output_tokens == static_cast<int32_t>(cut + 1));
    REQUIRE(res.stopped_by_string.size() == 1);
    CHECK(res.stopped_by_string[0].first == "s");
}
