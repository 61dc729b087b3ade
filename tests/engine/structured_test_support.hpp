// Helpers for the structured-output tests: a byte-level vocabulary (one token per byte
// plus a stop token) for grammar-only checks, whole-string matching, a reference mask
// built by trying every token (the oracle for the cached masks), and a random walk that
// picks uniformly among the allowed tokens, as a random-weight model would.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "structured/compiled_grammar.hpp"
#include "structured/grammar_matcher.hpp"

namespace actorlm::test {

/// Tokens 0..255 are the bytes, 256 is the stop token.
inline std::shared_ptr<const structured::token_vocabulary> byte_vocabulary() {
    static std::shared_ptr<const structured::token_vocabulary> vocab = [] {
        std::vector<std::string> bytes(257);
        std::vector<bool> matchable(257, true);
        for (int i = 0; i < 256; ++i) bytes[static_cast<size_t>(i)] = std::string(1, static_cast<char>(i));
        matchable[256] = false;
        return std::make_shared<const structured::token_vocabulary>(
            std::move(bytes), std::move(matchable), std::vector<int32_t>{256}, 257);
    }();
    return vocab;
}

inline std::shared_ptr<const structured::compiled_grammar> compile_for(
    const structured::grammar& g,
    std::shared_ptr<const structured::token_vocabulary> vocab = byte_vocabulary()) {
    auto c = structured::compiled_grammar::compile(g, std::move(vocab));
    REQUIRE_MESSAGE(c.ok(), (c.ok() ? std::string() : c.message()));
    return c.value();
}

/// True when the whole of `text` is in the grammar's language.
inline bool grammar_matches(const structured::grammar& g, std::string_view text) {
    structured::grammar_matcher m(compile_for(g));
    return m.accept_bytes(text) && m.can_terminate();
}

/// The allowed tokens found by trying each one (accept + rollback).
inline std::vector<uint32_t> reference_mask(structured::grammar_matcher& m) {
    const auto& vocab = m.grammar().vocabulary();
    std::vector<uint32_t> mask(structured::bitmask_words(vocab.mask_size()), 0);
    for (int32_t id = 0; id < vocab.num_tokens(); ++id) {
        if (m.accept_token(id)) {
            mask[static_cast<size_t>(id) >> 5] |= 1u << (id & 31);
            m.rollback(1);
        }
    }
    return mask;
}

inline std::vector<int32_t> allowed_ids(const std::vector<uint32_t>& mask) {
    std::vector<int32_t> ids;
    for (size_t w = 0; w < mask.size(); ++w)
        for (int b = 0; b < 32; ++b)
            if ((mask[w] >> b) & 1u) ids.push_back(static_cast<int32_t>(w * 32 + static_cast<size_t>(b)));
    return ids;
}

struct walk_result {
    std::string text;
    bool terminated = false;  // a stop token was chosen
    int steps = 0;
};

/// Picks uniformly among the allowed tokens (stop tokens with weight `stop_weight` times
/// the total of the others, so walks end) until a stop token or `max_steps`.
inline walk_result random_walk(structured::grammar_matcher& m, std::mt19937& rng, int max_steps,
                               double stop_weight = 0.3) {
    const auto& vocab = m.grammar().vocabulary();
    std::vector<uint32_t> mask(structured::bitmask_words(vocab.mask_size()));
    walk_result out;
    for (; out.steps < max_steps; ++out.steps) {
        m.fill_next_token_bitmask(mask);
        std::vector<int32_t> ids = allowed_ids(mask);
        REQUIRE_MESSAGE(!ids.empty(), "no token allowed after '" << out.text << "'");
        std::vector<int32_t> stops, others;
        for (int32_t id : ids) (vocab.is_stop(id) ? stops : others).push_back(id);
        std::uniform_real_distribution<double> u(0.0, 1.0);
        int32_t pick;
        if (!stops.empty() && (others.empty() || u(rng) < stop_weight))
            pick = stops[std::uniform_int_distribution<size_t>(0, stops.size() - 1)(rng)];
        else
            pick = others[std::uniform_int_distribution<size_t>(0, others.size() - 1)(rng)];
        REQUIRE(m.accept_token(pick));
        if (vocab.is_stop(pick)) {
            out.terminated = true;
            ++out.steps;
            break;
        }
        out.text += vocab.bytes(pick);
    }
    return out;
}

}  // namespace actorlm::test
