// llm_engine over the real stories260K tokenizer and the paged test executor:
// text equals the decode of the tokens, n > 1 fans out into sequences sharing
// the prompt's blocks, stop strings end a sequence mid-stream (with or without
// the string), aborts produce a final delta, and bad requests are refused. The
// n > 1 sequences are made to end in a chosen order (support/finish_order.hpp)
// to check the id is freed whatever the order.
#include <doctest/doctest.h>

#include <algorithm>

#include "core/llm_engine.hpp"
#include "engine_loop_paged_executor.hpp"
#include "support/finish_order.hpp"
#include "support/shared_data.hpp"

using namespace actorlm;
using namespace actorlm::core;

namespace {

struct fixture {
    std::unique_ptr<tokenizer> tok;
    std::unique_ptr<actorlm::test::paged_hash_executor> exec;
    std::unique_ptr<llm_engine> eng;
};

bool make_fixture(fixture& f, int32_t num_blocks = 256) {
    auto tok = load_tokenizer_for_model(actorlm::test::shared_path("models/stories260K-hf"));
    REQUIRE_MESSAGE(tok.ok(), (tok.ok() ? "" : tok.message()));
    f.tok = std::move(tok).value();
    f.exec =
        std::make_unique<actorlm::test::paged_hash_executor>(num_blocks, 16, f.tok->vocab_size());
    actorlm::engine_config cfg;
    cfg.max_model_len = 512;
    auto eng = llm_engine::create(cfg, *f.tok, *f.exec);
    REQUIRE_MESSAGE(eng.ok(), (eng.ok() ? "" : eng.message()));
    f.eng = std::move(eng).value();
    return true;
}

actorlm::generate_request greedy(const std::string& id, const std::string& prompt,
                                 int32_t max_tokens) {
    actorlm::generate_request r;
    r.request_id = id;
    r.prompt = prompt;
    r.params.temperature = 0.0f;
    r.params.max_tokens = max_tokens;
    r.params.ignore_eos = true;
    return r;
}

}  // namespace

TEST_CASE("engine_loop: llm_engine text is the decode of its tokens, n > 1 shares the prompt") {
    ACTORLM_REQUIRE_SHARED("models/stories260K-hf");
    fixture f;
    make_fixture(f);
    auto one = greedy("a", "Once upon a time there was a little girl named Lily", 40);
    auto many = greedy("b", "Once upon a time there was a little girl named Lily", 12);
    many.params.n = 3;
    many.params.temperature = 1.0f;
    many.params.seed = 5;
    auto res = f.eng->generate({one, many});
    REQUIRE(res.ok());
    const auto& a = (*res)[0];
    REQUIRE(a.outputs.size() == 1);
    CHECK(a.outputs[0].token_ids.size() == 40);
    CHECK(a.outputs[0].finish == actorlm::finish_reason::length);
    CHECK_FALSE(a.outputs[0].text.empty());
    // The prompt context gives the first token its leading space, as in vLLM.
    std::vector<int32_t> all = a.prompt_token_ids;
    all.insert(all.end(), a.outputs[0].token_ids.begin(), a.outputs[0].token_ids.end());
    const std::string full = f.tok->decode(all, true);
    const std::string prompt_text = f.tok->decode(a.prompt_token_ids, true);
    CHECK(full == prompt_text + a.outputs[0].text);

    const auto& b = (*res)[1];
    REQUIRE(b.outputs.size() == 3);
    for (int k = 0; k < 3; ++k) {
        CHECK(b.outputs[static_cast<size_t>(k)].index == k);
        CHECK(b.outputs[static_cast<size_t>(k)].token_ids.size() == 12);
    }
    CHECK(b.outputs[0].token_ids != b.outputs[1].token_ids);  // seeds 5, 6, 7
    // Four requests with one prompt: every one after the first hit its full blocks.
    const auto st = f.eng->stats();
    const int64_t full_block_tokens =
        static_cast<int64_t>((a.prompt_token_ids.size() - 1) / 16 * 16);
    CHECK(st.prefix_cache_hits_total == 3 * full_block_tokens);
    CHECK_FALSE(f.eng->has_unfinished_requests());
    CHECK(f.eng->sched().kv().num_free_blocks() == 256);
}

