// The server's vllm_xargs body field (vLLM's extra sampling arguments for custom logits
// processors) reaches sampling_params::extra_args_json on completions and chat requests; a
// non-object is a 400 naming the field.
#include <doctest/doctest.h>

#include "net/openai_protocol.hpp"

TEST_CASE("plugins: vllm_xargs reaches the request's extra args (completions and chat)") {
    using namespace actorlm::net;
    openai_request r;
    auto err = parse_completion_request(
        R"({"model":"m","prompt":"hi","vllm_xargs":{"banned_token_ids":[1, 2],"k":"v"}})", r);
    REQUIRE_FALSE(err.has_value());
    REQUIRE(r.prompts.size() == 1);
    CHECK(r.prompts[0].params.extra_args_json == R"({"banned_token_ids":[1,2],"k":"v"})");

    openai_request c;
    err = parse_chat_request(R"({"model":"m","messages":[{"role":"user","content":"hi"}],
        "vllm_xargs":{"banned_token_ids":[3]}})",
                             c);
    REQUIRE_FALSE(err.has_value());
    REQUIRE(c.prompts.size() == 1);
    CHECK(c.prompts[0].params.extra_args_json == R"({"banned_token_ids":[3]})");

    openai_request none;
    REQUIRE_FALSE(parse_completion_request(R"({"model":"m","prompt":"hi"})", none).has_value());
    CHECK(none.prompts[0].params.extra_args_json.empty());

    openai_request bad;
    err = parse_completion_request(R"({"model":"m","prompt":"hi","vllm_xargs":[1]})", bad);
    REQUIRE(err.has_value());
    CHECK(err->message.find("vllm_xargs") != std::string::npos);
}
