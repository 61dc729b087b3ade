// docqa_dataset: bench-serve's document-QA workload. D documents of L tokens
// (random token ids, or random words for chat), each conversation asks about one
// document picked at random and then follows up: turn t's prompt is turn t-1's
// prompt + its answer + a new question, so documents and earlier turns are
// prefixes the server can reuse. Deterministic for a seed; pure, any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench/load_generator.hpp"

namespace actorlm::net {

struct docqa_options {
    int32_t num_documents = 8;
    int32_t document_len = 1024;  // tokens (token ids) or words (text)
    int32_t question_len = 16;    // tokens or words
    int32_t num_turns = 2;
    size_t num_conversations = 100;
    int32_t output_len = 128;
    bool ignore_eos = false;
    std::string model;                         // sent when non-empty
    std::string endpoint = "/v1/completions";  // a path containing "chat" sends messages
    int32_t token_lo = 10;                     // token ids are drawn from [token_lo, token_hi)
    int32_t token_hi = 500;
    uint64_t seed = 0;
};

/// Some text or some token ids (which one is fixed per dataset: chat prompts are text).
struct prompt_part {
    std::vector<int32_t> ids;
    std::string text;
};

class docqa_dataset {
public:
    explicit docqa_dataset(docqa_options options);

    /// True when prompts are token ids (completions); false when they are words (chat).
    bool token_ids() const { return !chat_; }
    const docqa_options& options() const { return options_; }

    /// Document d (0 <= d < num_documents), the same for every conversation that picks it.
    const prompt_part& document(int32_t d) const { return documents_[static_cast<size_t>(d)]; }
    /// The document conversation c asks about.
    int32_t document_of(size_t c) const { return document_of_[c]; }
    /// Conversation c's question of turn t.
    const prompt_part& question(size_t c, int32_t t) const;

    /// The request of conversation c's turn t. `previous` is turn t-1's result (its `text`,
    /// and in token-id mode its `text_token_ids`); null for turn 0. Each call for turn t > 0
    /// extends what the call for turn t-1 of the same conversation recorded, so calls for one
    /// conversation must come in turn order (as run_conversations makes them).
    load_request build(size_t c, int32_t t, const request_result* previous);

    /// The prompt length in tokens of the last request built for conversation c; -1 for chat,
    /// whose length only the server's tokenizer and template know (usage.prompt_tokens).
    int64_t prompt_len(size_t c) const;

    /// A plan that runs this dataset (the dataset must outlive the run).
    conversation_plan plan();

private:
    // What conversation c has said and heard so far.
    struct conversation_state {
        std::vector<int32_t> prompt_ids;                            // completions
        std::vector<std::pair<std::string, std::string>> messages;  // chat: role, content
    };

    prompt_part random_part(uint64_t stream, uint64_t index, int32_t len) const;
    std::string body(const conversation_state& s) const;

    docqa_options options_;
    bool chat_;
    std::vector<prompt_part> documents_;
    std::vector<int32_t> document_of_;
    std::vector<std::vector<prompt_part>> questions_;  // [conversation][turn]
    std::vector<conversation_state> states_;
};

}  // namespace actorlm::net