TEST_CASE("engine_loop: llm_engine stop strings end the text, with or without the string") {
    ACTORLM_REQUIRE_SHARED("models/stories260K-hf");
    fixture f;
    make_fixture(f);
    auto base = f.eng->generate({greedy("x", "The cat", 60)});
    REQUIRE(base.ok());
    const std::string text = (*base)[0].outputs[0].text;
    REQUIRE(text.size() > 20);
    const std::string stop = text.substr(10, 4);
    const size_t at = text.find(stop);

    auto r = greedy("y", "The cat", 60);
    r.params.stop = {stop};
    auto cut = f.eng->generate({r});
    REQUIRE(cut.ok());
    const auto& seq = (*cut)[0].outputs[0];
    CHECK(seq.text == text.substr(0, at));
    CHECK(seq.finish == actorlm::finish_reason::stop);
    CHECK(seq.stop_reason == stop);
    CHECK(seq.token_ids.size() < 60);

    auto r2 = greedy("z", "The cat", 60);
    r2.params.stop = {stop};
    r2.params.include_stop_str_in_output = true;
    auto kept = f.eng->generate({r2});
    REQUIRE(kept.ok());
    CHECK((*kept)[0].outputs[0].text == text.substr(0, at + stop.size()));
    CHECK_FALSE(f.eng->has_unfinished_requests());
    CHECK(f.eng->sched().kv().num_free_blocks() == 256);
}

TEST_CASE("engine_loop: llm_engine abort yields a final delta and frees the blocks") {
    ACTORLM_REQUIRE_SHARED("models/stories260K-hf");
    fixture f;
    make_fixture(f);
    auto r = greedy("long", "Once upon a time", 200);
    r.params.n = 2;
    REQUIRE(f.eng->add_request(r).ok());
    f.eng->step();
    f.eng->step();
    CHECK(f.eng->abort_request("long"));
    CHECK_FALSE(f.eng->abort_request("nope"));
    int finals = 0;
    while (f.eng->has_unfinished_requests())
        for (auto& d : f.eng->step())
            if (d.finished()) {
                CHECK(d.finish == actorlm::finish_reason::abort);
                CHECK(d.request_id == "long");
                ++finals;
            }
    CHECK(finals == 2);
    CHECK(f.eng->sched().kv().num_free_blocks() == 256);
}

TEST_CASE("engine_loop: llm_engine refuses bad requests and configurations") {
    ACTORLM_REQUIRE_SHARED("models/stories260K-hf");
    fixture f;
    make_fixture(f);
    actorlm::generate_request chat;
    chat.messages.push_back({"user", "hi", "", "", ""});
    auto st = f.eng->add_request(chat);
    REQUIRE_FALSE(st.ok());
    CHECK(st.message().find("chat template") != std::string::npos);
    actorlm::generate_request huge;
    huge.prompt_token_ids.assign(600, 5);
    CHECK(f.eng->add_request(huge).message().find("longer than the maximum model length") !=
          std::string::npos);
    auto dup = greedy("d", "hi", 2);
    REQUIRE(f.eng->add_request(dup).ok());
    CHECK(f.eng->add_request(dup).message().find("already in use") != std::string::npos);
    auto bad = greedy("t", "hi", 2);
    bad.params.temperature = -1.0f;
    CHECK(f.eng->add_request(bad).message().find("temperature") != std::string::npos);
    // A batch with a bad request fails as a whole and leaves nothing running.
    auto res = f.eng->generate({greedy("ok", "hi", 3), bad});
    REQUIRE_FALSE(res.ok());
    while (f.eng->has_unfinished_requests()) f.eng->step();
    CHECK(f.eng->sched().kv().num_free_blocks() == 256);

    actorlm::engine_config cfg;
    cfg.scheduling_policy = "lottery";
    CHECK(llm_engine::create(cfg, *f.tok, *f.exec).message().find("lottery") != std::string::npos);
    cfg.scheduling_policy = "fcfs";
    cfg.max_model_len = 0;  // the executor's context (2^20) cannot fit its 256 blocks
    CHECK(llm_engine::create(cfg, *f.tok, *f.exec).message().find("cannot hold one sequence") !=
          std::string::npos);
}

namespace {

/// Steps `eng` to the end, checking one final delta per sequence; returns the
/// sequence indices of `id` in the order they finished, and their tokens.
std::vector<int32_t> run_to_end(llm_engine& eng, const std::string& id,
                                std::vector<std::vector<int32_t>>& tokens) {
    std::vector<int32_t> finished;
    while (eng.has_unfinished_requests())
        for (const auto& d : eng.step()) {
            REQUIRE(d.request_id == id);
            auto k = static_cast<size_t>(d.index);
            REQUIRE(k < tokens.size());
            CHECK(std::find(finished.begin(), finished.end(), d.index) == finished.end());
            tokens[k].insert(tokens[k].end(), d.token_ids.begin(), d.token_ids.end());
            if (d.finished()) finished.push_back(d.index);
        }
    return finished;
}

}  // namespace

