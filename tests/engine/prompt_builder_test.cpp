// core::build_prompt_tokens with the real Llama-3 tokenizer: special tokens written in a
// text prompt are parsed as HF tokenizers (and vLLM) parse them, unless the request asks
// for literal text; add_special_tokens decides BOS for prompts and messages alike; a
// rendered chat prompt is parsed into its control tokens.
#include <algorithm>

#include "chat/chat_template.hpp"
#include "core/prompt_builder.hpp"
#include "tokenizer_vectors.hpp"

using namespace actorlm;
using namespace actorlm::test;

namespace {

constexpr int32_t k_begin_of_text = 128000;
constexpr int32_t k_start_header = 128006;
constexpr int32_t k_end_header = 128007;
constexpr int32_t k_eot = 128009;

bool contains(const std::vector<int32_t>& ids, int32_t id) {
    return std::find(ids.begin(), ids.end(), id) != ids.end();
}

}  // namespace

TEST_CASE("prompt builder parses special tokens written in a text prompt (Llama-3)") {
    ACTORLM_REQUIRE_SHARED("tokenizers/llama3/tokenizer.json");
    const tokenizer& tok = *cached_tokenizer("tokenizers/llama3/tokenizer.json");
    generate_request req;
    req.prompt = "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>";
    auto ids = core::build_prompt_tokens(req, tok, nullptr);
    REQUIRE(ids.ok());
    // HF: tokenizer("<|start_header_id|>user...").input_ids (this tokenizer.json adds no BOS)
    CHECK(ids.value() ==
          std::vector<int32_t>{k_start_header, 882, k_end_header, 271, 13347, k_eot});

    req.parse_special_tokens = false;  // HF's split_special_tokens: the markers stay text
    auto literal = core::build_prompt_tokens(req, tok, nullptr);
    REQUIRE(literal.ok());
    CHECK_FALSE(contains(literal.value(), k_start_header));
    CHECK_FALSE(contains(literal.value(), k_eot));
    CHECK(literal.value().size() > ids.value().size());
    CHECK(tok.decode(literal.value(), true) == req.prompt);
}

TEST_CASE("prompt builder honours add_special_tokens for a text prompt (Llama-2)") {
    ACTORLM_REQUIRE_SHARED("tokenizers/llama2/tokenizer.json");
    const tokenizer& tok = *cached_tokenizer("tokenizers/llama2/tokenizer.json");
    REQUIRE(tok.add_bos());
    generate_request req;
    req.prompt = "Hi";
    auto with_bos = core::build_prompt_tokens(req, tok, nullptr);
    REQUIRE(with_bos.ok());
    CHECK(with_bos.value().front() == tok.bos_id());
    req.add_special_tokens = false;
    auto without = core::build_prompt_tokens(req, tok, nullptr);
    REQUIRE(without.ok());
    CHECK(without.value() ==
          std::vector<int32_t>(with_bos.value().begin() + 1, with_bos.value().end()));
}

TEST_CASE("prompt builder parses a rendered chat prompt into its control tokens (Llama-3)") {
    ACTORLM_REQUIRE_SHARED("tokenizers/llama3/tokenizer.json");
    const tokenizer& tok = *cached_tokenizer("tokenizers/llama3/tokenizer.json");

    auto tmpl = chat_template::from_tokenizer_config(
        read_file(shared_path("tokenizers/llama3/tokenizer_config.json")));
    REQUIRE_MESSAGE(tmpl.ok(), (tmpl.ok() ? std::string() : tmpl.message()));
    generate_request chat;
    chat.messages.push_back({"user", "Hi", "", "", ""});
    auto ids = core::build_prompt_tokens(chat, tok, &tmpl.value());
    REQUIRE(ids.ok());
    // "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>" and the
    // assistant header: one BOS, from the template.
    CHECK(ids.value() == std::vector<int32_t>{k_begin_of_text, k_start_header, 882, k_end_header,
                                              271, 13347, k_eot, k_start_header, 78191,
                                              k_end_header, 271});
    auto text = core::render_chat_prompt(tmpl.value(), tok, chat.messages, "", true);
    REQUIRE(text.ok());
    CHECK(tok.encode(text.value(), false, true) == ids.value());
}

TEST_CASE("prompt builder gives templates tool-call arguments as mappings (Llama-3.1)") {
    ACTORLM_REQUIRE_SHARED("tokenizers/llama3/tokenizer.json");
    ACTORLM_REQUIRE_SHARED("templates/meta-llama-Llama-3.1-8B-Instruct.jinja");
    const tokenizer& tok = *cached_tokenizer("tokenizers/llama3/tokenizer.json");
    auto tmpl = chat_template::parse(
        read_file(shared_path("templates/meta-llama-Llama-3.1-8B-Instruct.jinja")));
    REQUIRE(tmpl.ok());
    std::vector<chat_message> messages(3);
    messages[0].role = "user";
    messages[0].content = "Weather in Paris?";
    messages[1].role = "assistant";
    // OpenAI clients send arguments as JSON text; the template writes `arguments | tojson`.
    messages[1].tool_calls_json =
        R"([{"id":"c1","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Paris\"}"}}])";
    messages[2].role = "tool";
    messages[2].tool_call_id = "c1";
    messages[2].content = "sunny";
    const std::string tools =
        R"([{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}])";
    auto text = core::render_chat_prompt(*tmpl, tok, messages, tools, true);
    REQUIRE(text.ok());
    CHECK(text->find(R"({"name": "get_weather", "parameters": {"city": "Paris"}})") !=
          std::string::npos);
    CHECK(text->find("<|start_header_id|>ipython<|end_header_id|>\n\n\"sunny\"") !=
          std::string::npos);
}

TEST_CASE("prompt builder passes chat_template_kwargs to the template (Qwen3 enable_thinking)") {
    ACTORLM_REQUIRE_SHARED("tokenizers/llama3/tokenizer.json");
    ACTORLM_REQUIRE_SHARED("templates/Qwen-Qwen3-0.6B.jinja");
    const tokenizer& tok = *cached_tokenizer("tokenizers/llama3/tokenizer.json");
    auto tmpl = chat_template::parse(read_file(shared_path("templates/Qwen-Qwen3-0.6B.jinja")));
    REQUIRE(tmpl.ok());
    std::vector<chat_message> messages(1);
    messages[0].role = "user";
    messages[0].content = "Hi";
    auto thinking = core::render_chat_prompt(*tmpl, tok, messages, "", true);
    auto plain = core::render_chat_prompt(*tmpl, tok, messages, "", true,
                                          R"({"enable_thinking": false})");
    REQUIRE(thinking.ok());
    REQUIRE(plain.ok());
    CHECK(thinking->ends_with("<|im_start|>assistant\n"));
    CHECK(plain->ends_with("<|im_start|>assistant\n<think>\n\n</think>\n\n"));
}
