// The <think>...</think> reasoning parsers. deepseek_r1: DeepSeek-R1's template opens
// the think block in the prompt, so the output is reasoning from its first byte (a
// leading <think> the model writes anyway is dropped) up to </think>, and all
// reasoning if it never closes. qwen3: Qwen3 writes <think> itself when it thinks; an
// output that does not start with it (enable_thinking=false: the template wrote an
// empty block into the prompt) is all content.
#include "net/reasoning_parser.hpp"
#include "net/tool_parser.hpp"

namespace actorlm::net {

namespace {

constexpr std::string_view k_think_open = "<think>";
constexpr std::string_view k_think_close = "</think>";

class think_reasoning_parser final : public reasoning_parser {
public:
    explicit think_reasoning_parser(bool reasoning_without_open_tag)
        : reasoning_without_open_tag_(reasoning_without_open_tag) {}

    std::string_view start_marker() const override { return k_think_open; }
    std::string_view end_marker() const override { return k_think_close; }

    reasoning_parse read(std::string_view text, bool final) const override {
        reasoning_parse out;
        size_t begin = 0;
        if (text.starts_with(k_think_open)) {
            begin = k_think_open.size();
        } else if (!final && k_think_open.starts_with(text)) {
            return out;  // empty, or a partial <think>: undecided
        } else if (!reasoning_without_open_tag_) {
            out.content = std::string(text);
            return out;
        }
        const size_t close = text.find(k_think_close, begin);
        if (close == std::string_view::npos) {
            const size_t held = final ? 0 : partial_marker_length(text, k_think_close);
            const size_t end = std::max(begin, text.size() - held);
            out.reasoning = std::string(text.substr(begin, end - begin));
            return out;
        }
        out.reasoning = std::string(text.substr(begin, close - begin));
        out.content = std::string(text.substr(close + k_think_close.size()));
        return out;
    }

private:
    bool reasoning_without_open_tag_;
};

}  // namespace

std::unique_ptr<reasoning_parser> make_reasoning_parser(std::string_view name) {
    if (name == "deepseek_r1") return std::make_unique<think_reasoning_parser>(true);
    if (name == "qwen3") return std::make_unique<think_reasoning_parser>(false);
    return nullptr;
}

const std::vector<std::string>& reasoning_parser_names() {
    static const std::vector<std::string> names = {"deepseek_r1", "qwen3"};
    return names;
}

}  // namespace actorlm::net
