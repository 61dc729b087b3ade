// tokenizer encode/decode (see tokenizer.hpp): added-token split -> normalizer ->
// pre-tokenizer -> BPE per piece; decode runs the decoder chain and repairs UTF-8.
#include "tokenizer/tokenizer.hpp"

#include <algorithm>

#include "tokenizer/utf8.hpp"

namespace actorlm {

using namespace tok;

tokenizer::tokenizer(tokenizer_parts parts) : parts_(std::move(parts)) {
    text_to_id_.reserve(parts_.id_to_text.size());
    for (size_t id = 0; id < parts_.id_to_text.size(); ++id)
        if (!parts_.id_to_text[id].empty())
            text_to_id_.emplace(parts_.id_to_text[id], static_cast<int32_t>(id));
    // added tokens win over a vocabulary entry with the same spelling
    for (const auto& t : parts_.added.tokens()) text_to_id_[t.content] = t.id;
}

std::vector<int32_t> tokenizer::encode(std::string_view text, bool add_special,
                                       bool parse_special) const {
    std::vector<int32_t> out;
    out.reserve(text.size() / 3 + 8);
    if (add_special) out = parts_.prefix_ids;
    std::string normalized;
    auto sink = [&](std::string_view piece) { parts_.model->encode(piece, out); };
    for (const text_fragment& f : parts_.added.split(text, parse_special)) {
        if (f.token >= 0) {
            out.push_back(f.token);
            continue;
        }
        std::string_view piece = f.text;
        if (!parts_.norm.empty()) {
            normalized.assign(f.text);
            parts_.norm.apply(normalized);
            piece = normalized;
        }
        parts_.pre.run(piece, f.offset == 0, pre_tokenizer::sink(sink));
    }
    if (add_special) out.insert(out.end(), parts_.suffix_ids.begin(), parts_.suffix_ids.end());
    return out;
}

std::string tokenizer::decode_bytes(std::span<const int32_t> ids, bool skip_special,
                                    bool spaces_between_special) const {
    std::vector<decode_piece> pieces;
    pieces.reserve(ids.size());
    bool prev_special = false;
    for (int32_t id : ids) {
        if (id < 0 || id >= vocab_size()) continue;
        const uint8_t a = parts_.attrs[static_cast<size_t>(id)];
        const bool special = (a & attr_special) != 0;
        if (skip_special && special) continue;
        // only control tokens get the spaces: a non-special added token such as Qwen3's
        // <think> must come out exactly as the model wrote it
        // (a WordPiece decoder spaces every word itself, special tokens included)
        if (spaces_between_special && !parts_.dec.spaces_words() && !pieces.empty() &&
            (special || prev_special))
            pieces.push_back({" ", true});
        pieces.push_back(
            {parts_.id_to_text[static_cast<size_t>(id)], (a & (attr_special | attr_added)) != 0});
        prev_special = special;
    }
    if (parts_.dec.empty()) {
        std::string out;
        for (auto& p : pieces) out += p.text;
        return out;
    }
    return parts_.dec.decode(std::move(pieces));
}

std::string tokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
    return to_valid_utf8(decode_bytes(ids, skip_special));
}

std::string tokenizer::token_to_piece(int32_t id) const {
    if (id < 0 || id >= vocab_size()) return {};
    const uint8_t a = parts_.attrs[static_cast<size_t>(id)];
    std::vector<decode_piece> one{
        {parts_.id_to_text[static_cast<size_t>(id)], (a & (attr_special | attr_added)) != 0}};
    if (parts_.dec.empty()) return one[0].text;
    return parts_.dec.decode(std::move(one), /*positional=*/false);
}

const std::string& tokenizer::token_text(int32_t id) const {
    static const std::string empty;
    return id < 0 || id >= vocab_size() ? empty : parts_.id_to_text[static_cast<size_t>(id)];
}

int32_t tokenizer::token_id(std::string_view text) const {
    auto it = text_to_id_.find(text);
    return it == text_to_id_.end() ? -1 : it->second;
}

bool tokenizer::is_special(int32_t id) const {
    return id >= 0 && id < vocab_size() && (parts_.attrs[static_cast<size_t>(id)] & attr_special);
}

std::string tokenizer::eos_token() const {
    return parts_.eos_ids.empty() ? std::string() : token_text(parts_.eos_ids.front());
}

bool tokenizer::add_bos() const {
    return bos_id() >= 0 && std::find(parts_.prefix_ids.begin(), parts_.prefix_ids.end(),
                                      bos_id()) != parts_.prefix_ids.end();
}

}  // namespace actorlm
