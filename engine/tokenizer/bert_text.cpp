// BERT normalizer and pre-tokenizer (see bert_text.hpp). Categories come from utf8proc, whose
// tables follow the Unicode version Debian ships; HF uses the unicode_categories crate.
// ASCII text takes a fast path that never calls utf8proc.
#include "tokenizer/bert_text.hpp"

#include <utf8proc.h>

#include <cstdlib>

#include "tokenizer/utf8.hpp"

namespace actorlm::tok {

namespace {

utf8proc_category_t category(uint32_t cp) {
    return utf8proc_category(static_cast<utf8proc_int32_t>(cp));
}

// HF's is_control: Cc, Cf, Cs and Co, except \t \n \r. Unassigned code points (Cn) are
// kept: HF tokenizers leaves them in the text (checked: U+05CC, U+17ED, U+20C8 become [UNK]).
bool is_control(uint32_t cp) {
    if (cp == '\t' || cp == '\n' || cp == '\r') return false;
    switch (category(cp)) {
        case UTF8PROC_CATEGORY_CC:
        case UTF8PROC_CATEGORY_CF:
        case UTF8PROC_CATEGORY_CS:
        case UTF8PROC_CATEGORY_CO: return true;
        default: return false;
    }
}

bool is_ascii(std::string_view s) {
    for (char c : s)
        if (static_cast<unsigned char>(c) >= 0x80) return false;
    return true;
}

// clean_text and handle_chinese_chars in one pass over the code points
void clean_and_pad(std::string& text, const bert_normalizer_options& o) {
    std::string out;
    out.reserve(text.size() + 8);
    size_t pos = 0;
    while (pos < text.size()) {
        const uint32_t cp = decode_utf8(text, pos);
        if (o.clean_text) {
            if (cp == 0 || cp == 0xFFFD || is_control(cp)) continue;
            if (bert_is_whitespace(cp)) {
                out.push_back(' ');
                continue;
            }
        }
        if (o.handle_chinese_chars && bert_is_chinese_char(cp)) {
            out.push_back(' ');
            append_utf8(out, cp);
            out.push_back(' ');
            continue;
        }
        append_utf8(out, cp);
    }
    text.swap(out);
}

void strip_accents(std::string& text) {
    utf8proc_uint8_t* nfd = nullptr;
    const auto n =
        utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                     static_cast<utf8proc_ssize_t>(text.size()), &nfd,
                     static_cast<utf8proc_option_t>(UTF8PROC_DECOMPOSE | UTF8PROC_STABLE));
    std::string_view src = text;
    std::string decomposed;
    if (n >= 0 && nfd != nullptr) {
        decomposed.assign(reinterpret_cast<const char*>(nfd), static_cast<size_t>(n));
        src = decomposed;
    }
    std::free(nfd);
    std::string out;
    out.reserve(src.size());
    size_t pos = 0;
    while (pos < src.size()) {
        const size_t start = pos;
        const uint32_t cp = decode_utf8(src, pos);
        if (category(cp) == UTF8PROC_CATEGORY_MN) continue;
        out.append(src, start, pos - start);
    }
    text.swap(out);
}

void lowercase(std::string& text) {
    std::string out;
    out.reserve(text.size());
    size_t pos = 0;
    while (pos < text.size()) {
        const uint32_t cp = decode_utf8(text, pos);
        if (cp == 0x130) {  // the one full lowercase mapping of two chars: İ -> i + U+0307
            out.append("i\xCC\x87");
            continue;
        }
        append_utf8(out,
                    static_cast<uint32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp))));
    }
    text.swap(out);
}

void normalize_ascii(std::string& text, const bert_normalizer_options& o) {
    size_t w = 0;
    for (char ch : text) {
        auto c = static_cast<unsigned char>(ch);
        if (o.clean_text) {
            // \t \n \r are whitespace; every other C0 control (\v and \f too) and DEL is Cc
            if (c == '\t' || c == '\n' || c == '\r')
                c = ' ';
            else if (c < 0x20 || c == 0x7F)
                continue;
        }
        if (o.lowercase && c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c + 32);
        text[w++] = static_cast<char>(c);
    }
    text.resize(w);
}

}  // namespace

bool bert_is_whitespace(uint32_t cp) {
    if (cp == ' ' || (cp >= 0x09 && cp <= 0x0D)) return true;
    if (cp < 0x85) return false;
    return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
           cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

bool bert_is_punctuation(uint32_t cp) {
    if (cp < 0x80)
        return (cp >= '!' && cp <= '/') || (cp >= ':' && cp <= '@') || (cp >= '[' && cp <= '`') ||
               (cp >= '{' && cp <= '~');
    switch (category(cp)) {
        case UTF8PROC_CATEGORY_PC:
        case UTF8PROC_CATEGORY_PD:
        case UTF8PROC_CATEGORY_PS:
        case UTF8PROC_CATEGORY_PE:
        case UTF8PROC_CATEGORY_PI:
        case UTF8PROC_CATEGORY_PF:
        case UTF8PROC_CATEGORY_PO: return true;
        default: return false;
    }
}

bool bert_is_chinese_char(uint32_t cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
           (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

void bert_normalize(std::string& text, const bert_normalizer_options& o) {
    if (is_ascii(text)) {  // no CJK, no accents, ASCII-only classes
        normalize_ascii(text, o);
        return;
    }
    if (o.clean_text || o.handle_chinese_chars) clean_and_pad(text, o);
    if (o.strip_accents) strip_accents(text);
    if (o.lowercase) lowercase(text);
}

void bert_pre_tokenize(std::string_view text, function_ref<void(std::string_view)> out) {
    size_t word = 0, pos = 0;
    while (pos < text.size()) {
        const size_t start = pos;
        const uint32_t cp = decode_utf8(text, pos);
        const bool space = bert_is_whitespace(cp);
        if (!space && !bert_is_punctuation(cp)) continue;
        if (start > word) out(text.substr(word, start - word));
        if (!space) out(text.substr(start, pos - start));
        word = pos;
    }
    if (pos > word) out(text.substr(word, pos - word));
}

}  // namespace actorlm::tok
