// Pre-tokenizers (HF `pre_tokenizer`): cut normalized text into the pieces the model encodes
// one by one (and caches). Split (regex or literal, five delimiter behaviours, invert),
// ByteLevel, Metaspace, Digits, Punctuation, Whitespace, WhitespaceSplit, Bert, Sequence.
// Immutable after construction; run() is const and thread-safe (no shared scratch).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/regex.hpp"

namespace actorlm::tok {

/// A non-owning callable reference (the pre-tokenizer's piece sink), cheaper than
/// std::function on the per-piece hot path.
template <class Sig>
class function_ref;
template <class R, class... A>
class function_ref<R(A...)> {
public:
    template <class F>
    function_ref(F& f)
        : obj_(&f), call_([](void* o, A... a) -> R { return (*static_cast<F*>(o))(a...); }) {}
    R operator()(A... a) const { return call_(obj_, a...); }

private:
    void* obj_;
    R (*call_)(void*, A...);
};

/// How a Split keeps its delimiters (HF SplitDelimiterBehavior).
enum class split_behaviour {
    removed,
    isolated,
    merged_with_previous,
    merged_with_next,
    contiguous
};

/// Metaspace's rule for prepending the replacement character.
enum class prepend_scheme { always, first, never };

/// One pre-tokenization step.
struct pre_tokenizer_step {
    enum class kind { split, byte_level, metaspace, bert };
    kind what = kind::split;
    std::shared_ptr<const regex> re;  ///< split pattern; byte_level: its own regex or null
    split_behaviour behaviour = split_behaviour::isolated;
    bool invert = false;
    bool add_prefix_space = false;  ///< byte_level
    std::string replacement;        ///< metaspace (usually U+2581)
    prepend_scheme scheme = prepend_scheme::always;
    bool metaspace_split = true;
};

/// The ordered pre-tokenizer steps of one tokenizer.
class pre_tokenizer {
public:
    using sink = function_ref<void(std::string_view)>;

    /// Appends a step. A ByteLevel step must be the last one (its output is bytes).
    void add(pre_tokenizer_step step);

    /// True when a ByteLevel step is present: pieces are raw bytes that the model maps
    /// through GPT-2's byte table (so pieces and the model's vocabulary keys are raw bytes).
    bool byte_level() const { return byte_level_; }

    /// Cuts `text` into pieces and calls `out` for each non-empty one, in order. `at_start`
    /// tells whether `text` begins the whole input (Metaspace's prepend_scheme "first").
    void run(std::string_view text, bool at_start, sink out) const;

private:
    void step(size_t i, std::string_view text, bool at_start, sink out) const;
    std::vector<pre_tokenizer_step> steps_;
    bool byte_level_ = false;
};

/// The GPT-2 pre-tokenization regex (ByteLevel with use_regex).
extern const char* const k_gpt2_pattern;

}  // namespace actorlm::tok
