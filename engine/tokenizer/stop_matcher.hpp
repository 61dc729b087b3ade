// stop_matcher: ends generation at the first occurrence of any stop string in the streamed
// text. Text that could still be the start of a stop string is held back until decided, so
// a stop string split across deltas is caught and never shown; the stop string itself is
// excluded from the output unless include_stop_str_in_output is set.
// One instance per request; not thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace actorlm {

/// The outcome of feeding one text delta.
struct stop_step {
    std::string text;  ///< text that is now safe to emit
    bool stopped = false;
    int matched = -1;  ///< index of the stop string that matched, when stopped
};

/// Stop-string detector over a stream of text deltas.
class stop_matcher {
public:
    /// Empty strings in `stops` are ignored.
    explicit stop_matcher(std::vector<std::string> stops, bool include_stop_str_in_output = false);

    /// Feeds the next delta. After a stop, further deltas yield nothing.
    stop_step feed(std::string_view delta);

    /// The end of generation without a stop: returns the held-back text.
    std::string finish();

    bool stopped() const { return stopped_; }
    /// The stop string that matched ("" when none).
    const std::string& matched_string() const;
    /// Bytes currently held back.
    size_t held_bytes() const { return held_.size(); }

private:
    std::vector<std::string> stops_;
    bool include_;
    std::string held_;
    bool stopped_ = false;
    int matched_ = -1;
};

}  // namespace actorlm
