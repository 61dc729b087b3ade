// Text normalizers applied before pre-tokenization (HF `normalizer`): Prepend, Replace,
// Unicode normal forms, Lowercase, Strip, BertNormalizer, and Sequence (flattened into the
// step list).
// Immutable after construction; apply() is const and thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tokenizer/bert_text.hpp"
#include "tokenizer/regex.hpp"

namespace actorlm::tok {

/// One normalization step.
struct normalizer_step {
    enum class kind { prepend, replace, nfc, nfkc, nfd, nfkd, lowercase, strip, bert };
    kind what = kind::nfc;
    std::string text;                 ///< prepend: the prefix; replace: the literal pattern
    std::string content;              ///< replace: the replacement
    std::shared_ptr<const regex> re;  ///< replace with a Regex pattern (else literal `text`)
    bool strip_left = false, strip_right = false;  ///< strip
    bert_normalizer_options bert;                  ///< bert
};

/// An ordered list of normalization steps; empty means "no normalizer".
class normalizer {
public:
    /// Appends a step (a Sequence is appended step by step).
    void add(normalizer_step step) { steps_.push_back(std::move(step)); }
    bool empty() const { return steps_.empty(); }

    /// Normalizes `text` in place. Text that is not valid UTF-8 is left unchanged by the
    /// Unicode normal forms (utf8proc refuses it) and handled bytewise by the others.
    void apply(std::string& text) const;

private:
    std::vector<normalizer_step> steps_;
};

/// Replaces every occurrence of `from` in `text` by `to`.
void replace_all(std::string& text, std::string_view from, std::string_view to);

}  // namespace actorlm::tok
