// BPE merge loop and piece cache (see bpe_model.hpp). The loop follows the classic scheme
// used by HF tokenizers and llama.cpp: a heap of (rank, left position) candidates; stale
// candidates (a side already merged away) are detected on pop and skipped.
#include "tokenizer/bpe_model.hpp"

#include <xxhash.h>

#include <algorithm>
#include <cstdio>
#include <queue>

#include "tokenizer/utf8.hpp"

namespace actorlm::tok {

namespace {
constexpr std::string_view k_marker = "\xE2\x96\x81";  // U+2581, SentencePiece's space
}  // namespace

size_t string_hash::operator()(std::string_view s) const {
    return static_cast<size_t>(XXH3_64bits(s.data(), s.size()));
}

bpe_model::bpe_model(std::vector<std::string> keys, bpe_options opts)
    : keys_(std::move(keys)), opts_(opts), cache_(new cache_shard[k_cache_shards]) {
    key_to_id_.reserve(keys_.size());
    for (size_t id = 0; id < keys_.size(); ++id)
        if (!keys_[id].empty()) key_to_id_.emplace(keys_[id], static_cast<int32_t>(id));
    if (!opts_.byte_level) {
        split_at_marker_ = true;
        for (const std::string& k : keys_) {
            for (size_t p = k.find(k_marker, 1); p != std::string::npos;
                 p = k.find(k_marker, p + 1)) {
                if (p < 3 || k.compare(p - 3, 3, k_marker) != 0) {
                    split_at_marker_ = false;  // a token joins a character and a following ▁
                    break;
                }
            }
            if (!split_at_marker_) break;
        }
    }
    for (int b = 0; b < 256; ++b) {
        if (opts_.byte_level) {
            byte_ids_[b] = find(std::string(1, static_cast<char>(b)));
        } else {
            char name[8];
            std::snprintf(name, sizeof(name), "<0x%02X>", b);
            byte_ids_[b] = find(name);
        }
    }
}

void bpe_model::merges_from_scores(const std::vector<float>& scores) {
    // dense rank: the highest score merges first, equal scores share a rank so the leftmost
    // pair wins the tie (SentencePiece's order)
    std::vector<float> distinct(scores);
    std::sort(distinct.begin(), distinct.end(), std::greater<float>());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    pairs_.reserve(keys_.size() * 2);
    for (size_t id = 0; id < keys_.size() && id < scores.size(); ++id) {
        const std::string& k = keys_[id];
        if (k.size() < 2) continue;
        const auto rank = static_cast<int32_t>(
            std::lower_bound(distinct.begin(), distinct.end(), scores[id], std::greater<float>()) -
            distinct.begin());
        size_t cut = utf8_seq_len(static_cast<unsigned char>(k[0]));
        while (cut < k.size()) {
            const int32_t l = find(std::string_view(k).substr(0, cut));
            const int32_t r = l >= 0 ? find(std::string_view(k).substr(cut)) : -1;
            if (l >= 0 && r >= 0) {
                const merge_rule old = pairs_.find(l, r);
                if (old.rank < 0 || rank < old.rank)
                    pairs_.insert(l, r, {rank, static_cast<int32_t>(id)});
            }
            cut += utf8_seq_len(static_cast<unsigned char>(k[cut]));
        }
    }
}

void bpe_model::initial_symbols(std::string_view piece, std::vector<int32_t>& ids) const {
    ids.clear();
    if (opts_.byte_level) {
        for (char c : piece) {
            const int32_t id = byte_ids_[static_cast<unsigned char>(c)];
            if (id >= 0)
                ids.push_back(id);
            else if (opts_.unk_id >= 0)
                ids.push_back(opts_.unk_id);
        }
        return;
    }
    size_t pos = 0;
    bool prev_unk = false;
    while (pos < piece.size()) {
        // a character only when the bytes form a valid one; an invalid byte stands alone so it
        // cannot swallow the start of the next character
        size_t len = valid_seq_len(piece.substr(pos));
        if (len == 0) len = 1;
        const int32_t id = find(piece.substr(pos, len));
        if (id >= 0) {
            ids.push_back(id);
            prev_unk = false;
        } else {
            bool all_bytes = opts_.byte_fallback;
            for (size_t k = 0; all_bytes && k < len; ++k)
                all_bytes = byte_ids_[static_cast<unsigned char>(piece[pos + k])] >= 0;
            if (all_bytes) {
                for (size_t k = 0; k < len; ++k)
                    ids.push_back(byte_ids_[static_cast<unsigned char>(piece[pos + k])]);
                prev_unk = false;
            } else if (opts_.unk_id >= 0 && !(opts_.fuse_unk && prev_unk)) {
                ids.push_back(opts_.unk_id);
                prev_unk = true;
            }
        }
        pos += len;
    }
}

namespace {

struct symbol {
    int32_t id;
    int32_t prev;
    int32_t next;
};

struct candidate {
    int32_t rank;
    int32_t pos;
    int32_t left, right;  // ids expected at pos and at its successor
    bool operator>(const candidate& o) const {
        return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
};

struct merge_scratch {
    std::vector<int32_t> ids;
    std::vector<symbol> syms;
    std::vector<candidate> heap;
};

}  // namespace

void bpe_model::encode_uncached(std::string_view piece, std::vector<int32_t>& out) const {
    thread_local merge_scratch s;
    initial_symbols(piece, s.ids);
    const size_t n = s.ids.size();
    if (n <= 1) {
        out.insert(out.end(), s.ids.begin(), s.ids.end());
        return;
    }
    s.syms.resize(n);
    s.heap.clear();
    for (size_t i = 0; i < n; ++i)
        s.syms[i] = {s.ids[i], static_cast<int32_t>(i) - 1,
                     i + 1 < n ? static_cast<int32_t>(i + 1) : -1};
    auto push = [&](int32_t pos) {
        const symbol& a = s.syms[pos];
        if (a.next < 0) return;
        const int32_t right = s.syms[a.next].id;
        const merge_rule r = pairs_.find(a.id, right);
        if (r.rank < 0) return;
        s.heap.push_back({r.rank, pos, a.id, right});
        std::push_heap(s.heap.begin(), s.heap.end(), std::greater<candidate>());
    };
    for (size_t i = 0; i + 1 < n; ++i) push(static_cast<int32_t>(i));
    while (!s.heap.empty()) {
        std::pop_heap(s.heap.begin(), s.heap.end(), std::greater<candidate>());
        const candidate c = s.heap.back();
        s.heap.pop_back();
        symbol& a = s.syms[c.pos];
        if (a.id != c.left || a.next < 0 || s.syms[a.next].id != c.right) continue;  // stale
        symbol& b = s.syms[a.next];
        a.id = pairs_.find(c.left, c.right).merged;
        a.next = b.next;
        if (b.next >= 0) s.syms[b.next].prev = c.pos;
        b.id = -1;  // dead
        if (a.prev >= 0) push(a.prev);
        push(c.pos);
    }
    for (int32_t i = 0; i >= 0; i = s.syms[i].next) out.push_back(s.syms[i].id);
}

void bpe_model::encode(std::string_view piece, std::vector<int32_t>& out) const {
    if (!split_at_marker_) {
        encode_piece(piece, out);
        return;
    }
    // cut before each ▁ that follows something other than ▁ ("a▁▁b" -> "a", "▁▁b")
    size_t begin = 0;
    for (size_t p = piece.find(k_marker, 1); p != std::string_view::npos;
         p = piece.find(k_marker, p + 3)) {
        if (p >= 3 && piece.compare(p - 3, 3, k_marker) == 0) continue;
        encode_piece(piece.substr(begin, p - begin), out);
        begin = p;
    }
    encode_piece(piece.substr(begin), out);
}

void bpe_model::encode_piece(std::string_view piece, std::vector<int32_t>& out) const {
    if (piece.empty()) return;
    if (opts_.ignore_merges) {
        const int32_t id = find(piece);
        if (id >= 0) {
            out.push_back(id);
            return;
        }
    }
    if (piece.size() > k_cache_max_piece_bytes) {
        encode_uncached(piece, out);
        return;
    }
    const size_t h = string_hash{}(piece);
    cache_shard& shard = cache_[h % k_cache_shards];
    {
        std::lock_guard<std::mutex> lock(shard.mu);
        auto it = shard.map.find(piece);
        if (it != shard.map.end()) {
            out.insert(out.end(), it->second.begin(), it->second.end());
            return;
        }
    }
    const size_t first = out.size();
    encode_uncached(piece, out);
    std::vector<int32_t> ids(out.begin() + static_cast<std::ptrdiff_t>(first), out.end());
    std::lock_guard<std::mutex> lock(shard.mu);
    if (shard.map.size() >= k_cache_max_entries_per_shard) shard.map.clear();
    shard.map.emplace(std::string(piece), std::move(ids));
}

}  // namespace actorlm::tok
