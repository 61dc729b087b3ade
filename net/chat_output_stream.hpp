// chat_output_stream: one chat choice's output through the configured reasoning and
// tool-call parsers. The text grows delta by delta; after each, the parsers re-read the
// whole text (they are monotone, see tool_parser.hpp) and what is new since the last
// read goes out as a delta: reasoning, content, and per call first its index, id and
// name, then argument fragments. Re-reading costs O(length) per delta, cheap at chat
// output sizes, and makes the stream equal the non-streamed message for any chunking.
// Owned by one generation_job; single-threaded.
#pragma once

#include <cstdint>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "net/reasoning_parser.hpp"
#include "net/tool_parser.hpp"

namespace actorlm::net {

/// A call as sent: index in the message, id, name, arguments JSON text.
struct tool_call_out {
    int32_t index = 0;
    std::string id;
    std::string name;
    std::string arguments;
};

/// What one step adds. A call's first entry carries its id and name (arguments ""),
/// later entries of the same index only argument fragments (id and name empty).
struct chat_delta {
    std::string reasoning;
    std::string content;
    std::vector<tool_call_out> tool_calls;
    bool empty() const { return reasoning.empty() && content.empty() && tool_calls.empty(); }
};

/// How one chat request's output is parsed (chosen by the router from the server's
/// flags and the request's tool_choice); no parser at all: the output is plain content.
struct chat_output_parsers {
    std::shared_ptr<const reasoning_parser> reasoning;
    std::shared_ptr<const tool_parser> tools;
    size_t max_calls = SIZE_MAX;
    bool include_reasoning = true;
    // finish_reason "tool_calls" when calls were made (auto, required); a named
    // function finishes with "stop", as OpenAI's API does.
    bool finish_as_tool_calls = true;
    bool active() const { return reasoning || tools; }
};

class chat_output_stream {
public:
    /// Either parser may be null (no reasoning / no tool calls). `max_calls` caps the
    /// calls kept (1 for parallel_tool_calls false).
    chat_output_stream(std::shared_ptr<const reasoning_parser> reasoning,
                       std::shared_ptr<const tool_parser> tools, size_t max_calls);

    /// Appends generated text; returns what can be sent now.
    chat_delta feed(std::string_view text);
    /// The output ended: flushes what was held back.
    chat_delta finish();

    /// The message so far (the whole message after finish()).
    const std::string& reasoning() const { return reasoning_; }
    const std::string& content() const { return content_; }
    const std::vector<tool_call_out>& tool_calls() const { return calls_; }

private:
    chat_delta advance(bool final);

    std::shared_ptr<const reasoning_parser> reasoning_parser_;
    std::shared_ptr<const tool_parser> tool_parser_;
    size_t max_calls_;
    std::string text_;
    // What has been sent.
    std::string reasoning_;
    std::string content_;
    std::vector<tool_call_out> calls_;
};

}  // namespace actorlm::net
