// grammar_matcher: one generation's position in a compiled grammar. accept_token()
// advances over a sampled token's bytes (or a stop token where the grammar may end),
// rollback() undoes the last tokens (speculative decoding's rejected drafts), and
// fill_next_token_bitmask() writes which tokens may come next: the cached accepted set of
// every stack top, plus those of its uncertain tokens that the real stack accepts. Every
// accepted token's state is kept, so rollback is O(1) per token. Single-threaded; one per
// sequence (n > 1 gives each child its own).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "structured/compiled_grammar.hpp"

namespace actorlm::structured {

class grammar_matcher {
public:
    explicit grammar_matcher(std::shared_ptr<const compiled_grammar> grammar);

    /// Advances over token `id`; false (nothing changes) when the grammar does not allow
    /// it here. A stop token is allowed only where can_terminate() holds and terminates.
    bool accept_token(int32_t id);
    /// Advances over raw bytes (all or nothing); counts as one step for rollback.
    bool accept_bytes(std::string_view bytes);
    /// Undoes the last `n` accepted steps (n <= num_steps()).
    void rollback(int32_t n);
    /// Steps accepted since construction or reset().
    int32_t num_steps() const { return static_cast<int32_t>(history_.size()) - 1; }
    void reset();

    /// The grammar is complete here: a stop token may come next.
    bool can_terminate() const { return !terminated() && history_.back().state.complete; }
    /// A stop token was accepted; nothing more is allowed.
    bool is_terminated() const { return terminated(); }

    /// Writes the allowed-next-token bitmask (bitmask_words(vocab.mask_size()) words; bit
    /// set = allowed). After termination no bit is set.
    void fill_next_token_bitmask(std::span<uint32_t> bitmask);

    const compiled_grammar& grammar() const { return *grammar_; }

private:
    struct step_entry {
        pda_state state;
        size_t pool_mark = 0;  // pool size before this step, restored by rollback
        bool terminated = false;
    };
    bool terminated() const { return history_.back().terminated; }
    // Adds the uncertain tokens of `pos` that the stack under `top` accepts.
    void check_uncertain(int32_t top, const position_masks& m, std::span<uint32_t> bitmask);
    // The cached split for a stack top's context (looked up once per matcher).
    const position_masks& masks_of(int32_t top);

    std::shared_ptr<const compiled_grammar> grammar_;
    stack_pool pool_;
    pda_stepper step_;
    std::vector<step_entry> history_;
    std::vector<pda_state> scratch_;  // per-depth states of a token walk
    std::unordered_map<mask_context, const position_masks*, mask_context_hash> seen_masks_;
};

}  // namespace actorlm::structured
