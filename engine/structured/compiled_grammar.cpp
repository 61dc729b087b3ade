// compiled_grammar: the per-context vocabulary split. The base split (a top and the entry
// under it) walks the whole vocabulary in byte order; each deeper context refines only the
// tokens its shallower context left uncertain.
#include "structured/compiled_grammar.hpp"

#include <algorithm>

namespace actorlm::structured {

compiled_grammar::compiled_grammar(pda_program program,
                                   std::shared_ptr<const token_vocabulary> vocab)
    : program_(std::move(program)), vocab_(std::move(vocab)) {}

result<std::shared_ptr<const compiled_grammar>> compiled_grammar::compile(
    const grammar& g, std::shared_ptr<const token_vocabulary> vocab) {
    status checked = g.validate();
    if (!checked.ok()) return checked.err();
    return std::make_shared<const compiled_grammar>(pda_program::from_grammar(g),
                                                    std::move(vocab));
}

const position_masks& compiled_grammar::masks_for(const mask_context& context) const {
    // Computed under the lock: two matchers reaching a new context at once wait for one
    // computation instead of both doing it.
    std::lock_guard<std::mutex> lock(mutex_);
    return lookup(context);
}

const position_masks& compiled_grammar::lookup(const mask_context& context) const {
    auto it = masks_.find(context);
    if (it != masks_.end()) return *it->second;
    // compute() may look up shallower contexts (inserting them), so insert afterwards;
    // the map owns each split through a unique_ptr, so references stay valid.
    std::unique_ptr<position_masks> computed = compute(context);
    const position_masks& m = *computed;
    masks_.emplace(context, std::move(computed));
    return m;
}

size_t compiled_grammar::num_computed() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return masks_.size();
}

size_t compiled_grammar::cache_bytes() const {
    std::lock_guard<std::mutex> lock(mutex_);
    size_t bytes = 0;
    for (const auto& [key, m] : masks_)
        bytes += sizeof(position_masks) + 4 * (m->accepted_ids.size() + m->accepted_bits.size() +
                                               m->uncertain.size() + m->uncertain_lcp.size());
    return bytes;
}

namespace {

// Walks the candidate tokens (indices into vocab.sorted(), ascending; lcp_at(k) = common
// prefix of candidate k with candidate k - 1) from the stack `start`, sorting them into
// accepted ids and uncertain indices. The parse state after each prefix length is kept, so
// a token costs only the bytes it does not share with its predecessor, and once a prefix
// is dead every token starting with it is classified without being parsed.
template <class IndexAt, class LcpAt>
void classify(const pda_program& program, const token_vocabulary& vocab, stack_pool& pool,
              int32_t pos, int32_t parent, const byte_set& follow, size_t num_candidates,
              IndexAt index_at, LcpAt lcp_at, std::vector<int32_t>& accepted,
              std::vector<int32_t>& uncertain) {
    pda_stepper step(program, pool);
    const std::span<const int32_t> sorted = vocab.sorted();
    const size_t max_len = vocab.max_token_bytes();
    // states[d]: the parse after the token's first d bytes. hit[d]: the context's bottom
    // entry can end after d bytes; unc[d]: it ended earlier with a byte that may follow
    // it, so the token's fate depends on the stack below the context.
    std::vector<pda_state> states(max_len + 1);
    std::vector<char> hit(max_len + 1, 0), unc(max_len + 1, 0);
    step.start_at(pos, parent, states[0]);
    hit[0] = states[0].complete;
    size_t valid = 0;
    for (size_t k = 0; k < num_candidates;) {
        const int32_t index = index_at(k);
        const std::string& t = vocab.bytes(sorted[static_cast<size_t>(index)]);
        const size_t n = t.size();
        size_t d = std::min<size_t>(static_cast<size_t>(k == 0 ? 0 : lcp_at(k)), valid);
        bool dead = false;
        while (d < n) {
            if (states[d].tops.empty()) {
                dead = true;
                break;
            }
            const auto b = static_cast<uint8_t>(t[d]);
            step.advance(states[d], b, states[d + 1]);
            hit[d + 1] = states[d + 1].complete;
            unc[d + 1] = unc[d] || (hit[d] && follow.contains(b));
            ++d;
        }
        valid = d;
        if (!dead) {
            if (!states[n].tops.empty() || hit[n])
                accepted.push_back(sorted[static_cast<size_t>(index)]);
            else if (unc[n])
                uncertain.push_back(index);
            ++k;
            continue;
        }
        // No stack survives the first d bytes: every following candidate sharing them has
        // the same fate (and the next byte too when the context could end here).
        const bool is_uncertain =
            unc[d] || (hit[d] && follow.contains(static_cast<uint8_t>(t[d])));
        const size_t shared = hit[d] ? d + 1 : d;
        do {
            if (is_uncertain) uncertain.push_back(index_at(k));
            ++k;
        } while (k < num_candidates && static_cast<size_t>(lcp_at(k)) >= shared);
    }
}

// How many entries of `c` are known (the rest are k_unknown_below).
int known_depth(const mask_context& c) {
    int d = 0;
    while (d < k_context_depth && c.below[d] != k_unknown_below) ++d;
    return d;
}

}  // namespace

