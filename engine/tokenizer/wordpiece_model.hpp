// The WordPiece model (BERT, BGE, MiniLM...): turns one pre-token (a word) into ids by greedy
// longest-match-first over the vocabulary; pieces after the first are looked up with the
// continuation prefix ("##ing"). A word that cannot be covered, or that has more characters
// than max_input_chars_per_word, becomes the single unknown token, as in HF tokenizers.
// Immutable after construction; encode() is const and thread-safe (no shared scratch).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/token_model.hpp"

namespace actorlm::tok {

/// Options of the WordPiece model (HF `model` fields).
struct wordpiece_options {
    std::string continuing_prefix = "##";   ///< continuing_subword_prefix
    size_t max_input_chars_per_word = 100;  ///< longer words become unk_id whole
    int32_t unk_id = -1;                    ///< [UNK]; -1 drops words that cannot be covered
};

/// Greedy longest-match WordPiece encoder.
class wordpiece_model final : public token_model {
public:
    /// `keys[id]` is the token's spelling as the model looks it up ("the", "##ing"); an empty
    /// key marks an id the model never produces (e.g. an added token).
    wordpiece_model(const std::vector<std::string>& keys, wordpiece_options opts);

    /// Encodes one word and appends its ids to `out`.
    void encode(std::string_view word, std::vector<int32_t>& out) const override;

    /// Id of a key ("##ing" for a continuation piece), or -1.
    int32_t find(std::string_view key) const {
        auto it = key_to_id_.find(key);
        return it == key_to_id_.end() ? -1 : it->second;
    }

    const wordpiece_options& options() const { return opts_; }

private:
    string_id_map key_to_id_;
    wordpiece_options opts_;
    size_t max_key_bytes_ = 0;  ///< no substring longer than the longest key can match
};

}  // namespace actorlm::tok
