// /v1/completions body parsing: every field reaches generate_request, and every
// malformed or out-of-range value is a 400 naming the field.
#include <doctest/doctest.h>

#include "net/openai_protocol.hpp"

using namespace actorlm;
using namespace actorlm::net;

namespace {

openai_request parse_ok(const std::string& body) {
    openai_request r;
    auto err = parse_completion_request(body, r);
    INFO(body);
    if (err) INFO(err->message);
    REQUIRE_FALSE(err.has_value());
    return r;
}

api_error parse_err(const std::string& body) {
    openai_request r;
    auto err = parse_completion_request(body, r);
    INFO(body);
    REQUIRE(err.has_value());
    return *err;
}

}  // namespace

TEST_CASE("completion request: every sampling field reaches the engine request") {
    const auto r = parse_ok(R"({"model":"m","prompt":"hi","max_tokens":7,"temperature":0.5,
        "top_p":0.9,"top_k":40,"min_p":0.05,"n":3,"stop":["a","bb"],"seed":42,
        "presence_penalty":0.5,"frequency_penalty":-0.5,"repetition_penalty":1.1,
        "logit_bias":{"17":-100,"3":2.5},"logprobs":2,"echo":true,"ignore_eos":true,
        "min_tokens":2,"stop_token_ids":[5,6],"skip_special_tokens":false,
        "spaces_between_special_tokens":false,"include_stop_str_in_output":true,
        "user":"u1","priority":-3,"cache_salt":"salt","stream":true,"speculative_decoding":false,
        "stream_options":{"include_usage":true},"unknown_field":{"x":1}})");
    CHECK(r.kind == endpoint_kind::completion);
    CHECK(r.model == "m");
    REQUIRE(r.prompts.size() == 1);
    const auto& q = r.prompts[0];
    CHECK(q.prompt == "hi");
    const auto& p = q.params;
    CHECK(p.max_tokens == 7);
    CHECK(p.temperature == doctest::Approx(0.5));
    CHECK(p.top_p == doctest::Approx(0.9));
    CHECK(p.top_k == 40);
    CHECK(p.min_p == doctest::Approx(0.05));
    CHECK(p.n == 3);
    CHECK(p.stop == std::vector<std::string>{"a", "bb"});
    REQUIRE(p.seed.has_value());
    CHECK(*p.seed == 42u);
    CHECK(p.presence_penalty == doctest::Approx(0.5));
    CHECK(p.frequency_penalty == doctest::Approx(-0.5));
    CHECK(p.repetition_penalty == doctest::Approx(1.1));
    REQUIRE(p.logit_bias.size() == 2);
    CHECK(p.logit_bias[0] == std::pair<int32_t, float>{17, -100.0f});
    CHECK(p.logit_bias[1] == std::pair<int32_t, float>{3, 2.5f});
    CHECK(p.logprobs == 2);
    CHECK(p.prompt_logprobs == 2);  // echo + logprobs scores the prompt too
    CHECK(p.ignore_eos);
    CHECK(p.min_tokens == 2);
    CHECK(p.stop_token_ids == std::vector<int32_t>{5, 6});
    CHECK_FALSE(p.skip_special_tokens);
    CHECK_FALSE(p.spaces_between_special_tokens);
    CHECK(p.include_stop_str_in_output);
    CHECK_FALSE(p.speculative_decoding);
    CHECK(q.priority == -3);
    CHECK(q.cache_salt == "salt");
    CHECK(r.echo);
    CHECK(r.want_logprobs);
    CHECK(r.top_logprobs == 2);
    CHECK(r.user == "u1");
    CHECK(r.stream);
    CHECK(r.include_usage);
}

TEST_CASE("completion request: defaults follow OpenAI (max_tokens 16, no logprobs)") {
    const auto r = parse_ok(R"({"prompt":"x"})");
    CHECK(r.model.empty());
    CHECK(r.prompts[0].params.max_tokens == 16);
    CHECK(r.prompts[0].params.logprobs == -1);
    CHECK_FALSE(r.want_logprobs);
    CHECK_FALSE(r.stream);
    CHECK(r.prompts[0].params.stop.empty());
}

