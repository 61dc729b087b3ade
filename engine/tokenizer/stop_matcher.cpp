// Stop-string matching (see stop_matcher.hpp). The held text is always shorter than the
// longest stop string, so each delta costs O(|delta| + longest stop) per stop string.
#include "tokenizer/stop_matcher.hpp"

#include <algorithm>

namespace actorlm {

stop_matcher::stop_matcher(std::vector<std::string> stops, bool include_stop_str_in_output)
    : include_(include_stop_str_in_output) {
    for (auto& s : stops)
        if (!s.empty()) stops_.push_back(std::move(s));
}

const std::string& stop_matcher::matched_string() const {
    static const std::string none;
    return matched_ >= 0 ? stops_[static_cast<size_t>(matched_)] : none;
}

stop_step stop_matcher::feed(std::string_view delta) {
    stop_step r;
    if (stopped_) return r;
    held_.append(delta);
    if (stops_.empty()) {
        r.text.swap(held_);
        return r;
    }
    // earliest occurrence wins; at the same position the longer string (it contains the other)
    size_t best_pos = std::string::npos;
    int best = -1;
    for (size_t i = 0; i < stops_.size(); ++i) {
        const size_t pos = held_.find(stops_[i]);
        if (pos == std::string::npos) continue;
        if (pos < best_pos ||
            (pos == best_pos && stops_[i].size() > stops_[static_cast<size_t>(best)].size())) {
            best_pos = pos;
            best = static_cast<int>(i);
        }
    }
    if (best >= 0) {
        stopped_ = true;
        matched_ = best;
        r.stopped = true;
        r.matched = best;
        r.text =
            held_.substr(0, best_pos + (include_ ? stops_[static_cast<size_t>(best)].size() : 0));
        held_.clear();
        return r;
    }
    // hold the longest suffix that is a proper prefix of some stop string
    size_t hold = 0;
    for (const auto& s : stops_) {
        for (size_t k = std::min(s.size() - 1, held_.size()); k > hold; --k) {
            if (held_.compare(held_.size() - k, k, s, 0, k) == 0) {
                hold = k;
                break;
            }
        }
    }
    r.text = held_.substr(0, held_.size() - hold);
    held_.erase(0, held_.size() - hold);
    return r;
}

std::string stop_matcher::finish() {
    std::string out;
    if (!stopped_) out.swap(held_);
    held_.clear();
    return out;
}

}  // namespace actorlm
