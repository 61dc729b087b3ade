// grammar_compiler: spec key -> compiled grammar, with the vocabulary made on first use.
#include "structured/grammar_compiler.hpp"

#include "structured/grammar_source.hpp"
#include "tokenizer/tokenizer.hpp"

namespace actorlm::structured {

std::shared_ptr<grammar_compiler> grammar_compiler::for_tokenizer(const tokenizer& tok) {
    return std::make_shared<grammar_compiler>(
        [&tok]() -> result<std::shared_ptr<const token_vocabulary>> {
            return token_vocabulary::from_tokenizer(tok);
        });
}

result<std::shared_ptr<const compiled_grammar>> grammar_compiler::compile(
    const structured_output_params& p) {
    std::string key = structured_output_key(p);
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
    if (!vocab_) {
        result<std::shared_ptr<const token_vocabulary>> v = make_vocabulary_();
        if (!v.ok()) return v.err();
        vocab_ = std::move(v.value());
    }
    result<grammar> g = grammar_from_params(p);
    if (!g.ok()) return g.err();
    result<std::shared_ptr<const compiled_grammar>> c = compiled_grammar::compile(*g, vocab_);
    if (!c.ok()) return c.err();
    if (cache_.size() >= k_max_cached) cache_.clear();
    cache_.emplace(std::move(key), c.value());
    return c;
}

size_t grammar_compiler::num_cached() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return cache_.size();
}

}  // namespace actorlm::structured
