// UTF-8 helpers and the GPT-2 byte-level table (see utf8.hpp). The table is built once,
// thread-safely, by a function-local static.
#include "tokenizer/utf8.hpp"

namespace actorlm::tok {

void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

namespace {

// Bounds of the second byte per the Unicode well-formed table (no overlongs, surrogates
// or code points above U+10FFFF); later bytes are plain continuation bytes.
struct second_range {
    unsigned char lo, hi;
};

bool lead_info(unsigned char b, size_t& len, second_range& r) {
    if (b >= 0xC2 && b <= 0xDF) {
        len = 2;
        r = {0x80, 0xBF};
        return true;
    }
    if (b == 0xE0) {
        len = 3;
        r = {0xA0, 0xBF};
        return true;
    }
    if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) {
        len = 3;
        r = {0x80, 0xBF};
        return true;
    }
    if (b == 0xED) {
        len = 3;
        r = {0x80, 0x9F};
        return true;
    }
    if (b == 0xF0) {
        len = 4;
        r = {0x90, 0xBF};
        return true;
    }
    if (b >= 0xF1 && b <= 0xF3) {
        len = 4;
        r = {0x80, 0xBF};
        return true;
    }
    if (b == 0xF4) {
        len = 4;
        r = {0x80, 0x8F};
        return true;
    }
    return false;
}

// Number of bytes of `s` (from its start) that are a valid prefix of a well-formed
// sequence, and the full length that sequence needs. prefix == need means complete.
void scan_seq(std::string_view s, size_t& prefix, size_t& need) {
    const auto b0 = static_cast<unsigned char>(s[0]);
    if (b0 < 0x80) {
        prefix = need = 1;
        return;
    }
    second_range r;
    if (!lead_info(b0, need, r)) {
        prefix = 0;
        need = 1;
        return;
    }
    prefix = 1;
    for (size_t i = 1; i < need && i < s.size(); ++i) {
        const auto b = static_cast<unsigned char>(s[i]);
        const bool ok = i == 1 ? (b >= r.lo && b <= r.hi) : (b >= 0x80 && b <= 0xBF);
        if (!ok) return;
        ++prefix;
    }
}

}  // namespace

uint32_t decode_utf8(std::string_view s, size_t& pos) {
    size_t prefix = 0, need = 0;
    scan_seq(s.substr(pos), prefix, need);
    if (prefix != need) {
        ++pos;
        return 0xFFFD;
    }
    const auto* p = reinterpret_cast<const unsigned char*>(s.data() + pos);
    uint32_t cp;
    switch (need) {
        case 1: cp = p[0]; break;
        case 2: cp = ((p[0] & 0x1Fu) << 6) | (p[1] & 0x3Fu); break;
        case 3: cp = ((p[0] & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu); break;
        default:
            cp = ((p[0] & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) | ((p[2] & 0x3Fu) << 6) |
                 (p[3] & 0x3Fu);
    }
    pos += need;
    return cp;
}

size_t valid_seq_len(std::string_view s) {
    if (s.empty()) return 0;
    size_t prefix = 0, need = 0;
    scan_seq(s, prefix, need);
    return prefix == need ? need : 0;
}

bool is_incomplete_prefix(std::string_view s) {
    if (s.empty()) return false;
    size_t prefix = 0, need = 0;
    scan_seq(s, prefix, need);
    return prefix == s.size() && prefix < need;
}

size_t append_lossy_utf8(std::string& out, std::string_view bytes, bool hold_incomplete) {
    size_t i = 0;
    while (i < bytes.size()) {
        const auto b = static_cast<unsigned char>(bytes[i]);
        if (b < 0x80) {  // ASCII fast path
            size_t j = i + 1;
            while (j < bytes.size() && static_cast<unsigned char>(bytes[j]) < 0x80) ++j;
            out.append(bytes.data() + i, j - i);
            i = j;
            continue;
        }
        size_t prefix = 0, need = 0;
        scan_seq(bytes.substr(i), prefix, need);
        if (prefix == need) {
            out.append(bytes.data() + i, need);
            i += need;
        } else if (i + prefix == bytes.size() && prefix > 0 && hold_incomplete) {
            return prefix;  // may still be completed by later bytes
        } else {
            out.append("\xEF\xBF\xBD");  // one U+FFFD per maximal invalid subpart
            i += prefix > 0 ? prefix : 1;
        }
    }
    return 0;
}

std::string to_valid_utf8(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size());
    append_lossy_utf8(out, bytes, false);
    return out;
}

namespace {

struct byte_tables {
    std::array<uint32_t, 256> to_cp{};
    std::array<int16_t, 512> from_cp{};  // every mapped code point is below 0x144

    byte_tables() {
        from_cp.fill(-1);
        uint32_t extra = 0;
        for (uint32_t b = 0; b < 256; ++b) {
            const bool printable =
                (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            to_cp[b] = printable ? b : 256 + extra++;
            from_cp[to_cp[b]] = static_cast<int16_t>(b);
        }
    }
};

const byte_tables& tables() {
    static const byte_tables t;
    return t;
}

}  // namespace

const std::array<uint32_t, 256>& byte_to_unicode() { return tables().to_cp; }

int unicode_to_byte(uint32_t cp) { return cp < 512 ? tables().from_cp[cp] : -1; }

std::string bytes_to_byte_level(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size() * 2);
    const auto& t = tables().to_cp;
    for (char c : bytes) append_utf8(out, t[static_cast<unsigned char>(c)]);
    return out;
}

bool byte_level_to_bytes(std::string_view text, std::string& out) {
    bool all_mapped = true;
    size_t pos = 0;
    while (pos < text.size()) {
        const size_t start = pos;
        const uint32_t cp = decode_utf8(text, pos);
        const int b = unicode_to_byte(cp);
        if (b >= 0) {
            out.push_back(static_cast<char>(b));
        } else {
            out.append(text.data() + start, pos - start);
            all_mapped = false;
        }
    }
    return all_mapped;
}

}  // namespace actorlm::tok
