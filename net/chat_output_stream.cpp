// chat_output_stream: re-read and diff (see chat_output_stream.hpp).
#include "net/chat_output_stream.hpp"

namespace actorlm::net {

namespace {

// The part of `now` beyond what was sent; nothing if `now` does not extend it (a parser
// that broke monotonicity must not make the stream repeat or contradict itself).
std::string grown_part(const std::string& sent, const std::string& now) {
    if (now.size() <= sent.size() || now.compare(0, sent.size(), sent) != 0) return {};
    return now.substr(sent.size());
}

}  // namespace

chat_output_stream::chat_output_stream(std::shared_ptr<const reasoning_parser> reasoning,
                                       std::shared_ptr<const tool_parser> tools, size_t max_calls)
    : reasoning_parser_(std::move(reasoning)),
      tool_parser_(std::move(tools)),
      max_calls_(max_calls) {}

chat_delta chat_output_stream::feed(std::string_view text) {
    if (text.empty()) return {};
    text_.append(text);
    return advance(false);
}

chat_delta chat_output_stream::finish() { return advance(true); }

chat_delta chat_output_stream::advance(bool final) {
    std::string answer;  // the text after the reasoning
    std::string reasoning;
    if (reasoning_parser_) {
        reasoning_parse r = reasoning_parser_->read(text_, final);
        reasoning = std::move(r.reasoning);
        answer = std::move(r.content);
    } else {
        answer = text_;
    }
    tool_parse parsed;
    if (tool_parser_)
        parsed = tool_parser_->read(answer, final);
    else
        parsed.content = std::move(answer);
    if (parsed.calls.size() > max_calls_) parsed.calls.resize(max_calls_);

    chat_delta d;
    d.reasoning = grown_part(reasoning_, reasoning);
    reasoning_ += d.reasoning;
    d.content = grown_part(content_, parsed.content);
    content_ += d.content;
    for (size_t i = 0; i < parsed.calls.size(); ++i) {
        const auto index = static_cast<int32_t>(i);
        if (i == calls_.size()) {
            tool_call_out call{index, tool_parser_->make_call_id(), parsed.calls[i].name, ""};
            d.tool_calls.push_back(call);
            calls_.push_back(std::move(call));
        }
        if (calls_[i].name != parsed.calls[i].name) continue;  // never rename a sent call
        std::string more = grown_part(calls_[i].arguments, parsed.calls[i].arguments);
        if (more.empty()) continue;
        calls_[i].arguments += more;
        d.tool_calls.push_back({index, "", "", std::move(more)});
    }
    return d;
}

}  // namespace actorlm::net
