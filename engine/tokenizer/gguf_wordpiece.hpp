// The WordPiece stages of a GGUF "bert" vocabulary. llama.cpp's converter stores BERT
// vocabularies in "phantom space" spelling: a word-initial piece "the" becomes "▁the", a
// continuation "##ing" becomes "ing", bracketed tokens ("[CLS]", "[unused0]") stay as they
// are. These helpers undo that for the model's keys and assemble the uncased BERT chain that
// llama.cpp applies to every such vocabulary. Used while loading, on the loading thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/tokenizer_parts.hpp"

namespace actorlm::tok {

/// The WordPiece key ("the", "##ing", "[CLS]") of a GGUF bert token spelling; empty for a
/// token that spells no text (a bare "▁").
std::string wordpiece_key_from_gguf(std::string_view token);

/// Sets the model (over `keys`, unknown words -> `unk_id`), the BERT normalizer (clean text,
/// CJK padding, accent stripping, lowercase), the BERT pre-tokenizer and the WordPiece
/// decoder for the phantom-space spelling.
void set_gguf_wordpiece_stages(tokenizer_parts& parts, const std::vector<std::string>& keys,
                               int32_t unk_id);

}  // namespace actorlm::tok
