// The pieces a tokenizer is assembled from. Loaders (hf_loader.cpp for tokenizer.json,
// gguf_loader.cpp for GGUF vocabularies) fill one, and tokenizer's constructor takes it.
// Plain data; built on one thread, then moved into the immutable tokenizer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/added_tokens.hpp"
#include "tokenizer/bpe_model.hpp"
#include "tokenizer/decoder.hpp"
#include "tokenizer/normalizer.hpp"
#include "tokenizer/pre_tokenizer.hpp"
#include "tokenizer/token_model.hpp"

namespace actorlm::tok {

/// Per-token attribute bits.
enum token_attr : uint8_t {
    attr_normal = 0,
    attr_special = 1,  ///< control token (BOS, EOS, <|im_start|>): skipped by skip_special
    attr_added = 2,    ///< added / user-defined token: spelled verbatim when decoding
    attr_byte = 4,     ///< <0xXX> byte-fallback token
    attr_unknown = 8,  ///< <unk>
    attr_unused = 16,
};

/// Everything a tokenizer needs, as produced by a loader.
struct tokenizer_parts {
    std::string description;              ///< e.g. "tokenizer.json BPE (byte-level)"
    std::vector<std::string> id_to_text;  ///< the file's spelling of every id
    std::vector<uint8_t> attrs;           ///< token_attr bits per id
    normalizer norm;
    pre_tokenizer pre;
    std::unique_ptr<token_model> model;  ///< bpe_model or wordpiece_model
    decoder dec;
    added_token_matcher added;
    std::vector<int32_t> prefix_ids;  ///< added by encode(add_special=true) before the text
    std::vector<int32_t> suffix_ids;  ///< ... and after it
    int32_t bos_id = -1;
    std::vector<int32_t> eos_ids;
    std::string chat_template;
};

}  // namespace actorlm::tok
