// Normalizer steps (see normalizer.hpp). Unicode forms and case mapping use utf8proc, whose
// tables follow the Unicode version Debian ships; HF uses Rust's unicode-normalization.
#include "tokenizer/normalizer.hpp"

#include <utf8proc.h>

#include <cstdlib>

#include "tokenizer/utf8.hpp"

namespace actorlm::tok {

void replace_all(std::string& text, std::string_view from, std::string_view to) {
    if (from.empty()) return;
    size_t pos = text.find(from);
    if (pos == std::string::npos) return;
    std::string out;
    out.reserve(text.size() + text.size() / 8);
    size_t last = 0;
    while (pos != std::string::npos) {
        out.append(text, last, pos - last);
        out.append(to);
        last = pos + from.size();
        pos = text.find(from, last);
    }
    out.append(text, last, std::string::npos);
    text.swap(out);
}

namespace {

bool is_ascii(const std::string& s) {
    for (char c : s)
        if (static_cast<unsigned char>(c) >= 0x80) return false;
    return true;
}

void unicode_form(std::string& text, utf8proc_option_t options) {
    if (is_ascii(text)) return;  // every normal form of ASCII is itself
    utf8proc_uint8_t* out = nullptr;
    const auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                                static_cast<utf8proc_ssize_t>(text.size()), &out,
                                static_cast<utf8proc_option_t>(options | UTF8PROC_STABLE));
    if (n >= 0 && out != nullptr)
        text.assign(reinterpret_cast<const char*>(out), static_cast<size_t>(n));
    std::free(out);
}

void lowercase(std::string& text) {
    std::string out;
    out.reserve(text.size());
    size_t pos = 0;
    while (pos < text.size()) {
        const auto b = static_cast<unsigned char>(text[pos]);
        if (b < 0x80) {
            out.push_back(static_cast<char>(b >= 'A' && b <= 'Z' ? b + 32 : b));
            ++pos;
            continue;
        }
        const size_t start = pos;
        const uint32_t cp = decode_utf8(text, pos);
        if (cp == 0xFFFD && pos == start + 1) {
            out.push_back(text[start]);  // keep invalid bytes as they are
            continue;
        }
        append_utf8(out,
                    static_cast<uint32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp))));
    }
    text.swap(out);
}

bool is_space_at(const std::string& s, size_t pos, size_t& len) {
    size_t p = pos;
    const uint32_t cp = decode_utf8(s, p);
    len = p - pos;
    const auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
    return cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || cat == UTF8PROC_CATEGORY_ZS ||
           cat == UTF8PROC_CATEGORY_ZL || cat == UTF8PROC_CATEGORY_ZP || cp == 0x85;
}

void strip(std::string& text, bool left, bool right) {
    size_t begin = 0, end = text.size(), len = 0;
    if (left)
        while (begin < end && is_space_at(text, begin, len)) begin += len;
    if (right) {
        // walk code points forward, remembering where the trailing run of spaces starts
        size_t pos = begin, run_start = end;
        bool in_run = false;
        while (pos < end) {
            const bool sp = is_space_at(text, pos, len);
            if (sp && !in_run) run_start = pos;
            in_run = sp;
            pos += len;
        }
        if (in_run) end = run_start;
    }
    text = text.substr(begin, end - begin);
}

}  // namespace

void normalizer::apply(std::string& text) const {
    for (const auto& s : steps_) {
        switch (s.what) {
            case normalizer_step::kind::prepend:
                if (!text.empty()) text.insert(0, s.text);  // HF prepends to non-empty text only
                break;
            case normalizer_step::kind::replace:
                if (s.re) {
                    std::string out;
                    size_t pos = 0, b = 0, e = 0;
                    while (pos <= text.size() && s.re->find(text, pos, b, e)) {
                        out.append(text, pos, b - pos);
                        out.append(s.content);
                        if (e == b) {  // empty match: copy one byte and move on
                            if (b < text.size()) out.push_back(text[b]);
                            pos = b + 1;
                        } else {
                            pos = e;
                        }
                    }
                    if (pos < text.size()) out.append(text, pos, std::string::npos);
                    text.swap(out);
                } else {
                    replace_all(text, s.text, s.content);
                }
                break;
            case normalizer_step::kind::nfc: unicode_form(text, UTF8PROC_COMPOSE); break;
            case normalizer_step::kind::nfkc:
                unicode_form(text,
                             static_cast<utf8proc_option_t>(UTF8PROC_COMPOSE | UTF8PROC_COMPAT));
                break;
            case normalizer_step::kind::nfd: unicode_form(text, UTF8PROC_DECOMPOSE); break;
            case normalizer_step::kind::nfkd:
                unicode_form(text,
                             static_cast<utf8proc_option_t>(UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT));
                break;
            case normalizer_step::kind::lowercase: lowercase(text); break;
            case normalizer_step::kind::strip: strip(text, s.strip_left, s.strip_right); break;
            case normalizer_step::kind::bert: bert_normalize(text, s.bert); break;
        }
    }
}

}  // namespace actorlm::tok
