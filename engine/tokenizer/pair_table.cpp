// pair_table growth and insertion (see pair_table.hpp); the load factor stays below 1/2.
#include "tokenizer/pair_table.hpp"

namespace actorlm::tok {

void pair_table::reserve(size_t n) {
    size_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    if (cap > slots_.size()) rehash(cap);
}

void pair_table::rehash(size_t capacity) {
    std::vector<slot> old;
    old.swap(slots_);
    slots_.assign(capacity, slot{});
    mask_ = capacity - 1;
    size_ = 0;
    for (const slot& s : old)
        if (s.key != k_empty)
            insert(static_cast<int32_t>(s.key >> 32), static_cast<int32_t>(s.key & 0xffffffffu),
                   s.rule);
}

void pair_table::insert(int32_t left, int32_t right, merge_rule rule) {
    if (2 * (size_ + 1) > slots_.size()) rehash(slots_.empty() ? 16 : slots_.size() * 2);
    const uint64_t key = pack(left, right);
    size_t i = hash(key) & mask_;
    while (slots_[i].key != k_empty) {
        if (slots_[i].key == key) return;  // keep the first rule
        i = (i + 1) & mask_;
    }
    slots_[i].key = key;
    slots_[i].rule = rule;
    ++size_;
}

}  // namespace actorlm::tok
