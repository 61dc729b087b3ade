// integer_range: a regular expression matching exactly the decimal integers in a range
// (JSON Schema minimum / maximum on integers), either bound open. Written without leading
// zeros and without "-0", digit position by digit position (the classic range-splitting
// construction), so the grammar stays linear in the number of digits. Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace actorlm::structured {

/// The largest bound magnitude accepted (beyond it JSON numbers lose integer precision).
inline constexpr int64_t k_max_integer_bound = 1'000'000'000'000'000;  // 1e15

/// A regex for the integers n with lo <= n <= hi (nullopt: unbounded on that side);
/// lo <= hi and |bounds| <= k_max_integer_bound are the caller's to check.
std::string integer_range_regex(std::optional<int64_t> lo, std::optional<int64_t> hi);

}  // namespace actorlm::structured
