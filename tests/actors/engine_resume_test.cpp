// A request resumed from tokens it produced elsewhere (live migration's engine half,
// generate_request::resume_output_token_ids): it goes on exactly as the unbroken run
// did, greedy and seeded, with penalties and a stop string, and the text it streams
// joins the text streamed before the break without a gap or a repeat.
#include <doctest/doctest.h>

#include "engine_fixture.hpp"

using namespace actorlm;
using namespace actorlm::test;

namespace resume_test {

/// What one stream delivered: every delta's tokens and text, in order.
struct streamed {
    std::vector<std::vector<int32_t>> tokens;
    std::vector<std::string> texts;
    std::vector<int32_t> prompt_ids;
    finish_reason finish = finish_reason::none;
    std::vector<int32_t> all_tokens() const {
        std::vector<int32_t> all;
        for (const auto& t : tokens) all.insert(all.end(), t.begin(), t.end());
        return all;
    }
    std::string all_text() const {
        std::string s;
        for (const auto& t : texts) s += t;
        return s;
    }
};

streamed stream_of(engine& e, const generate_request& r) {
    streamed out;
    auto s = e.generate(r);
    output_delta d;
    while (s.next(d)) {
        if (!d.prompt_token_ids.empty()) out.prompt_ids = d.prompt_token_ids;
        out.tokens.push_back(d.token_ids);
        out.texts.push_back(d.text);
        if (d.finished()) out.finish = d.finish;
    }
    return out;
}

}  // namespace resume_test

using namespace resume_test;

TEST_CASE("engine: a request resumed from its own outputs continues the unbroken run") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    auto eng = start_engine(stories_config());
    generate_request base;
    base.prompt = "Once upon a time, there was a little";
    base.params.max_tokens = 24;
    base.params.ignore_eos = true;
    SUBCASE("greedy") { base.params.temperature = 0.0f; }
    SUBCASE("seeded, with penalties and a stop string that never matches") {
        base.params.temperature = 0.9f;
        base.params.seed = 77;
        base.params.presence_penalty = 0.5f;
        base.params.frequency_penalty = 0.3f;
        base.params.stop = {"zebra crossing"};
    }
    const streamed whole = stream_of(*eng, base);
    REQUIRE(whole.all_tokens().size() == 24);
    // Break after each delta boundary in turn and resume from what had streamed.
    for (size_t cut : {size_t(3), size_t(9), size_t(17)}) {
        CAPTURE(cut);
        std::vector<int32_t> before;
        std::string text_before;
        for (size_t i = 0; i < whole.tokens.size() && before.size() < cut; ++i) {
            before.insert(before.end(), whole.tokens[i].begin(), whole.tokens[i].end());
            text_before += whole.texts[i];
        }
        generate_request rest = base;
        rest.prompt.clear();
        rest.prompt_token_ids = whole.prompt_ids;
        rest.resume_output_token_ids = before;
        const streamed after = stream_of(*eng, rest);
        std::vector<int32_t> joined = before;
        const auto more = after.all_tokens();
        joined.insert(joined.end(), more.begin(), more.end());
        CHECK(joined == whole.all_tokens());
        CHECK(text_before + after.all_text() == whole.all_text());
        CHECK(after.finish == finish_reason::length);
    }
}

TEST_CASE("engine: resumed output tokens that leave nothing to do are refused") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    auto eng = start_engine(stories_config());
    generate_request r;
    r.prompt_token_ids = {1, 400, 34};
    r.params.max_tokens = 3;
    r.resume_output_token_ids = {5, 6, 7};
    collected c = [&] {
        auto s = eng->generate(r);
        return collect(s);
    }();
    CHECK(c.finish[0] == finish_reason::error);
    CHECK(c.errors[0].find("resumed") != std::string::npos);
    r.resume_output_token_ids = {5, 100000};
    r.params.max_tokens = 8;
    auto s2 = eng->generate(r);
    collected c2 = collect(s2);
    CHECK(c2.errors[0].find("vocabulary") != std::string::npos);
}
