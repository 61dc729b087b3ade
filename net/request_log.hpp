// request_log: vLLM's --enable-log-requests. With it, each generation request
// the server accepts is written as one line — its id, the prompt (cut to
// --max-log-len characters), the sampling parameters and the prompt's token ids
// (cut to --max-log-len ids) — as vLLM's RequestLogger writes "Received request".
// Without it nothing of a request reaches the log, since prompts can hold what
// users would not want kept; the API key is never logged either way.
// Lines go to a sink (stderr by default) in one call each; any thread.
#pragma once

#include <actorlm/engine.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace actorlm::net {

class request_log {
public:
    using sink_fn = std::function<void(std::string_view line)>;

    /// `max_log_len` < 0: no cut. `sink` empty: stderr.
    explicit request_log(int32_t max_log_len = -1, sink_fn sink = {});

    /// The "received request" line for `request` (its id and prompt as prepared).
    void received(const generate_request& request) const;

    /// The line received() writes (tests; the sink gets exactly this).
    std::string received_line(const generate_request& request) const;

private:
    int32_t max_log_len_;
    sink_fn sink_;
};

}  // namespace actorlm::net
