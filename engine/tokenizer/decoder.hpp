// Decoders (HF `decoder`): turn the spellings of a token sequence back into bytes.
// ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip, WordPiece, Sequence (flattened).
// Output is raw bytes (possibly invalid or incomplete UTF-8); callers repair it with
// to_valid_utf8 once the sequence is complete. Immutable; decode() is thread-safe.
#pragma once

#include <string>
#include <vector>

#include "tokenizer/pre_tokenizer.hpp"

namespace actorlm::tok {

/// One token as the decoder chain sees it.
struct decode_piece {
    std::string text;
    bool raw = false;  ///< an added/special token: spelled as-is, skips the byte mappings
};

/// One decoding step.
struct decoder_step {
    enum class kind { byte_level, metaspace, replace, byte_fallback, fuse, strip, wordpiece };
    kind what = kind::fuse;
    std::string pattern, content;  ///< replace: literal pattern -> content; strip: the char;
                                   ///< wordpiece: the continuation prefix ("##")
    std::string replacement;       ///< metaspace; wordpiece: the word-start marker of GGUF
                                   ///< vocabularies ("▁the", continuations bare), else empty
    prepend_scheme scheme = prepend_scheme::always;  ///< metaspace: strip the first space?
    size_t strip_start = 0, strip_stop = 0;          ///< strip
    bool cleanup = true;  ///< wordpiece: drop the space before . , ! ? and English clitics
};

/// The ordered decoder steps of one tokenizer.
class decoder {
public:
    void add(decoder_step s) { steps_.push_back(std::move(s)); }
    bool empty() const { return steps_.empty(); }

    /// True when the chain itself puts spaces between words (WordPiece), so callers must
    /// not add their own around special tokens.
    bool spaces_words() const;

    /// Runs the chain over `pieces` and returns the concatenated bytes. With `positional`
    /// false, steps that depend on a token's position (Strip, Metaspace's leading-space
    /// removal) are skipped, which token_to_piece uses to spell one token in isolation.
    std::string decode(std::vector<decode_piece> pieces, bool positional = true) const;

private:
    std::vector<decoder_step> steps_;
};

}  // namespace actorlm::tok
