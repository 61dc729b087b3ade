// Added-token matching (see added_tokens.hpp): candidates are bucketed by first byte and tried
// longest first, so plain text costs one table probe per byte.
#include "tokenizer/added_tokens.hpp"

#include <algorithm>

#include "tokenizer/utf8.hpp"

#include <utf8proc.h>

namespace actorlm::tok {

void added_token_matcher::add(added_token t) {
    if (t.content.empty()) return;
    const auto first = static_cast<unsigned char>(t.content[0]);
    any_non_special_ = any_non_special_ || !t.special;
    tokens_.push_back(std::move(t));
    auto& bucket = by_first_byte_[first];
    bucket.push_back(static_cast<uint32_t>(tokens_.size() - 1));
    std::stable_sort(bucket.begin(), bucket.end(), [&](uint32_t a, uint32_t b) {
        return tokens_[a].content.size() > tokens_[b].content.size();
    });
}

namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Is the code point ending just before `pos` (or starting at `pos`) a word character?
bool word_char_at(std::string_view text, size_t pos) {
    size_t p = pos;
    const uint32_t cp = decode_utf8(text, p);
    if (cp == '_') return true;
    const auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
    return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
           (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO) ||
           (cat >= UTF8PROC_CATEGORY_MN && cat <= UTF8PROC_CATEGORY_ME);
}

bool word_char_before(std::string_view text, size_t pos) {
    if (pos == 0) return false;
    size_t start = pos - 1;
    while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
    return word_char_at(text, start);
}

}  // namespace

std::vector<text_fragment> added_token_matcher::split(std::string_view text,
                                                      bool parse_special) const {
    std::vector<text_fragment> out;
    if (tokens_.empty() || (!parse_special && !any_non_special_)) {
        if (!text.empty()) out.push_back({text, -1, 0});
        return out;
    }
    size_t plain_begin = 0;  // start of the pending plain-text stretch
    size_t pos = 0;
    while (pos < text.size()) {
        const auto& bucket = by_first_byte_[static_cast<unsigned char>(text[pos])];
        const added_token* hit = nullptr;
        for (uint32_t idx : bucket) {
            const added_token& t = tokens_[idx];
            if (t.special && !parse_special) continue;
            if (text.compare(pos, t.content.size(), t.content) != 0) continue;
            if (t.single_word &&
                (word_char_before(text, pos) || (pos + t.content.size() < text.size() &&
                                                 word_char_at(text, pos + t.content.size()))))
                continue;
            hit = &t;
            break;
        }
        if (hit == nullptr) {
            ++pos;
            continue;
        }
        size_t begin = pos, end = pos + hit->content.size();
        if (hit->lstrip)
            while (begin > plain_begin && is_space(text[begin - 1])) --begin;
        if (hit->rstrip)
            while (end < text.size() && is_space(text[end])) ++end;
        if (begin > plain_begin)
            out.push_back({text.substr(plain_begin, begin - plain_begin), -1, plain_begin});
        out.push_back({std::string_view(), hit->id, begin});
        pos = plain_begin = end;
    }
    if (plain_begin < text.size()) out.push_back({text.substr(plain_begin), -1, plain_begin});
    return out;
}

}  // namespace actorlm::tok
