// PCRE2 wrapper (see regex.hpp). Compiled with UTF | UCP so \p{L}, \s, \w follow Unicode as
// HF's Oniguruma does, and JIT-compiled once; match data is per thread and grows on demand.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/regex.hpp"

#include <pcre2.h>

namespace actorlm::tok {

namespace {

// One match-data block per thread: every pattern we use has few capture groups, and
// pcre2_match only needs the block to hold ovector pair 0.
struct match_scratch {
    pcre2_match_data* data = pcre2_match_data_create(16, nullptr);
    ~match_scratch() { pcre2_match_data_free(data); }
};

pcre2_match_data* scratch() {
    thread_local match_scratch s;
    return s.data;
}

}  // namespace

result<std::shared_ptr<const regex>> regex::compile(const std::string& pattern) {
    int err = 0;
    PCRE2_SIZE err_off = 0;
    pcre2_code* code =
        pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                      PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &err_off, nullptr);
    if (code == nullptr) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof(msg));
        return make_error("tokenizer regex '%s' does not compile at offset %zu: %s",
                          pattern.c_str(), static_cast<size_t>(err_off),
                          reinterpret_cast<const char*>(msg));
    }
    std::shared_ptr<regex> r(new regex());
    r->pattern_ = pattern;
    r->code_ = code;
    r->jit_ = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
    return std::shared_ptr<const regex>(std::move(r));
}

result<std::shared_ptr<const regex>> regex::literal(const std::string& text) {
    std::string escaped;
    for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x80 &&
            !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
            escaped.push_back('\\');  // escaping any ASCII non-alnum is always legal in PCRE2
        escaped.push_back(c);
    }
    return compile(escaped);
}

regex::~regex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

bool regex::find(std::string_view text, size_t from, size_t& begin, size_t& end) const {
    auto* code = static_cast<pcre2_code*>(code_);
    pcre2_match_data* md = scratch();
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    int rc = jit_ ? pcre2_jit_match(code, subject, text.size(), from, 0, md, nullptr)
                  : pcre2_match(code, subject, text.size(), from, 0, md, nullptr);
    // the JIT's machine stack is small; the interpreter keeps its backtracking on the heap
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
        rc = pcre2_match(code, subject, text.size(), from, PCRE2_NO_JIT, md, nullptr);
    if (rc < 0) return false;
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    begin = ov[0];
    end = ov[1];
    return true;
}

}  // namespace actorlm::tok
