// Server-sent events as OpenAI streams them: each event is `data: <json>\n\n`,
// the stream ends with `data: [DONE]\n\n`. sse_event() frames one event for the
// server; sse_decoder splits a byte stream back into event payloads (bench-serve,
// tests). The decoder keeps partial lines between feeds; one decoder per stream.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace actorlm::net {

/// `data: <payload>\n\n`. `payload` must be a single line (JSON from json_writer is).
std::string sse_event(std::string_view payload);
/// `data: [DONE]\n\n`
const std::string& sse_done();

/// Incremental SSE parser: feed bytes as they arrive, get each event's data.
/// Multi-line `data:` fields join with '\n'; comments (`:`) and other fields are skipped.
class sse_decoder {
public:
    using event_fn = std::function<void(const std::string& data)>;

    /// Parses `bytes`, calling `on_event` for every event completed by them.
    void feed(std::string_view bytes, const event_fn& on_event);
    /// Bytes buffered after the last complete line.
    size_t pending_bytes() const { return line_.size(); }

private:
    std::string line_;
    std::string data_;
    bool has_data_ = false;
};

}  // namespace actorlm::net