TEST_CASE("engine_loop: llm_engine frees an n > 1 request id whatever order its sequences end in") {
    ACTORLM_REQUIRE_SHARED("models/stories260K-hf");
    fixture f;
    make_fixture(f);
    const int32_t max_tokens = 24;
    auto probe = greedy("probe", "Once upon a time", max_tokens);
    probe.params.n = 3;
    probe.params.temperature = 1.0f;
    probe.params.seed = 11;
    auto base = f.eng->generate({probe});
    REQUIRE(base.ok());
    std::vector<std::vector<int32_t>> seqs;
    for (const auto& o : (*base)[0].outputs) seqs.push_back(o.token_ids);

    // Reverse, then interleaved, under one request id: each run must free it.
    for (const std::vector<int32_t>& order :
         {std::vector<int32_t>{2, 1, 0}, std::vector<int32_t>{1, 0, 2},
          std::vector<int32_t>{0, 2, 1}}) {
        CAPTURE(order[0]);
        CAPTURE(order[1]);
        const auto stops = actorlm::test::stop_tokens_for_order(seqs, order);
        REQUIRE_FALSE(stops.empty());
        auto r = probe;
        r.request_id = "same-id";
        r.params.stop_token_ids = stops;
        REQUIRE(f.eng->add_request(r).ok());
        CHECK(f.eng->add_request(r).message().find("already in use") != std::string::npos);
        std::vector<std::vector<int32_t>> got(3);
        CHECK(run_to_end(*f.eng, "same-id", got) == order);
        for (size_t k = 0; k < 3; ++k) {
            REQUIRE(got[k].size() <= seqs[k].size());
            CHECK(std::equal(got[k].begin(), got[k].end(), seqs[k].begin()));
        }
        CHECK(f.eng->sched().kv().num_free_blocks() == 256);
    }
    // The id is free again for the next request.
    auto again = greedy("same-id", "hi", 2);
    CHECK(f.eng->add_request(again).ok());
    while (f.eng->has_unfinished_requests()) f.eng->step();
}

TEST_CASE("engine_loop: llm_engine abort after some sequences ended finishes only the rest") {
    ACTORLM_REQUIRE_SHARED("models/stories260K-hf");
    fixture f;
    make_fixture(f);
    auto probe = greedy("probe", "Once upon a time", 24);
    probe.params.n = 3;
    probe.params.temperature = 1.0f;
    probe.params.seed = 11;
    auto base = f.eng->generate({probe});
    REQUIRE(base.ok());
    std::vector<std::vector<int32_t>> seqs;
    for (const auto& o : (*base)[0].outputs) seqs.push_back(o.token_ids);
    // Sequence 2 ends first by a stop token; then the request is aborted.
    const auto stops = actorlm::test::stop_tokens_for_order(seqs, {2, 1, 0});
    REQUIRE_FALSE(stops.empty());
    auto r = probe;
    r.request_id = "ab";
    r.params.stop_token_ids = {stops[0]};
    REQUIRE(f.eng->add_request(r).ok());
    std::vector<int32_t> finals;
    while (finals.empty())
        for (const auto& d : f.eng->step())
            if (d.finished()) finals.push_back(d.index);
    REQUIRE(finals == std::vector<int32_t>{2});
    REQUIRE(f.eng->abort_request("ab"));
    // Until the abort's final deltas are out, the id is still in use.
    CHECK(f.eng->add_request(r).message().find("already in use") != std::string::npos);
    std::vector<actorlm::finish_reason> reasons(3, actorlm::finish_reason::none);
    while (f.eng->has_unfinished_requests())
        for (const auto& d : f.eng->step())
            if (d.finished()) {
                finals.push_back(d.index);
                reasons[static_cast<size_t>(d.index)] = d.finish;
            }
    CHECK(finals == std::vector<int32_t>{2, 0, 1});
    CHECK(reasons[0] == actorlm::finish_reason::abort);
    CHECK(reasons[1] == actorlm::finish_reason::abort);
    CHECK_FALSE(f.eng->abort_request("ab"));
    CHECK(f.eng->sched().kv().num_free_blocks() == 256);
    CHECK(f.eng->add_request(greedy("ab", "hi", 1)).ok());
}

TEST_CASE("llm_engine: an executor without hidden-state output refuses embeddings up front") {
    // The paged test executor (like CUDA's today) cannot pool: the request is refused when
    // added, so no step that batches it with generations fails.
    ACTORLM_REQUIRE_SHARED("models/stories260K-hf");
    fixture f;
    make_fixture(f);
    actorlm::generate_request embed;
    embed.prompt = "Once upon a time";
    embed.params.pooling = actorlm::pooling_params{};
    const status st = f.eng->add_request(embed);
    REQUIRE_FALSE(st.ok());
    CHECK(st.message().find("returns hidden states") != std::string::npos);
    actorlm::generate_request gen;
    gen.prompt = "Once upon a time";
    gen.params.max_tokens = 3;
    auto res = f.eng->generate({gen});
    REQUIRE(res.ok());
    CHECK((*res)[0].outputs[0].token_ids.size() == 3);
}
