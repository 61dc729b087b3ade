// Decoder steps (see decoder.hpp), each a pass over the piece list as in HF's decode_chain.
#include "tokenizer/decoder.hpp"

#include "tokenizer/normalizer.hpp"
#include "tokenizer/utf8.hpp"

namespace actorlm::tok {

namespace {

// "<0x41>" -> 0x41, else -1
int byte_token_value(const std::string& t) {
    if (t.size() != 6 || t[0] != '<' || t[1] != '0' || t[2] != 'x' || t[5] != '>') return -1;
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    const int hi = hex(t[3]), lo = hex(t[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

// Strips up to `n` leading (or trailing) occurrences of the character `c` (UTF-8).
void strip_chars(std::string& s, const std::string& c, size_t start, size_t stop) {
    if (c.empty()) return;
    size_t begin = 0;
    for (size_t k = 0; k < start && s.compare(begin, c.size(), c) == 0; ++k) begin += c.size();
    size_t end = s.size();
    for (size_t k = 0;
         k < stop && end >= begin + c.size() && s.compare(end - c.size(), c.size(), c) == 0; ++k)
        end -= c.size();
    s = s.substr(begin, end - begin);
}

// HF's WordPiece cleanup, applied to each token after its separating space is added
void wordpiece_cleanup(std::string& s) {
    static constexpr std::string_view k_rules[][2] = {
        {" .", "."},   {" ?", "?"},     {" !", "!"},     {" ,", ","},
        {" ' ", "'"},  {" n't", "n't"}, {" 'm", "'m"},   {" do not", " don't"},
        {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
    };
    for (const auto& r : k_rules) replace_all(s, r[0], r[1]);
}

bool starts_with(const std::string& s, const std::string& prefix) {
    return !prefix.empty() && s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

bool decoder::spaces_words() const {
    for (const decoder_step& st : steps_)
        if (st.what == decoder_step::kind::wordpiece) return true;
    return false;
}

std::string decoder::decode(std::vector<decode_piece> pieces, bool positional) const {
    for (const decoder_step& st : steps_) {
        switch (st.what) {
            case decoder_step::kind::byte_level:
                for (auto& p : pieces) {
                    if (p.raw) continue;
                    std::string bytes;
                    byte_level_to_bytes(p.text, bytes);
                    p.text.swap(bytes);
                }
                break;
            case decoder_step::kind::replace:
                for (auto& p : pieces)
                    if (!p.raw) replace_all(p.text, st.pattern, st.content);
                break;
            case decoder_step::kind::metaspace:
                for (size_t i = 0; i < pieces.size(); ++i) {
                    auto& p = pieces[i];
                    if (p.raw) continue;
                    // HF drops every replacement char of the first token (its prepended
                    // space and any other), and turns the others into spaces
                    const bool first = positional && i == 0 && st.scheme != prepend_scheme::never;
                    replace_all(p.text, st.replacement, first ? "" : " ");
                }
                break;
            case decoder_step::kind::byte_fallback: {
                // consecutive <0xXX> tokens form one byte string; HF turns a group that is
                // not valid UTF-8 into one U+FFFD per byte, we keep the bytes raw and let the
                // final repair (or the incremental detokenizer) decide
                for (auto& p : pieces) {
                    if (p.raw) continue;
                    const int b = byte_token_value(p.text);
                    if (b >= 0) p.text.assign(1, static_cast<char>(b));
                }
                break;
            }
            case decoder_step::kind::fuse: {
                if (pieces.size() <= 1) break;
                decode_piece all;
                for (auto& p : pieces) all.text += p.text;
                pieces.clear();
                pieces.push_back(std::move(all));
                break;
            }
            case decoder_step::kind::strip:
                if (!positional) break;
                for (auto& p : pieces)
                    strip_chars(p.text, st.content, st.strip_start, st.strip_stop);
                break;
            case decoder_step::kind::wordpiece:
                // a word gets a space before it unless it opens the text; a continuation piece
                // joins its word. A token spelled alone (not positional) keeps its space, except
                // a special token, which is spelled as written (as llama.cpp does).
                for (size_t i = 0; i < pieces.size(); ++i) {
                    auto& p = pieces[i];
                    const bool first = positional ? i == 0 : p.raw;
                    if (!st.replacement.empty() && !p.raw) {  // GGUF: "▁" marks a word start
                        if (starts_with(p.text, st.replacement))
                            p.text.replace(0, st.replacement.size(), first ? "" : " ");
                    } else if (!first) {  // HF: "##" marks a continuation; special tokens are words
                        if (starts_with(p.text, st.pattern))
                            p.text.erase(0, st.pattern.size());
                        else
                            p.text.insert(p.text.begin(), ' ');
                    }
                    if (st.cleanup) wordpiece_cleanup(p.text);
                }
                break;
        }
    }
    std::string out;
    for (auto& p : pieces) out += p.text;
    return out;
}

}  // namespace actorlm::tok
