// llama3_json tool parser (Llama 3.1/3.2/3.3 JSON tool calling): the output is one or
// more {"name", "parameters"} objects separated by ';', optionally after <|python_tag|>.
// An output that does not start that way is all content; one that does has none.
#include "net/json_tool_call.hpp"
#include "net/tool_parser.hpp"

namespace actorlm::net {

namespace {

constexpr std::string_view k_python_tag = "<|python_tag|>";

class llama3_json_tool_parser final : public tool_parser {
public:
    tool_parse read(std::string_view text, bool final) const override {
        tool_parse out;
        size_t i = partial_json::skip_whitespace(text, 0);
        const std::string_view rest = text.substr(i);
        if (rest.starts_with(k_python_tag)) {
            i = partial_json::skip_whitespace(text, i + k_python_tag.size());
        } else if (!final && k_python_tag.starts_with(rest)) {
            return out;  // nothing yet, or a partial <|python_tag|>: undecided
        }
        if (i < text.size() && text[i] != '{') {
            out.content = std::string(text);
            return out;
        }
        read_json_call_sequence(text, i, ';', final, out);
        if (final && out.calls.empty()) out.content = std::string(text);
        return out;
    }
};

}  // namespace

std::unique_ptr<tool_parser> make_llama3_json_tool_parser() {
    return std::make_unique<llama3_json_tool_parser>();
}

}  // namespace actorlm::net
