// How CLI commands print JSON: every document is built with net::json_writer
// (escaping, UTF-8 repair, no NaN) and printed here, one document per line.
// Measured figures are rounded first so the output stays readable.
#pragma once

#include <cmath>
#include <cstdio>

#include "net/json_writer.hpp"

namespace actorlm::cli {

/// `v` rounded to `decimals` places (the writer prints up to 9 significant digits).
inline double rounded(double v, int decimals) {
    const double scale = std::pow(10.0, decimals);
    return std::isfinite(v) ? std::round(v * scale) / scale : v;
}

/// Prints the finished document and a newline to `out`, and flushes (benchmarks
/// print one line per measurement as they go).
inline void print_json_line(const net::json_writer& w, std::FILE* out = stdout) {
    std::fprintf(out, "%s\n", w.str().c_str());
    std::fflush(out);
}

}  // namespace actorlm::cli
