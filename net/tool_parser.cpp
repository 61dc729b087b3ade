// tool_parser: the parser registry, call ids and the partial-marker helper the parsers
// share (see tool_parser.hpp).
#include "net/tool_parser.hpp"

#include <random>

namespace actorlm::net {

namespace {

std::string random_chars(const char* alphabet, size_t alphabet_size, size_t count) {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    std::string out;
    for (size_t i = 0; i < count; ++i) out.push_back(alphabet[rng() % alphabet_size]);
    return out;
}

}  // namespace

std::string tool_parser::make_call_id() const {
    static const char hex[] = "0123456789abcdef";
    return "chatcmpl-tool-" + random_chars(hex, 16, 32);
}

std::unique_ptr<tool_parser> make_tool_parser(std::string_view name) {
    if (name == "hermes") return make_hermes_tool_parser();
    if (name == "llama3_json") return make_llama3_json_tool_parser();
    if (name == "mistral") return make_mistral_tool_parser();
    if (name == "pythonic") return make_pythonic_tool_parser();
    return nullptr;
}

const std::vector<std::string>& tool_parser_names() {
    static const std::vector<std::string> names = {"hermes", "llama3_json", "mistral", "pythonic"};
    return names;
}

size_t partial_marker_length(std::string_view text, std::string_view marker) {
    for (size_t n = std::min(text.size(), marker.size() - 1); n > 0; --n)
        if (text.substr(text.size() - n) == marker.substr(0, n)) return n;
    return 0;
}

}  // namespace actorlm::net
