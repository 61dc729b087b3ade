// BERT's text rules, as HF tokenizers' BertNormalizer and BertPreTokenizer apply them: the
// character classes (whitespace, control, punctuation, CJK ideographs), the normalizer
// (clean text, pad CJK ideographs with spaces, strip accents, lowercase) and the
// pre-tokenizer (split at whitespace, isolate each punctuation character).
// Pure functions over immutable Unicode tables (utf8proc); safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tokenizer/pre_tokenizer.hpp"

namespace actorlm::tok {

/// BertNormalizer's switches. In tokenizer.json `strip_accents: null` follows `lowercase`.
struct bert_normalizer_options {
    bool clean_text = true;            ///< drop control chars and U+FFFD; whitespace -> ' '
    bool handle_chinese_chars = true;  ///< surround CJK ideographs with spaces
    bool strip_accents = true;         ///< NFD, then drop nonspacing marks (Mn)
    bool lowercase = true;
};

/// Whitespace as BERT sees it: Unicode White_Space (Rust's char::is_whitespace).
bool bert_is_whitespace(uint32_t cp);

/// ASCII punctuation and symbols (!-/ :-@ [-` {-~) or any Unicode punctuation (P*).
bool bert_is_punctuation(uint32_t cp);

/// The CJK ideograph blocks BERT pads with spaces (HF's ranges, 0x2B920 start included).
bool bert_is_chinese_char(uint32_t cp);

/// Normalizes `text` in place. Invalid UTF-8 bytes decode to U+FFFD, which clean_text drops.
void bert_normalize(std::string& text, const bert_normalizer_options& opts);

/// BertPreTokenizer: calls `out` for every run of non-whitespace, non-punctuation
/// characters and for every punctuation character on its own, in order.
void bert_pre_tokenize(std::string_view text, function_ref<void(std::string_view)> out);

}  // namespace actorlm::tok
