// integer_range: [a, b] over non-negative numbers is cut into runs of equal digit count;
// each run [L, H] is written as a shared prefix, then the first differing digit's three
// cases (= L's digit with a tail >= L's tail, strictly between with any tail, = H's digit
// with a tail <= H's tail). Negative ranges mirror onto positive ones behind a '-'.
#include "structured/integer_range.hpp"

namespace actorlm::structured {

namespace {

std::string digit_class(char lo, char hi) {
    if (lo == hi) return std::string(1, lo);
    return std::string("[") + lo + "-" + hi + "]";
}

// Equal-length digit strings lo <= hi (leading zeros allowed inside).
std::string same_length(const std::string& lo, const std::string& hi) {
    if (lo == hi) return lo;
    size_t i = 0;
    while (lo[i] == hi[i]) ++i;
    const std::string prefix = lo.substr(0, i);
    const size_t rest = lo.size() - i - 1;
    if (rest == 0) return prefix + digit_class(lo[i], hi[i]);
    const std::string lo_tail = lo.substr(i + 1), hi_tail = hi.substr(i + 1);
    const std::string nines(rest, '9'), zeros(rest, '0');
    std::string out = "(?:";
    // lo's digit, then a tail >= lo's tail; hi's digit, then a tail <= hi's tail; when the
    // tails are all 0 / all 9 the digit joins the middle run.
    char mid_lo = lo[i], mid_hi = hi[i];
    bool first = true;
    auto alt = [&](const std::string& s) {
        if (!first) out += "|";
        out += s;
        first = false;
    };
    if (lo_tail != zeros) {
        alt(prefix + lo[i] + same_length(lo_tail, nines));
        ++mid_lo;
    }
    if (hi_tail != nines) --mid_hi;
    if (mid_lo <= mid_hi) alt(prefix + digit_class(mid_lo, mid_hi) + "[0-9]{" + std::to_string(rest) + "}");
    if (hi_tail != nines) alt(prefix + hi[i] + same_length(zeros, hi_tail));
    return out + ")";
}

int num_digits(int64_t v) {
    int d = 1;
    while (v >= 10) {
        v /= 10;
        ++d;
    }
    return d;
}

int64_t pow10(int d) {
    int64_t p = 1;
    for (int i = 0; i < d; ++i) p *= 10;
    return p;
}

// 0 <= a <= b.
std::string non_negative(int64_t a, int64_t b) {
    std::string out = "(?:";
    bool first = true;
    for (int d = num_digits(a); d <= num_digits(b); ++d) {
        const int64_t lo = std::max(a, d == 1 ? int64_t{0} : pow10(d - 1));
        const int64_t hi = std::min(b, pow10(d) - 1);
        if (lo > hi) continue;
        if (!first) out += "|";
        out += same_length(std::to_string(lo), std::to_string(hi));
        first = false;
    }
    return out + ")";
}

// Every integer >= a, for a >= 0.
std::string at_least(int64_t a) {
    const int d = num_digits(a);
    return "(?:" + non_negative(a, pow10(d) - 1) + "|[1-9][0-9]{" + std::to_string(d) + ",})";
}

}  // namespace

std::string integer_range_regex(std::optional<int64_t> lo, std::optional<int64_t> hi) {
    const std::string any_positive = "[1-9][0-9]*";
    if (!lo && !hi) return "-?(?:0|" + any_positive + ")";
    if (lo && hi) {
        if (*lo >= 0) return non_negative(*lo, *hi);
        if (*hi < 0) return "-" + non_negative(-*hi, -*lo);
        return "(?:-" + non_negative(1, -*lo) + "|" + non_negative(0, *hi) + ")";
    }
    if (lo) {
        if (*lo >= 0) return at_least(*lo);
        return "(?:-" + non_negative(1, -*lo) + "|0|" + any_positive + ")";
    }
    if (*hi >= 0) return "(?:-" + any_positive + "|" + non_negative(0, *hi) + ")";
    return "-" + at_least(-*hi);
}

}  // namespace actorlm::structured
