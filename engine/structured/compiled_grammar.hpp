// compiled_grammar: a grammar bound to a vocabulary, with XGrammar's adaptive token mask
// cache. For every `bytes` position of the flattened grammar, the vocabulary is split once
// into tokens accepted whatever lies below on the stack (they fit inside the position's
// rule), tokens rejected whatever lies below, and "uncertain" tokens that run past the
// rule's end, where the real stack decides. FOLLOW sets prune the uncertain ones whose
// next byte can never follow the rule. A position's split is computed the first time a
// matcher reaches it (or all at once by precompute_all()); immutable otherwise, and safe to
// share between matchers on different threads.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "base/result.hpp"
#include "structured/grammar.hpp"
#include "structured/pda.hpp"
#include "structured/token_vocabulary.hpp"

namespace actorlm::structured {

/// The precomputed split of the vocabulary at one grammar position.
struct position_masks {
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
    /// The split at `pos` (a `bytes` instruction), computing it on first use.
    const position_masks& masks_at(int32_t pos) const;
    /// Computes every position's split now (benchmarks, warm-up).
    void precompute_all() const;
    /// Positions whose split is computed, and the memory they hold.
    size_t num_computed() const;
    size_t cache_bytes() const;

    compiled_grammar(pda_program program, std::shared_ptr<const token_vocabulary> vocab);

private:
    std::unique_ptr<position_masks> compute(int32_t pos) const;

    pda_program program_;
    std::shared_ptr<const token_vocabulary> vocab_;
    mutable std::unique_ptr<std::atomic<position_masks*>[]> masks_;
    mutable std::vector<std::unique_ptr<position_masks>> owned_;
    mutable std::mutex compute_mutex_;
};

}  // namespace actorlm::structured
