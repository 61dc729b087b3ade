// The tool-call and reasoning parsers on scripted model outputs: each output is fed in
// every grouping of its tokens (2^(k-1) chunkings), byte by byte and in every two-way
// split, and the streamed deltas must add up to the expected message — the one the
// non-streamed response carries — with every call's id and name before its arguments.
#include <doctest/doctest.h>

#include <cctype>
#include <numeric>

#include "net/partial_json.hpp"
#include "net/chat_output_stream.hpp"

using namespace actorlm::net;

namespace {

struct message {
    std::string reasoning;
    std::string content;
    std::vector<tool_call_out> calls;
};

struct setup {
    std::string tool_parser;       // "" none, a --tool-call-parser name, "required", "named:f"
    std::string reasoning_parser;  // "" none
    size_t max_calls = SIZE_MAX;
};

std::shared_ptr<const tool_parser> tools_for(const std::string& name) {
    if (name.empty()) return nullptr;
    if (name == "required") return make_required_tool_parser();
    if (name.starts_with("named:")) return make_named_tool_parser(name.substr(6));
    return make_tool_parser(name);
}

// Feeds `chunks`, checking the delta protocol, and returns what a client assembles.
message stream_chunks(const setup& s, const std::vector<std::string>& chunks) {
    chat_output_stream stream(
        s.reasoning_parser.empty() ? nullptr : make_reasoning_parser(s.reasoning_parser),
        tools_for(s.tool_parser), s.max_calls);
    message got;
    auto take = [&](const chat_delta& d) {
        got.reasoning += d.reasoning;
        got.content += d.content;
        for (const auto& c : d.tool_calls) {
            if (!c.id.empty()) {  // a call's first entry: index, id and name, no arguments
                REQUIRE(static_cast<size_t>(c.index) == got.calls.size());
                CHECK_FALSE(c.name.empty());
                CHECK(c.arguments.empty());
                got.calls.push_back(c);
            } else {
                REQUIRE(static_cast<size_t>(c.index) < got.calls.size());
                CHECK(c.name.empty());
                got.calls[static_cast<size_t>(c.index)].arguments += c.arguments;
            }
        }
    };
    for (const auto& chunk : chunks) take(stream.feed(chunk));
    take(stream.finish());
    // The stream's own record (what the non-streamed message sends) agrees.
    CHECK(stream.content() == got.content);
    CHECK(stream.reasoning() == got.reasoning);
    REQUIRE(stream.tool_calls().size() == got.calls.size());
    for (size_t i = 0; i < got.calls.size(); ++i) {
        CHECK(stream.tool_calls()[i].id == got.calls[i].id);
        CHECK(stream.tool_calls()[i].arguments == got.calls[i].arguments);
    }
    return got;
}

void check_message(const message& got, const message& want, const std::string& how) {
    INFO("chunking: " << how);
    CHECK(got.reasoning == want.reasoning);
    CHECK(got.content == want.content);
    REQUIRE(got.calls.size() == want.calls.size());
    for (size_t i = 0; i < want.calls.size(); ++i) {
        CHECK(got.calls[i].name == want.calls[i].name);
        CHECK(got.calls[i].arguments == want.calls[i].arguments);
    }
}

// Every grouping of the tokens, every byte alone, and every split in two.
void check_every_chunking(const setup& s, const std::vector<std::string>& tokens,
                          const message& want) {
    REQUIRE(tokens.size() <= 16);
    const size_t k = tokens.size();
    for (uint32_t cuts = 0; cuts < (1u << (k - 1)); ++cuts) {
        std::vector<std::string> chunks{tokens[0]};
        for (size_t i = 1; i < k; ++i) {
            if (cuts & (1u << (i - 1)))
                chunks.push_back(tokens[i]);
            else
                chunks.back() += tokens[i];
        }
        check_message(stream_chunks(s, chunks), want, "token grouping " + std::to_string(cuts));
    }
    const std::string text = std::accumulate(tokens.begin(), tokens.end(), std::string());
    std::vector<std::string> bytes;
    for (char c : text) bytes.emplace_back(1, c);
    check_message(stream_chunks(s, bytes), want, "byte by byte");
    for (size_t at = 0; at <= text.size(); ++at)
        check_message(stream_chunks(s, {text.substr(0, at), text.substr(at)}), want,
                      "split at " + std::to_string(at));
}

tool_call_out call(std::string name, std::string arguments) {
    return {0, "", std::move(name), std::move(arguments)};
}

}  // namespace

TEST_CASE("tool parser hermes: content, then two calls, in every chunking") {
    check_every_chunking(
        {"hermes"},
        {"Let me check.", "\n", "<tool", "_call", ">\n{\"name\": \"get_", "weather\", ",
         "\"arguments\": {\"city\": ", "\"Par", "is\"}}\n</tool", "_call>",
         "\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>"},
        {"", "Let me check.\n",
         {call("get_weather", R"({"city": "Paris"})"), call("get_time", "{}")}});
}

