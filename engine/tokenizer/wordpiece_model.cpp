// WordPiece greedy longest match (see wordpiece_model.hpp). For each start position the
// longest vocabulary entry is tried first, shrinking one UTF-8 character at a time; the
// search begins at the longest key's length, so a long word costs O(chars x longest key).
#include "tokenizer/wordpiece_model.hpp"

#include <algorithm>

namespace actorlm::tok {

namespace {

bool is_continuation_byte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

size_t count_chars(std::string_view s) {
    return static_cast<size_t>(
        std::count_if(s.begin(), s.end(), [](char c) { return !is_continuation_byte(c); }));
}

}  // namespace

wordpiece_model::wordpiece_model(const std::vector<std::string>& keys, wordpiece_options opts)
    : opts_(std::move(opts)) {
    key_to_id_.reserve(keys.size());
    for (size_t id = 0; id < keys.size(); ++id) {
        if (keys[id].empty()) continue;
        key_to_id_.emplace(keys[id], static_cast<int32_t>(id));
        max_key_bytes_ = std::max(max_key_bytes_, keys[id].size());
    }
}

void wordpiece_model::encode(std::string_view word, std::vector<int32_t>& out) const {
    if (word.empty()) return;
    auto unknown = [&] {
        if (opts_.unk_id >= 0) out.push_back(opts_.unk_id);
    };
    if (count_chars(word) > opts_.max_input_chars_per_word) return unknown();
    const size_t first = out.size();
    std::string key;  // prefix + candidate, rebuilt per try (words are short)
    size_t start = 0;
    while (start < word.size()) {
        const size_t prefix_bytes = start > 0 ? opts_.continuing_prefix.size() : 0;
        if (max_key_bytes_ <= prefix_bytes) break;
        size_t end = std::min(word.size(), start + (max_key_bytes_ - prefix_bytes));
        while (end > start && end < word.size() && is_continuation_byte(word[end])) --end;
        int32_t id = -1;
        while (end > start) {
            key.assign(start > 0 ? opts_.continuing_prefix : std::string_view());
            key.append(word.substr(start, end - start));
            id = find(key);
            if (id >= 0) break;
            do {
                --end;  // drop the last character (a lone invalid byte counts as one)
            } while (end > start && is_continuation_byte(word[end]));
        }
        if (id < 0) break;
        out.push_back(id);
        start = end;
    }
    if (start < word.size()) {  // some part has no piece: the whole word is unknown
        out.resize(first);
        unknown();
    }
}

}  // namespace actorlm::tok