TEST_CASE("completion request: null values mean unset") {
    const auto r = parse_ok(R"({"prompt":"x","max_tokens":null,"stop":null,"temperature":null})");
    CHECK(r.prompts[0].params.max_tokens == 16);
    CHECK(r.prompts[0].params.temperature == doctest::Approx(1.0));
}

TEST_CASE("completion request: prompt forms") {
    SUBCASE("a single string") {
        const auto r = parse_ok(R"({"prompt":"once"})");
        REQUIRE(r.prompts.size() == 1);
        CHECK(r.prompts[0].prompt == "once");
    }
    SUBCASE("a list of strings becomes one engine request per prompt") {
        const auto r = parse_ok(R"({"prompt":["a","b","c"],"n":2})");
        REQUIRE(r.prompts.size() == 3);
        CHECK(r.prompts[2].prompt == "c");
        CHECK(r.prompts[2].params.n == 2);
    }
    SUBCASE("a list of token ids") {
        const auto r = parse_ok(R"({"prompt":[1,2,3]})");
        REQUIRE(r.prompts.size() == 1);
        CHECK(r.prompts[0].prompt_token_ids == std::vector<int32_t>{1, 2, 3});
        CHECK(r.prompts[0].prompt.empty());
    }
    SUBCASE("a list of token-id lists") {
        const auto r = parse_ok(R"({"prompt":[[1,2],[3]]})");
        REQUIRE(r.prompts.size() == 2);
        CHECK(r.prompts[1].prompt_token_ids == std::vector<int32_t>{3});
    }
    SUBCASE("single-string stop") {
        const auto r = parse_ok(R"({"prompt":"x","stop":"\n"})");
        CHECK(r.prompts[0].params.stop == std::vector<std::string>{"\n"});
    }
    SUBCASE("integral floats are accepted for integers") {
        const auto r = parse_ok(R"({"prompt":"x","max_tokens":12.0})");
        CHECK(r.prompts[0].params.max_tokens == 12);
    }
    SUBCASE("negative seed maps onto the unsigned range") {
        const auto r = parse_ok(R"({"prompt":"x","seed":-1})");
        CHECK(*r.prompts[0].params.seed == UINT64_MAX);
    }
}

TEST_CASE("completion request: malformed bodies are 400 invalid_json") {
    for (const char* body : {"", "{", "[1,2]", "\"str\"", "{\"prompt\":\"x\",}", "nul"}) {
        const auto e = parse_err(body);
        CHECK(e.http_status == 400);
        CHECK(e.type == "invalid_request_error");
        CHECK(e.code == "invalid_json");
    }
}

TEST_CASE("completion request: missing prompt is missing_required_parameter") {
    const auto e = parse_err(R"({"model":"m"})");
    CHECK(e.http_status == 400);
    CHECK(e.param == "prompt");
    CHECK(e.code == "missing_required_parameter");
}

TEST_CASE("completion request: wrong types name the field") {
    struct bad {
        const char* body;
        const char* param;
    };
    const bad cases[] = {
        {R"({"prompt":5})", "prompt"},
        {R"({"prompt":[]})", "prompt"},
        {R"({"prompt":["a",[1]]})", "prompt"},
        {R"({"prompt":[[]]})", "prompt"},
        {R"({"prompt":[1,"a"]})", "prompt"},
        {R"({"prompt":[-1]})", "prompt"},
        {R"({"prompt":"x","model":3})", "model"},
        {R"({"prompt":"x","max_tokens":"10"})", "max_tokens"},
        {R"({"prompt":"x","max_tokens":1.5})", "max_tokens"},
        {R"({"prompt":"x","max_tokens":99999999999})", "max_tokens"},
        {R"({"prompt":"x","temperature":"hot"})", "temperature"},
        {R"({"prompt":"x","n":true})", "n"},
        {R"({"prompt":"x","stop":[1]})", "stop[]"},
        {R"({"prompt":"x","stop":5})", "stop"},
        {R"({"prompt":"x","seed":"s"})", "seed"},
        {R"({"prompt":"x","logit_bias":[1]})", "logit_bias"},
        {R"({"prompt":"x","logit_bias":{"abc":1}})", "logit_bias"},
        {R"({"prompt":"x","logit_bias":{"5":"1"}})", "logit_bias"},
        {R"({"prompt":"x","logprobs":true})", "logprobs"},
        {R"({"prompt":"x","echo":1})", "echo"},
        {R"({"prompt":"x","stream":"yes"})", "stream"},
        {R"({"prompt":"x","stream":true,"stream_options":{"include_usage":1}})",
         "stream_options.include_usage"},
        {R"({"prompt":"x","stream_options":[]})", "stream_options"},
        {R"({"prompt":"x","stop_token_ids":"1"})", "stop_token_ids"},
        {R"({"prompt":"x","ignore_eos":"no"})", "ignore_eos"},
        {R"({"prompt":"x","speculative_decoding":"off"})", "speculative_decoding"},
        {R"({"prompt":"x","user":1})", "user"},
        {R"({"prompt":"x","priority":"high"})", "priority"},
        {R"({"prompt":"x","cache_salt":7})", "cache_salt"},
    };
    for (const auto& c : cases) {
        const auto e = parse_err(c.body);
        CHECK(e.http_status == 400);
        CHECK(e.param == c.param);
        CHECK(e.message.find(c.param) != std::string::npos);
    }
}