TEST_CASE("tool parser hermes: text without a call, a partial marker and a broken call stay content") {
    check_every_chunking({"hermes"}, {"Hello", " <to", "ol"}, {"", "Hello <tool", {}});
    check_every_chunking({"hermes"}, {"x ", "<tool_call>", "not json", "</tool_call>"},
                         {"", "x <tool_call>not json</tool_call>", {}});
}

TEST_CASE("tool parser hermes: arguments with braces and a closing tag inside strings") {
    check_every_chunking(
        {"hermes"},
        {"<tool_call>", "{\"arguments\": {\"q\": \"a}b", " \\\"</tool_call>\\\"\"}, ",
         "\"name\": \"search\"}", "</tool_call>"},
        {"", "", {call("search", R"({"q": "a}b \"</tool_call>\""})")}});
}

TEST_CASE("tool parser llama3_json: python tag and semicolon-separated calls") {
    check_every_chunking({"llama3_json"},
                         {"<|python_tag|>", "{\"name\": \"search\", ", "\"parameters\": {\"q\": ",
                          "\"x\"}}", "; ", "{\"name\": \"now\", \"parameters\": {}}"},
                         {"", "", {call("search", R"({"q": "x"})"), call("now", "{}")}});
    check_every_chunking({"llama3_json"}, {"{\"name\": ", "\"f\", \"parameters\": {\"a\": [1, 2]}}"},
                         {"", "", {call("f", R"({"a": [1, 2]})")}});
}

TEST_CASE("tool parser llama3_json: plain answers are content") {
    check_every_chunking({"llama3_json"}, {"The ", "answer", " is {42}."},
                         {"", "The answer is {42}.", {}});
    check_every_chunking({"llama3_json"}, {"<|py", "x"}, {"", "<|pyx", {}});
}

TEST_CASE("tool parser mistral: JSON array after [TOOL_CALLS] with 9-character ids") {
    setup s{"mistral"};
    check_every_chunking(s,
                         {"Sure", "[TOOL", "_CALLS]", "[{\"name\": \"add\", ",
                          "\"arguments\": {\"a\": 1, ", "\"b\": 2}}, ",
                          "{\"name\": \"neg\", \"arguments\": {\"x\": -3.5e2}}]"},
                         {"", "Sure", {call("add", R"({"a": 1, "b": 2})"), call("neg", R"({"x": -3.5e2})")}});
    const message m = stream_chunks(s, {"[TOOL_CALLS][{\"name\": \"f\", \"arguments\": {}}]"});
    REQUIRE(m.calls.size() == 1);
    CHECK(m.calls[0].id.size() == 9);
    for (char c : m.calls[0].id) CHECK(std::isalnum(static_cast<unsigned char>(c)));
}

TEST_CASE("tool parser mistral: v11 name[ARGS]{...} calls") {
    check_every_chunking({"mistral"},
                         {"[TOOL_CALLS]", "add", "[ARGS]", "{\"a\": 1}", "[TOOL_CALLS]",
                          "neg[AR", "GS]{\"x\": ", "3}"},
                         {"", "", {call("add", R"({"a": 1})"), call("neg", R"({"x": 3})")}});
}

TEST_CASE("tool parser pythonic: a list of calls with Python literals becomes JSON") {
    check_every_chunking(
        {"pythonic"},
        {"[get_weather(", "city='Par", "is', days=3", ", metric=True, tags=[\"a\", None]), ",
         "now()", "]"},
        {"",
         "",
         {call("get_weather", R"({"city": "Paris", "days": 3, "metric": true, "tags": ["a", null]})"),
          call("now", "{}")}});
    check_every_chunking({"pythonic"},
                         {"<|python_start|>", "[f(x={'k': (1, 2)}, s=\"it\\'s\\n\")]",
                          "<|python_end|>"},
                         {"", "", {call("f", R"({"x": {"k": [1, 2]}, "s": "it's\n"})")}});
}

TEST_CASE("tool parser pythonic: text that is not a call list is content") {
    check_every_chunking({"pythonic"}, {"[1] ", "See the docs."}, {"", "[1] See the docs.", {}});
    check_every_chunking({"pythonic"}, {"Sure, ", "[f()]"}, {"", "Sure, [f()]", {}});
}

TEST_CASE("tool parser required and named: the forced outputs") {
    check_every_chunking({"required"},
                         {"[{\"name\": \"f\", ", "\"parameters\": {\"a\": 1}}", ", {\"name\": \"g\", "
                          "\"parameters\": {}}]"},
                         {"", "", {call("f", R"({"a": 1})"), call("g", "{}")}});
    check_every_chunking({"named:get_weather"}, {"{\"city\":", " \"Paris\"", "}"},
                         {"", "", {call("get_weather", R"({"city": "Paris"})")}});
}

TEST_CASE("tool parser: parallel_tool_calls false keeps the first call") {
    check_every_chunking({"hermes", "", 1},
                         {"<tool_call>{\"name\": \"a\", \"arguments\": {}}</tool_call>",
                          "<tool_call>{\"name\": \"b\", \"arguments\": {}}</tool_call>"},
                         {"", "", {call("a", "{}")}});
}

TEST_CASE("reasoning parser qwen3: think block to reasoning, the rest content") {
    check_every_chunking({"", "qwen3"}, {"<th", "ink>", "\nhmm", "</thi", "nk>", "\n\nAnswer"},
                         {"\nhmm", "\n\nAnswer", {}});
    // enable_thinking=false: no think block in the output, all content.
    check_every_chunking({"", "qwen3"}, {"Just ", "the answer"}, {"", "Just the answer", {}});
    // Cut off while thinking: all reasoning.
    check_every_chunking({"", "qwen3"}, {"<think>", "still", " going</th"},
                         {"still going</th", "", {}});
}

TEST_CASE("reasoning parser deepseek_r1: reasoning until </think>, the open tag optional") {
    check_every_chunking({"", "deepseek_r1"}, {"Let me ", "think.", "</think>", "42"},
                         {"Let me think.", "42", {}});
    check_every_chunking({"", "deepseek_r1"}, {"<think>", "a", "</think>", "b"}, {"a", "b", {}});
}

TEST_CASE("reasoning and tool parsers together: calls are read after the reasoning") {
    check_every_chunking(
        {"hermes", "qwen3"},
        {"<think>", "I should call <tool_call> here", "</think>", "\n\n", "<tool_call>",
         "{\"name\": \"f\", \"arguments\": {\"a\": 1}}", "</tool_call>"},
        {"I should call <tool_call> here", "\n\n", {call("f", R"({"a": 1})")}});
}

// Property: on random outputs built from the formats' own pieces (markers, JSON and
// Python punctuation, names, noise), every parser stays monotone — streaming token by
// token or byte by byte gives exactly the message one read of the whole text gives.
TEST_CASE("tool parser property: random outputs stream exactly as they read whole") {
    const std::vector<std::string> pieces = {
        "<tool_call>", "</tool_call>", "<tool_", "{", "}", "\"name\"", ": ", "\"f\"", ", ",
        "\"arguments\"", "\"parameters\"", "[", "]", "\"", "\\", "1", "-2.5e3", " ", "\n", "x",
        "<think>", "</think>", "</th", "[TOOL_CALLS]", "[ARGS]", "f(", ")", "=", "'", "a=",
        ";", "<|python_tag|>", "<|python_start|>", "true", "None", "g"};
    const std::vector<setup> setups = {{"hermes"},   {"llama3_json"}, {"mistral"},
                                       {"pythonic"}, {"required"},    {"named:f"},
                                       {"", "qwen3"}, {"", "deepseek_r1"}, {"hermes", "qwen3"},
                                       {"pythonic", "deepseek_r1", 1}};
    uint64_t state = 0x9E3779B97F4A7C15ull;
    auto next = [&state](uint64_t bound) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return state % bound;
    };
    for (const auto& s : setups) {
        for (int trial = 0; trial < 300; ++trial) {
            std::vector<std::string> tokens;
            const uint64_t count = 1 + next(18);
            for (uint64_t i = 0; i < count; ++i) tokens.push_back(pieces[next(pieces.size())]);
            const std::string text = std::accumulate(tokens.begin(), tokens.end(), std::string());
            INFO("parser " << s.tool_parser << "/" << s.reasoning_parser << " on: " << text);
            const message whole = stream_chunks(s, {text});
            check_message(stream_chunks(s, tokens), whole, "tokens");
            std::vector<std::string> bytes;
            for (char c : text) bytes.emplace_back(1, c);
            check_message(stream_chunks(s, bytes), whole, "bytes");
        }
    }
}

TEST_CASE("partial json: a complete string literal decodes its escapes, anything else is refused") {
    using actorlm::net::partial_json::decode_string;
    CHECK(decode_string(R"("get_weather")") == "get_weather");
    CHECK(decode_string(R"("a\"b\\c\n\u00e9\ud83d\ude00")") == "a\"b\\c\n\xC3\xA9\xF0\x9F\x98\x80");
    CHECK_FALSE(decode_string(R"("unterminated)"));
    CHECK_FALSE(decode_string(R"("bad \q escape")"));
    CHECK_FALSE(decode_string("42"));
    CHECK_FALSE(decode_string(""));
}
