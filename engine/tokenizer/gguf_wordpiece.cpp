// GGUF bert vocabularies (see gguf_wordpiece.hpp). llama.cpp tokenizes every bert vocabulary
// uncased with accents stripped (GGUF records no normalizer), so the chain is fixed here.
#include "tokenizer/gguf_wordpiece.hpp"

#include <memory>

#include "tokenizer/wordpiece_model.hpp"

namespace actorlm::tok {

namespace {
constexpr std::string_view k_word_start_marker = "\xE2\x96\x81";  // U+2581: a word starts here
}  // namespace

std::string wordpiece_key_from_gguf(std::string_view token) {
    if (token.size() >= 2 && token.front() == '[' && token.back() == ']') return std::string(token);
    if (token.substr(0, k_word_start_marker.size()) == k_word_start_marker)
        return std::string(token.substr(k_word_start_marker.size()));
    return token.empty() ? std::string() : "##" + std::string(token);
}

void set_gguf_wordpiece_stages(tokenizer_parts& parts, const std::vector<std::string>& keys,
                               int32_t unk_id) {
    wordpiece_options o;
    o.unk_id = unk_id;
    parts.model = std::make_unique<wordpiece_model>(keys, o);
    normalizer_step n;
    n.what = normalizer_step::kind::bert;  // defaults: clean, CJK, strip accents, lowercase
    parts.norm.add(n);
    pre_tokenizer_step p;
    p.what = pre_tokenizer_step::kind::bert;
    parts.pre.add(std::move(p));
    decoder_step d;
    d.what = decoder_step::kind::wordpiece;
    d.replacement = std::string(k_word_start_marker);
    parts.dec.add(d);
}

}  // namespace actorlm::tok
