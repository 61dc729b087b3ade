// tokenizer: text <-> token ids for the model families actorlm serves, loaded from a Hugging
// Face tokenizer.json (+ tokenizer_config.json) or from a GGUF vocabulary. Supports
// SentencePiece-style BPE with byte fallback (Llama-2, Mistral), byte-level BPE (GPT-2,
// Llama-3, Qwen2/3, SmolLM, Falcon, Phi-3...) and WordPiece (BERT, BGE). Immutable after
// loading: every method is const and may be called from several threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/tokenizer_parts.hpp"
#include "base/result.hpp"

namespace actorlm {

class gguf_file;

/// A loaded tokenizer.
class tokenizer {
public:
    /// Loads a Hugging Face tokenizer.json; tokenizer_config.json (BOS/EOS, add_bos_token,
    /// chat_template), chat_template.jinja and generation_config.json (eos_token_id) beside
    /// it are read when present. Errors name the file and the unsupported component.
    static result<std::unique_ptr<tokenizer>> from_hf(const std::string& tokenizer_json_path);

    /// Builds the tokenizer stored in a GGUF file's tokenizer.ggml.* metadata
    /// (models "llama", "gpt2" and "bert"; the gpt2 pre-tokenizer is chosen by
    /// tokenizer.ggml.pre).
    static result<std::unique_ptr<tokenizer>> from_gguf(const gguf_file& file);

    explicit tokenizer(tok::tokenizer_parts parts);

    /// Token ids of `text`. `add_special` adds the model's BOS/EOS per its configuration;
    /// `parse_special` recognizes special tokens written in the text (false for text from
    /// API clients; non-special added tokens are always recognized, as HF does).
    std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special) const;

    /// Text of `ids` (invalid UTF-8 repaired with U+FFFD; unknown ids ignored).
    std::string decode(std::span<const int32_t> ids, bool skip_special) const;

    /// Raw decoded bytes of `ids`, possibly ending inside a UTF-8 sequence (the incremental
    /// detokenizer's input). With `spaces_between_special`, a space separates a control token
    /// from its neighbours (transformers' spaces_between_special_tokens; non-special added
    /// tokens such as <think> are left as written).
    std::string decode_bytes(std::span<const int32_t> ids, bool skip_special,
                             bool spaces_between_special = false) const;

    /// Decoded bytes of one token in isolation (keeps a SentencePiece leading space).
    std::string token_to_piece(int32_t id) const;

    /// The file's spelling of a token ("▁the", "Ġthe", "<s>"), empty for an invalid id.
    const std::string& token_text(int32_t id) const;

    /// Id of a token spelled as in the file (vocabulary or added tokens), or -1.
    int32_t token_id(std::string_view text) const;

    int32_t vocab_size() const { return static_cast<int32_t>(parts_.id_to_text.size()); }
    /// BOS id, or -1 when the model has none.
    int32_t bos_id() const { return parts_.bos_id; }
    /// Ids that end generation (EOS, and EOT/EOM or generation_config's extra ids).
    const std::vector<int32_t>& eos_ids() const { return parts_.eos_ids; }
    /// True for control tokens (skipped by decode(skip_special=true)).
    bool is_special(int32_t id) const;
    /// BOS / first EOS spelled as text, empty when absent.
    std::string bos_token() const { return bos_id() >= 0 ? token_text(bos_id()) : std::string(); }
    std::string eos_token() const;
    /// The Jinja chat template shipped with the model, empty when none.
    const std::string& chat_template() const { return parts_.chat_template; }
    /// True when encode(add_special=true) puts BOS first.
    bool add_bos() const;
    /// Where the tokenizer came from and its kind, for logs.
    const std::string& description() const { return parts_.description; }

private:
    tok::tokenizer_parts parts_;
    tok::string_id_map text_to_id_;
};

/// Loads the tokenizer of a model path: a .gguf file (its vocabulary), a Hugging Face model
/// directory (its tokenizer.json) or a tokenizer.json path.
result<std::unique_ptr<tokenizer>> load_tokenizer_for_model(const std::string& path);

}  // namespace actorlm