TEST_CASE("completion request: out-of-range values are rejected as vLLM rejects them") {
    struct bad {
        const char* body;
        const char* param;
    };
    const bad cases[] = {
        {R"({"prompt":"x","temperature":-0.1})", "temperature"},
        {R"({"prompt":"x","top_p":0})", "top_p"},
        {R"({"prompt":"x","top_p":1.01})", "top_p"},
        {R"({"prompt":"x","top_k":-2})", "top_k"},
        {R"({"prompt":"x","min_p":1.5})", "min_p"},
        {R"({"prompt":"x","n":0})", "n"},
        {R"({"prompt":"x","n":1000})", "n"},
        {R"({"prompt":"x","logprobs":21})", "logprobs"},
        {R"({"prompt":"x","logprobs":-1})", "logprobs"},
        {R"({"prompt":"x","max_tokens":0})", "max_tokens"},
        {R"({"prompt":"x","max_tokens":-5})", "max_tokens"},
        {R"({"prompt":"x","min_tokens":-1})", "min_tokens"},
        {R"({"prompt":"x","max_tokens":4,"min_tokens":5})", "min_tokens"},
        {R"({"prompt":"x","presence_penalty":3})", "presence_penalty"},
        {R"({"prompt":"x","frequency_penalty":-2.5})", "frequency_penalty"},
        {R"({"prompt":"x","repetition_penalty":0})", "repetition_penalty"},
        {R"({"prompt":"x","logit_bias":{"1":101}})", "logit_bias"},
        {R"({"prompt":"x","stop":[""]})", "stop"},
        {R"({"prompt":"x","stream_options":{"include_usage":true}})", "stream_options"},
        {R"({"prompt":"x","cache_salt":""})", "cache_salt"},
        {R"({"prompt":"x","suffix":"s"})", "suffix"},
        {R"({"prompt":"x","best_of":3})", "best_of"},
    };
    for (const auto& c : cases) {
        const auto e = parse_err(c.body);
        CHECK(e.http_status == 400);
        CHECK(e.param == c.param);
    }
}

TEST_CASE("completion request: temperature 0 (greedy) and top_k -1 are valid") {
    const auto r = parse_ok(R"({"prompt":"x","temperature":0,"top_k":-1,"top_p":1})");
    CHECK(r.prompts[0].params.temperature == 0.0f);
    CHECK(r.prompts[0].params.top_k == -1);
}

