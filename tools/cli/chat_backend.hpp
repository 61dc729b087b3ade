// chat_backend: where `actorlm chat` sends a conversation — a running server
// (OpenAI chat completions, streamed over SSE) or an engine in this process (the
// public embedding API) — behind one call that streams the reply's text as it
// arrives and stops early when asked (Ctrl-C), aborting the request at its source.
#pragma once

#include <actorlm/engine.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace actorlm::cli {

struct chat_turn_settings {
    float temperature = 0.7f;
    float top_p = 1.0f;
    int32_t max_tokens = 512;
    std::optional<uint64_t> seed;
};

/// How a reply ended.
struct chat_reply {
    std::string text;
    std::string finish_reason;  // "stop", "length", "abort" (stopped by the user), "error"
    int64_t completion_tokens = 0;
    double seconds = 0.0;            // from sending to the last token
    double first_token_seconds = -1;  // TTFT; < 0 when no token came
};

class chat_backend {
public:
    virtual ~chat_backend() = default;
    /// Streams the assistant's reply to `messages`: `on_text` gets each piece of content
    /// (and `on_reasoning` each piece of reasoning, when the server separates it);
    /// `stop_requested` is polled while waiting and ends the reply with "abort".
    virtual result<chat_reply> reply(const std::vector<chat_message>& messages,
                                     const chat_turn_settings& settings,
                                     const std::function<void(std::string_view)>& on_text,
                                     const std::function<void(std::string_view)>& on_reasoning,
                                     const std::function<bool()>& stop_requested) = 0;
};

/// Talks to the server at `host`:`port` (`api_key` as a Bearer token when set).
std::unique_ptr<chat_backend> make_http_chat_backend(std::string host, uint16_t port,
                                                     std::string api_key, std::string model);

/// Runs `engine` in this process.
std::unique_ptr<chat_backend> make_engine_chat_backend(std::shared_ptr<engine> engine);

}  // namespace actorlm::cli
