// UTF-8 helpers for the tokenizer: code point decoding/encoding, the completeness test the
// incremental detokenizer needs, lossy repair (maximal-subpart U+FFFD, as Rust's
// from_utf8_lossy and Python's errors="replace"), and GPT-2's byte <-> unicode table.
// Pure functions and immutable tables; safe from any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace actorlm::tok {

/// Length of the UTF-8 sequence that starts with byte `b` (1 for ASCII, continuation and
/// invalid lead bytes, so callers always make progress).
inline size_t utf8_seq_len(unsigned char b) {
    if (b < 0x80) return 1;
    if ((b & 0xE0) == 0xC0) return 2;
    if ((b & 0xF0) == 0xE0) return 3;
    if ((b & 0xF8) == 0xF0) return 4;
    return 1;
}

/// Appends the UTF-8 encoding of code point `cp` to `out`.
void append_utf8(std::string& out, uint32_t cp);

/// Decodes the code point at `s[pos]` and advances `pos`; an invalid sequence yields
/// U+FFFD and advances one byte.
uint32_t decode_utf8(std::string_view s, size_t& pos);

/// Length of the longest valid, complete UTF-8 sequence at the start of `s`, or 0 when the
/// bytes there are not a valid complete sequence.
size_t valid_seq_len(std::string_view s);

/// True when `s` (non-empty, shorter than a full sequence) is the start of a sequence that
/// more bytes could still complete validly (e.g. "\xE2\x82" before "\xAC").
bool is_incomplete_prefix(std::string_view s);

/// Appends `bytes` to `out`, replacing each maximal invalid subpart with U+FFFD.
/// When `hold_incomplete` is set, a trailing sequence that later bytes could complete is
/// not appended; the number of such held bytes is returned (0..3).
size_t append_lossy_utf8(std::string& out, std::string_view bytes, bool hold_incomplete);

/// `bytes` with every maximal invalid subpart replaced by U+FFFD.
std::string to_valid_utf8(std::string_view bytes);

/// GPT-2's reversible byte -> printable code point map (bytes_to_unicode()).
const std::array<uint32_t, 256>& byte_to_unicode();

/// The inverse of byte_to_unicode(): code point -> byte, or -1 for code points outside it.
int unicode_to_byte(uint32_t cp);

/// Maps raw bytes to their byte-level (GPT-2) spelling, e.g. " the" -> "\u0120the".
std::string bytes_to_byte_level(std::string_view bytes);

/// Maps a byte-level spelling back to raw bytes; code points outside the table are kept as
/// their own UTF-8 (so plain added tokens survive). Returns false if any such was found.
bool byte_level_to_bytes(std::string_view text, std::string& out);

}  // namespace actorlm::tok
