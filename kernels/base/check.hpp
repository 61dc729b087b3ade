// ACTORLM_CHECK: programming-error guard for invariants that must never break.
// It logs file, line and a printf-style message to stderr and aborts. Expected
// failures (bad input, full KV cache) are values (see result.hpp), never checks.
#pragma once

#include <cstdio>
#include <cstdlib>

#define ACTORLM_CHECK(cond, ...)                                                          \
    do {                                                                                  \
        if (!(cond)) [[unlikely]] {                                                       \
            std::fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
            std::fprintf(stderr, __VA_ARGS__);                                            \
            std::fputc('\n', stderr);                                                     \
            std::abort();                                                                 \
        }                                                                                 \
    } while (0)
