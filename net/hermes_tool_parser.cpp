// hermes tool parser (Hermes 2 Pro, Qwen2.5, Qwen3): calls are JSON objects
// {"name", "arguments"} inside <tool_call>...</tool_call> blocks. Content is the text
// before the first block (text after the calls is dropped, as vLLM drops it); an output
// with no readable call is all content.
#include "net/json_tool_call.hpp"
#include "net/tool_parser.hpp"

namespace actorlm::net {

namespace {

constexpr std::string_view k_hermes_open = "<tool_call>";
constexpr std::string_view k_hermes_close = "</tool_call>";

class hermes_tool_parser final : public tool_parser {
public:
    tool_parse read(std::string_view text, bool final) const override {
        tool_parse out;
        const size_t first = text.find(k_hermes_open);
        if (first == std::string_view::npos) {
            const size_t held = final ? 0 : partial_marker_length(text, k_hermes_open);
            out.content = std::string(text.substr(0, text.size() - held));
            return out;
        }
        out.content = std::string(text.substr(0, first));
        size_t pos = first;
        while (pos != std::string_view::npos) {
            const size_t body = pos + k_hermes_open.size();
            size_t close = std::string_view::npos;
            tool_parse::call call;
            // The JSON decides where the call ends, so a "</tool_call>" inside one of its
            // strings is data; JSON that breaks off falls back to the first closing tag.
            const partial_json::scanned_object obj = partial_json::scan_object(text, body);
            if (obj.state != partial_json::scan_state::invalid) {
                if (!json_call_from_object(text, obj, call)) break;
                if (obj.state == partial_json::scan_state::complete) {
                    close = text.find(k_hermes_close, obj.end);
                }
            } else {
                close = text.find(k_hermes_close, body);
                size_t body_end = close;
                if (close == std::string_view::npos)
                    body_end = text.size() - (final ? 0 : partial_marker_length(text, k_hermes_close));
                const std::string_view block = text.substr(0, body_end);
                if (!json_call_from_object(block, partial_json::scan_object(block, body), call))
                    break;
            }
            out.calls.push_back(std::move(call));
            if (close == std::string_view::npos) break;
            pos = text.find(k_hermes_open, close + k_hermes_close.size());
        }
        if (final && out.calls.empty()) out.content = std::string(text);
        return out;
    }
};

}  // namespace

std::unique_ptr<tool_parser> make_hermes_tool_parser() {
    return std::make_unique<hermes_tool_parser>();
}

}  // namespace actorlm::net
