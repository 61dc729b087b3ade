// grammar_compiler: turns a request's structured_output_params into a compiled grammar
// over the model's vocabulary, caching compiled grammars by spec so that requests with
// the same schema share one token mask cache (which is what makes later requests' masks
// cheap). The vocabulary is built on the first structured request (token_to_piece over
// the whole vocabulary, ~0.1 s for 151k tokens), not when the engine starts. Thread-safe.
#pragma once

#include <actorlm/engine.hpp>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "base/result.hpp"
#include "structured/compiled_grammar.hpp"

namespace actorlm::structured {

class grammar_compiler {
public:
    using vocabulary_factory = std::function<result<std::shared_ptr<const token_vocabulary>>()>;

    explicit grammar_compiler(vocabulary_factory make_vocabulary)
        : make_vocabulary_(std::move(make_vocabulary)) {}
    /// Over the tokenizer's vocabulary (which must outlive the compiler).
    static std::shared_ptr<grammar_compiler> for_tokenizer(const tokenizer& tok);

    /// The compiled grammar of `p` (p.active()), from the cache when compiled before.
    result<std::shared_ptr<const compiled_grammar>> compile(const structured_output_params& p);

    /// Distinct specs compiled (and cached) so far.
    size_t num_cached() const;

private:
    // Beyond this many specs the cache starts over (each holds its mask cache, ~1-5 MB).
    static constexpr size_t k_max_cached = 64;

    vocabulary_factory make_vocabulary_;
    mutable std::mutex mutex_;
    std::shared_ptr<const token_vocabulary> vocab_;
    std::map<std::string, std::shared_ptr<const compiled_grammar>> cache_;
};

}  // namespace actorlm::structured