TEST_CASE("tokenize and detokenize requests") {
    tokenize_request t;
    REQUIRE_FALSE(parse_tokenize_request(R"({"model":"m","prompt":"hey"})", t).has_value());
    CHECK(t.prompt.prompt == "hey");
    CHECK_FALSE(t.prompt.add_special_tokens.has_value());  // the engine's default: BOS
    REQUIRE_FALSE(
        parse_tokenize_request(
            R"({"messages":[{"role":"user","content":"q"}],"add_generation_prompt":false})", t)
            .has_value());
    CHECK(t.prompt.messages.size() == 1);
    CHECK_FALSE(t.prompt.add_special_tokens.has_value());  // for messages: no BOS
    CHECK_FALSE(t.prompt.add_generation_prompt);
    REQUIRE_FALSE(
        parse_tokenize_request(R"({"prompt":"a","add_special_tokens":false})", t).has_value());
    REQUIRE(t.prompt.add_special_tokens.has_value());
    CHECK_FALSE(*t.prompt.add_special_tokens);
    CHECK(parse_tokenize_request(R"({"model":"m"})", t)->code == "missing_required_parameter");
    CHECK(parse_tokenize_request(R"({"prompt":1})", t)->param == "prompt");

    detokenize_request d;
    REQUIRE_FALSE(parse_detokenize_request(R"({"tokens":[1,2,300]})", d).has_value());
    CHECK(d.tokens == std::vector<int32_t>{1, 2, 300});
    CHECK(parse_detokenize_request(R"({})", d)->param == "tokens");
    CHECK(parse_detokenize_request(R"({"tokens":["a"]})", d)->param == "tokens");
}

TEST_CASE("completion and chat requests carry add_special_tokens when sent") {
    const auto plain = parse_ok(R"({"prompt":"x"})");
    CHECK_FALSE(plain.prompts[0].add_special_tokens.has_value());
    CHECK_FALSE(plain.max_tokens_set);
    const auto off = parse_ok(R"({"prompt":["x","y"],"add_special_tokens":false,"max_tokens":3})");
    for (const auto& p : off.prompts) {
        REQUIRE(p.add_special_tokens.has_value());
        CHECK_FALSE(*p.add_special_tokens);
    }
    CHECK(off.max_tokens_set);
    openai_request chat;
    REQUIRE_FALSE(parse_chat_request(R"({"messages":[{"role":"user","content":"q"}],
                                         "add_special_tokens":true,"max_completion_tokens":5})",
                                     chat)
                      .has_value());
    REQUIRE(chat.prompts[0].add_special_tokens.has_value());
    CHECK(*chat.prompts[0].add_special_tokens);
    CHECK(chat.max_tokens_set);
    CHECK(parse_completion_request(R"({"prompt":"x","add_special_tokens":1})", chat)->param ==
          "add_special_tokens");
}

TEST_CASE("completion request: kv_transfer_params (disaggregated prefill) reach the engine") {
    const auto r = parse_ok(R"({"prompt":"x","kv_transfer_params":{"do_remote_prefill":true,
        "remote_host":"10.0.0.2","remote_port":7100,"remote_request_id":"cmpl-1-prefill",
        "remote_block_ids":[4,9,2],"remote_engine_id":"ignored"}})");
    const auto& kt = r.prompts[0].params.kv_transfer;
    REQUIRE(kt.has_value());
    CHECK(kt->do_remote_prefill);
    CHECK_FALSE(kt->do_remote_decode);
    CHECK(kt->remote_host == "10.0.0.2");
    CHECK(kt->remote_port == 7100);
    CHECK(kt->remote_request_id == "cmpl-1-prefill");
    CHECK(kt->remote_block_ids == std::vector<int32_t>{4, 9, 2});
    CHECK_FALSE(parse_ok(R"({"prompt":"x","kv_transfer_params":null})")
                    .prompts[0]
                    .params.kv_transfer.has_value());

    struct bad {
        const char* body;
        const char* param;
    };
    const bad cases[] = {
        {R"({"prompt":"x","kv_transfer_params":[]})", "kv_transfer_params"},
        {R"({"prompt":"x","kv_transfer_params":{"remote_port":"7100"}})",
         "kv_transfer_params.remote_port"},
        {R"({"prompt":"x","kv_transfer_params":{"do_remote_prefill":true}})",
         "kv_transfer_params"},
        {R"({"prompt":"x","n":2,"kv_transfer_params":{"do_remote_decode":true}})",
         "kv_transfer_params"},
    };
    for (const auto& c : cases) {
        const auto e = parse_err(c.body);
        CHECK(e.http_status == 400);
        CHECK(e.param == c.param);
    }
}
