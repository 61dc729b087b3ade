// token_vocabulary: sorting the matchable tokens by bytes and their neighbour prefixes.
#include "structured/token_vocabulary.hpp"

#include <algorithm>

#include "tokenizer/tokenizer.hpp"

namespace actorlm::structured {

token_vocabulary::token_vocabulary(std::vector<std::string> bytes, std::vector<bool> matchable,
                                   std::vector<int32_t> stop_ids, int32_t mask_size)
    : bytes_(std::move(bytes)), stop_ids_(std::move(stop_ids)),
      mask_size_(std::max<int32_t>(mask_size, static_cast<int32_t>(bytes_.size()))) {
    for (size_t i = 0; i < bytes_.size(); ++i) {
        const bool stop = std::find(stop_ids_.begin(), stop_ids_.end(),
                                    static_cast<int32_t>(i)) != stop_ids_.end();
        if (!bytes_[i].empty() && i < matchable.size() && matchable[i] && !stop)
            sorted_.push_back(static_cast<int32_t>(i));
    }
    std::sort(sorted_.begin(), sorted_.end(), [&](int32_t a, int32_t b) {
        return bytes_[static_cast<size_t>(a)] < bytes_[static_cast<size_t>(b)];
    });
    lcp_.assign(sorted_.size(), 0);
    for (size_t k = 0; k < sorted_.size(); ++k) {
        const std::string& cur = bytes_[static_cast<size_t>(sorted_[k])];
        max_token_bytes_ = std::max(max_token_bytes_, cur.size());
        if (k == 0) continue;
        const std::string& prev = bytes_[static_cast<size_t>(sorted_[k - 1])];
        size_t n = 0;
        while (n < prev.size() && n < cur.size() && prev[n] == cur[n]) ++n;
        lcp_[k] = static_cast<int32_t>(n);
    }
    std::sort(stop_ids_.begin(), stop_ids_.end());
}

bool token_vocabulary::is_stop(int32_t id) const {
    return std::binary_search(stop_ids_.begin(), stop_ids_.end(), id);
}

std::shared_ptr<const token_vocabulary> token_vocabulary::from_tokenizer(const tokenizer& t,
                                                                         int32_t mask_size) {
    const int32_t n = t.vocab_size();
    std::vector<std::string> bytes(static_cast<size_t>(n));
    std::vector<bool> matchable(static_cast<size_t>(n));
    for (int32_t i = 0; i < n; ++i) {
        matchable[static_cast<size_t>(i)] = !t.is_special(i);
        if (matchable[static_cast<size_t>(i)]) bytes[static_cast<size_t>(i)] = t.token_to_piece(i);
    }
    return std::make_shared<const token_vocabulary>(std::move(bytes), std::move(matchable),
                                                    t.eos_ids(), mask_size);
}

}  // namespace actorlm::structured
