// compiled_grammar: a grammar bound to a vocabulary, with XGrammar's adaptive token mask
// cache. For a stack top (a `bytes` position) and the positions of the k_context_depth
// stack entries under it, the vocabulary is split once into tokens accepted whatever lies
// deeper (they end inside that context), tokens rejected whatever lies deeper, and
// "uncertain" tokens that run past the context's bottom, where the real stack decides.
// FOLLOW sets prune the uncertain ones whose next byte can never follow the bottom rule.
// The context matters: a string character sits in a one-character rule, so with its rule
// alone as context nearly every token would be uncertain (measured: 68 ms per mask with
// Qwen3's vocabulary); with the loop and string rule under it only tokens that close the
// string are. Splits are computed on first use and then shared, immutable, between
// matchers on any thread.
#pragma once

#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "base/result.hpp"
#include "structured/grammar.hpp"
#include "structured/pda.hpp"
#include "structured/token_vocabulary.hpp"

namespace actorlm::structured {

/// How many stack entries under the top a split takes into account.
inline constexpr int k_context_depth = 3;
static_assert(k_context_depth == 3, "mask_context::below's initializer lists 3 entries");

/// An entry of a mask_context that is not taken into account (a shallower context).
inline constexpr int32_t k_unknown_below = -2;

/// A stack top's position and those of the entries under it (k_stack_bottom past the
/// bottom).
struct mask_context {
    int32_t pos = 0;
    int32_t below[k_context_depth] = {k_unknown_below, k_unknown_below, k_unknown_below};
    friend bool operator==(const mask_context&, const mask_context&) = default;
};

struct mask_context_hash {
    size_t operator()(const mask_context& c) const {
        uint64_t h = static_cast<uint32_t>(c.pos) * 0x9E3779B97F4A7C15ull;
        for (int i = 0; i < k_context_depth; ++i)
            h = (h ^ static_cast<uint32_t>(c.below[i] + 1)) * 0xC2B2AE3D27D4EB4Full;
        return static_cast<size_t>(h ^ (h >> 29));
    }
};

/// The precomputed split of the vocabulary at one stack context. A deeper context stores
/// only what it adds to its shallower `base` context's accepted tokens.
struct position_masks {
    const position_masks* base = nullptr;
    std::vector<int32_t> accepted_ids;    ///< sparse form (accepted_bits then empty)
    std::vector<uint32_t> accepted_bits;  ///< dense form: a bitmask over the vocabulary
    std::vector<int32_t> uncertain;       ///< indices into vocabulary.sorted(), ascending
    std::vector<int32_t> uncertain_lcp;   ///< common prefix with the previous uncertain token
    size_t num_accepted = 0;
};

class compiled_grammar {
public:
    /// Validates `g` and binds it to `vocab`. Cheap: the masks are built on demand.
    static result<std::shared_ptr<const compiled_grammar>> compile(
        const grammar& g, std::shared_ptr<const token_vocabulary> vocab);

    const pda_program& program() const { return program_; }
    const token_vocabulary& vocabulary() const { return *vocab_; }
    /// The split at `context` (its pos a `bytes` instruction), computed on first use.
    const position_masks& masks_for(const mask_context& context) const;
    /// Contexts whose split is computed, and the memory they hold.
    size_t num_computed() const;
    size_t cache_bytes() const;

    compiled_grammar(pda_program program, std::shared_ptr<const token_vocabulary> vocab);

private:
    std::unique_ptr<position_masks> compute(const mask_context& context) const;
    const position_masks& lookup(const mask_context& context) const;  // mutex_ held

    pda_program program_;
    std::shared_ptr<const token_vocabulary> vocab_;
    mutable std::unordered_map<mask_context, std::unique_ptr<position_masks>, mask_context_hash>
        masks_;
    mutable std::mutex mutex_;
};

}  // namespace actorlm::structured
