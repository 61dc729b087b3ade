// result<T>: a value or an error message, for failures a caller must handle
// (a corrupt file, an unsupported tokenizer component, a prompt that is too long).
// g++ 12 with -std=c++20 has no std::expected; this is the small subset we need.
#pragma once

#include <cstdarg>
#include <cstdio>
#include <string>
#include <utility>
#include <variant>

#include "actorlm/error_kind.hpp"
#include "base/check.hpp"

namespace actorlm {

/// An error that names the problem in words a user can act on, and its kind (the
/// server's status code; internal unless the origin knows better).
struct error {
    std::string message;
    error_kind kind = error_kind::internal;
};

/// printf-style error constructor: `return make_error("tensor %s: unknown type %u", n, t);`
[[gnu::format(printf, 1, 2)]] inline error make_error(const char* fmt, ...) {
    char buf[1024];
    va_list args;
    va_start(args, fmt);
    std::vsnprintf(buf, sizeof(buf), fmt, args);
    va_end(args);
    return error{buf};
}

/// The same with a kind: `make_error(error_kind::invalid_argument, "prompt too long")`.
[[gnu::format(printf, 2, 3)]] inline error make_error(error_kind kind, const char* fmt, ...) {
    char buf[1024];
    va_list args;
    va_start(args, fmt);
    std::vsnprintf(buf, sizeof(buf), fmt, args);
    va_end(args);
    return error{buf, kind};
}

/// Holds either a T or an error. Check ok() before value().
template <class T>
class [[nodiscard]] result {
public:
    result(T value) : data_(std::move(value)) {}
    result(error err) : data_(std::move(err)) {}

    bool ok() const { return data_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & {
        ACTORLM_CHECK(ok(), "result::value() on error: %s", std::get<1>(data_).message.c_str());
        return std::get<0>(data_);
    }
    const T& value() const& {
        ACTORLM_CHECK(ok(), "result::value() on error: %s", std::get<1>(data_).message.c_str());
        return std::get<0>(data_);
    }
    T&& value() && {
        ACTORLM_CHECK(ok(), "result::value() on error: %s", std::get<1>(data_).message.c_str());
        return std::get<0>(std::move(data_));
    }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const error& err() const {
        ACTORLM_CHECK(!ok(), "result::err() on a value");
        return std::get<1>(data_);
    }
    const std::string& message() const { return err().message; }
    error_kind kind() const { return err().kind; }

private:
    std::variant<T, error> data_;
};

/// result<void>: success or an error.
class [[nodiscard]] status {
public:
    status() = default;
    status(error err) : err_(std::move(err)), failed_(true) {}
    static status success() { return {}; }

    bool ok() const { return !failed_; }
    explicit operator bool() const { return ok(); }
    const error& err() const { return err_; }
    const std::string& message() const { return err_.message; }
    error_kind kind() const { return failed_ ? err_.kind : error_kind::none; }

private:
    error err_;
    bool failed_ = false;
};

}  // namespace actorlm

/// Propagates a failed status/result from a nested call.
#define ACTORLM_TRY(expr)                       \
    do {                                        \
        auto actorlm_try_st_ = (expr);          \
        if (!actorlm_try_st_.ok()) [[unlikely]] \
            return actorlm_try_st_.err();       \
    } while (0)
