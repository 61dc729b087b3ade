// Pre-tokenizer steps (see pre_tokenizer.hpp). Pieces flow through the steps depth-first via
// callbacks, so the common Split + ByteLevel chain makes no copies of the text.
#include "tokenizer/pre_tokenizer.hpp"

#include "tokenizer/bert_text.hpp"
#include "base/check.hpp"

namespace actorlm::tok {

const char* const k_gpt2_pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

void pre_tokenizer::add(pre_tokenizer_step s) {
    if (s.what == pre_tokenizer_step::kind::byte_level) byte_level_ = true;
    steps_.push_back(std::move(s));
}

void pre_tokenizer::run(std::string_view text, bool at_start, sink out) const {
    step(0, text, at_start, out);
}

namespace {

struct segment {
    size_t begin, end;
    bool delim;
};

// Cuts text into alternating gap / match segments (empty ones dropped).
std::vector<segment> segments(const regex& re, std::string_view text) {
    std::vector<segment> segs;
    size_t pos = 0, b = 0, e = 0, search = 0;
    while (search <= text.size() && re.find(text, search, b, e)) {
        if (e == b) {  // empty matches delimit nothing
            search = b + 1;
            continue;
        }
        if (b > pos) segs.push_back({pos, b, false});
        segs.push_back({b, e, true});
        pos = search = e;
    }
    if (pos < text.size()) segs.push_back({pos, text.size(), false});
    return segs;
}

}  // namespace

void pre_tokenizer::step(size_t i, std::string_view text, bool at_start, sink out) const {
    if (text.empty()) return;
    if (i == steps_.size()) {
        out(text);
        return;
    }
    const pre_tokenizer_step& s = steps_[i];
    switch (s.what) {
        case pre_tokenizer_step::kind::split: {
            if (s.behaviour == split_behaviour::isolated && !s.invert) {
                // hot path: stream matches and the gaps between them
                size_t pos = 0, b = 0, e = 0, search = 0;
                while (search <= text.size() && s.re->find(text, search, b, e)) {
                    if (e == b) {
                        search = b + 1;
                        continue;
                    }
                    if (b > pos) step(i + 1, text.substr(pos, b - pos), at_start && pos == 0, out);
                    step(i + 1, text.substr(b, e - b), at_start && b == 0, out);
                    pos = search = e;
                }
                if (pos < text.size()) step(i + 1, text.substr(pos), at_start && pos == 0, out);
                return;
            }
            auto segs = segments(*s.re, text);
            if (s.invert)
                for (auto& g : segs) g.delim = !g.delim;
            size_t piece_begin = 0;
            bool open = false;  // a piece [piece_begin, current) waits to be emitted
            auto flush = [&](size_t end) {
                if (open && end > piece_begin)
                    step(i + 1, text.substr(piece_begin, end - piece_begin),
                         at_start && piece_begin == 0, out);
                open = false;
            };
            for (size_t k = 0; k < segs.size(); ++k) {
                const segment& g = segs[k];
                switch (s.behaviour) {
                    case split_behaviour::removed:
                        if (!g.delim) {
                            piece_begin = g.begin;
                            open = true;
                            flush(g.end);
                        }
                        break;
                    case split_behaviour::isolated:
                        piece_begin = g.begin;
                        open = true;
                        flush(g.end);
                        break;
                    case split_behaviour::merged_with_previous:
                        if (!open) {
                            piece_begin = g.begin;
                            open = true;
                        }
                        if (g.delim) flush(g.end);
                        break;
                    case split_behaviour::merged_with_next:
                        if (g.delim) flush(g.begin);
                        if (!open) {
                            piece_begin = g.begin;
                            open = true;
                        }
                        break;
                    case split_behaviour::contiguous:
                        if (!g.delim || k == 0 || !segs[k - 1].delim) flush(g.begin);
                        if (!open) {
                            piece_begin = g.begin;
                            open = true;
                        }
                        if (!g.delim) flush(g.end);
                        break;
                }
            }
            flush(text.size());
            return;
        }
        case pre_tokenizer_step::kind::byte_level: {
            ACTORLM_CHECK(i + 1 == steps_.size(), "ByteLevel must be the last pre-tokenizer");
            std::string prefixed;
            if (s.add_prefix_space && text.front() != ' ') {
                prefixed.reserve(text.size() + 1);
                prefixed.push_back(' ');
                prefixed.append(text);
                text = prefixed;
            }
            if (!s.re) {
                out(text);
                return;
            }
            size_t pos = 0, b = 0, e = 0, search = 0;
            while (search <= text.size() && s.re->find(text, search, b, e)) {
                if (e == b) {
                    search = b + 1;
                    continue;
                }
                if (b > pos) out(text.substr(pos, b - pos));
                out(text.substr(b, e - b));
                pos = search = e;
            }
            if (pos < text.size()) out(text.substr(pos));
            return;
        }
        case pre_tokenizer_step::kind::metaspace: {
            std::string buf;
            buf.reserve(text.size() + s.replacement.size());
            const bool prepend = s.scheme == prepend_scheme::always ||
                                 (s.scheme == prepend_scheme::first && at_start);
            if (prepend && text.substr(0, s.replacement.size()) != s.replacement &&
                text.front() != ' ')
                buf.append(s.replacement);
            for (char c : text) {
                if (c == ' ')
                    buf.append(s.replacement);
                else
                    buf.push_back(c);
            }
            std::string_view v = buf;
            if (!s.metaspace_split) {
                step(i + 1, v, at_start, out);
                return;
            }
            // split before every replacement character (MergedWithNext)
            size_t piece = 0, pos = v.find(s.replacement, 1);
            while (pos != std::string_view::npos) {
                step(i + 1, v.substr(piece, pos - piece), at_start && piece == 0, out);
                piece = pos;
                pos = v.find(s.replacement, pos + s.replacement.size());
            }
            step(i + 1, v.substr(piece), at_start && piece == 0, out);
            return;
        }
        case pre_tokenizer_step::kind::bert: {
            auto next = [&](std::string_view piece) {
                step(i + 1, piece, at_start && piece.data() == text.data(), out);
            };
            bert_pre_tokenize(text, sink(next));
            return;
        }
    }
}

}  // namespace actorlm::tok
