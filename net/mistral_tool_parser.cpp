// mistral tool parser: content, then [TOOL_CALLS] and either a JSON array of
// {"name", "arguments"} objects (tokenizers before v11) or, from v11 on, one
// `name[ARGS]{...}` per [TOOL_CALLS]. Call ids are 9 alphanumerics, the only ids
// Mistral's chat templates accept back in the history.
#include <random>

#include "net/json_tool_call.hpp"
#include "net/tool_parser.hpp"

namespace actorlm::net {

namespace {

constexpr std::string_view k_mistral_calls = "[TOOL_CALLS]";
constexpr std::string_view k_mistral_args = "[ARGS]";

bool is_function_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

// v11+: name[ARGS]{json}, repeated after each [TOOL_CALLS].
void read_named_calls(std::string_view text, size_t pos, tool_parse& out) {
    while (true) {
        const size_t args = text.find(k_mistral_args, pos);
        const size_t name_end = args == std::string_view::npos ? text.size() : args;
        for (size_t k = pos; k < name_end; ++k)
            if (!is_function_name_char(text[k])) return;
        if (args == std::string_view::npos || args == pos) return;
        tool_parse::call call;
        call.name = std::string(text.substr(pos, args - pos));
        const partial_json::scanned_value v =
            partial_json::scan_value(text, args + k_mistral_args.size());
        call.arguments = std::string(text.substr(v.begin, v.end - v.begin));
        if (v.state == partial_json::scan_state::complete && call.arguments.empty())
            call.arguments = "{}";
        out.calls.push_back(std::move(call));
        if (v.state != partial_json::scan_state::complete) return;
        const size_t next = partial_json::skip_whitespace(text, v.end);
        if (!text.substr(next).starts_with(k_mistral_calls)) return;
        pos = next + k_mistral_calls.size();
    }
}

class mistral_tool_parser final : public tool_parser {
public:
    tool_parse read(std::string_view text, bool final) const override {
        tool_parse out;
        const size_t first = text.find(k_mistral_calls);
        if (first == std::string_view::npos) {
            const size_t held = final ? 0 : partial_marker_length(text, k_mistral_calls);
            out.content = std::string(text.substr(0, text.size() - held));
            return out;
        }
        out.content = std::string(text.substr(0, first));
        const size_t body = partial_json::skip_whitespace(text, first + k_mistral_calls.size());
        if (body < text.size() && text[body] == '[')
            read_json_call_array(text, body, out);
        else
            read_named_calls(text, body, out);
        if (final && out.calls.empty()) out.content = std::string(text);
        return out;
    }

    std::string make_call_id() const override {
        static const char alnum[] =
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        thread_local std::mt19937_64 rng{std::random_device{}()};
        std::string id;
        for (int i = 0; i < 9; ++i) id.push_back(alnum[rng() % 62]);
        return id;
    }
};

}  // namespace

std::unique_ptr<tool_parser> make_mistral_tool_parser() {
    return std::make_unique<mistral_tool_parser>();
}

}  // namespace actorlm::net
