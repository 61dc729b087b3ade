// mm_hash: the content hash of one multimodal input, the key of all three caches
// (processor, encoder, prefix). It covers the encoded bytes as the client sent them and
// the processor settings that shape the result, so the same picture under another
// model's processor never collides, and a repeat is recognised before any decoding.
// (vLLM hashes decoded pixels; hashing the bytes skips decoding on a hit, and only costs
// a miss when one picture arrives in two encodings.) Pure function; any thread.
#pragma once

#include <string>
#include <string_view>

namespace actorlm::multimodal {

/// 32 hex digits of XXH3-128 over (kind, processor_key, bytes), length-prefixed.
std::string mm_hash_of(std::string_view kind, std::string_view processor_key,
                       std::string_view encoded_bytes);

}  // namespace actorlm::multimodal
