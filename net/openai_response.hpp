// OpenAI response bodies: text_completion / chat.completion objects, their
// streaming chunk forms (text_completion chunks, chat.completion.chunk with
// delta), usage and logprobs blocks. Pure JSON building; safe from any thread.
// Invariant: field names and nesting match OpenAI's so stock clients parse them.
#pragma once

#include <actorlm/engine.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "net/chat_output_stream.hpp"
#include "net/openai_protocol.hpp"

namespace actorlm::net {

/// What every object of one response shares.
struct response_context {
    endpoint_kind kind = endpoint_kind::completion;
    std::string id;       // cmpl-... or chatcmpl-...
    int64_t created = 0;  // unix seconds
    std::string model;
    bool want_logprobs = false;
    int32_t top_logprobs = 0;
};

/// One choice as accumulated from the engine's deltas.
struct choice_output {
    int32_t index = 0;
    std::string text;        // echoed prompt (if any) + generated text
    size_t echo_length = 0;  // bytes of `text` that are the echoed prompt
    std::vector<std::optional<token_logprob>> prompt_logprobs;  // echo + logprobs only
    std::vector<token_logprob> logprobs;
    finish_reason finish = finish_reason::none;
    std::string stop_reason;
    std::optional<kv_transfer_params> kv_transfer;  // from the final delta
    // Chat through the reasoning / tool-call parsers: the message is these instead of
    // `text` (content null when empty and calls were made).
    bool parsed = false;
    bool has_reasoning = false;  // a reasoning parser ran: reasoning_content is sent
    std::string content;
    std::string reasoning;
    std::vector<tool_call_out> tool_calls;
    bool finish_as_tool_calls = false;  // finish_reason "tool_calls" instead of "stop"
};

struct usage_counts {
    int64_t prompt_tokens = 0;
    int64_t completion_tokens = 0;
};

/// A new response id: `prefix` + 32 random hex digits (OpenAI's shape).
std::string make_response_id(const char* prefix);

/// "stop", "length", or null for the JSON (abort/error map to "abort"/"error").
const char* finish_reason_json(finish_reason r);

/// The complete (non-streamed) text_completion or chat.completion object.
std::string full_response_json(const response_context& ctx,
                               const std::vector<choice_output>& choices,
                               const usage_counts& usage);

/// One streamed chunk for choice `index`: `text` is the new text, `logprobs` its tokens.
/// `first` puts `role: assistant` into a chat delta; `text_offset` is where `text` starts in
/// the choice's whole output (completions logprobs). Usage goes in a separate final chunk
/// (usage_chunk_json), never in these.
std::string chunk_json(const response_context& ctx, int32_t index, const std::string& text,
                       const std::vector<token_logprob>& logprobs, size_t text_offset, bool first,
                       finish_reason finish, const std::string& stop_reason);

/// A streamed chat chunk from the parsers: `delta`'s reasoning_content, content and
/// tool_calls (a call's first entry with id, type and name, later ones with argument
/// fragments only). `finish` none leaves finish_reason null.
std::string parsed_chunk_json(const response_context& ctx, int32_t index, const chat_delta& delta,
                              const std::vector<token_logprob>& logprobs, finish_reason finish,
                              bool finish_as_tool_calls, const std::string& stop_reason);

/// The final chunk of a stream with `stream_options.include_usage`: empty choices + usage.
std::string usage_chunk_json(const response_context& ctx, const usage_counts& usage);

}  // namespace actorlm::net