std::unique_ptr<position_masks> compiled_grammar::compute(const mask_context& context) const {
    auto out = std::make_unique<position_masks>();
    const int32_t pos = context.pos;
    if (program_.code[static_cast<size_t>(pos)].op != pda_instr::bytes) return out;
    const token_vocabulary& vocab = *vocab_;
    stack_pool pool;
    // The context as a stack whose bottom entry is the deepest known one; popping past it
    // leaves that entry's rule, after which only FOLLOW(rule) bytes may come (nothing when
    // the real stack bottom is known to be there).
    int32_t parent = k_stack_bottom, bottom_pos = pos;
    bool at_grammar_bottom = false;
    for (int i = k_context_depth - 1; i >= 0; --i) {
        if (context.below[i] == k_stack_bottom) at_grammar_bottom = true;
        if (context.below[i] < 0) continue;
        if (parent == k_stack_bottom) bottom_pos = context.below[i];
        parent = pool.intern(context.below[i], parent);
    }
    const byte_set no_follow;
    const byte_set& follow =
        at_grammar_bottom
            ? no_follow
            : program_.follow[static_cast<size_t>(program_.rule_of[static_cast<size_t>(bottom_pos)])];
    std::vector<int32_t> accepted;
    const int depth = known_depth(context);
    if (depth <= 1) {
        // The base split: the whole vocabulary.
        const std::span<const int32_t> lcp = vocab.lcp();
        classify(program_, vocab, pool, pos, parent, follow, vocab.sorted().size(),
                 [](size_t k) { return static_cast<int32_t>(k); },
                 [&](size_t k) { return lcp[k]; }, accepted, out->uncertain);
    } else {
        // A deeper context refines the shallower one's uncertain tokens only: what that
        // one accepts or rejects, every deeper context does too.
        mask_context shallower = context;
        shallower.below[depth - 1] = k_unknown_below;
        const position_masks& base = lookup(shallower);
        out->base = &base;
        classify(program_, vocab, pool, pos, parent, follow, base.uncertain.size(),
                 [&](size_t k) { return base.uncertain[k]; },
                 [&](size_t k) { return base.uncertain_lcp[k]; }, accepted, out->uncertain);
    }
    out->num_accepted = accepted.size() + (out->base ? out->base->num_accepted : 0);
    if (accepted.size() * 32 > static_cast<size_t>(vocab.mask_size())) {
        out->accepted_bits.assign(bitmask_words(vocab.mask_size()), 0);
        for (int32_t id : accepted)
            out->accepted_bits[static_cast<size_t>(id) >> 5] |= 1u << (id & 31);
    } else {
        out->accepted_ids = std::move(accepted);
    }
    const std::span<const int32_t> sorted = vocab.sorted();
    out->uncertain_lcp.resize(out->uncertain.size(), 0);
    for (size_t j = 1; j < out->uncertain.size(); ++j) {
        const std::string& a = vocab.bytes(sorted[static_cast<size_t>(out->uncertain[j - 1])]);
        const std::string& b = vocab.bytes(sorted[static_cast<size_t>(out->uncertain[j])]);
        size_t m = 0;
        while (m < a.size() && m < b.size() && a[m] == b[m]) ++m;
        out->uncertain_lcp[j] = static_cast<int32_t>(m);
    }
    return out;
}

}  // namespace actorlm::structured
