// Builds tokenizer components from the JSON objects of a Hugging Face tokenizer.json
// (normalizer, pre_tokenizer, decoder, post_processor). Any component type we do not
// implement is an error naming it. Used only while loading, on the loading thread.
#pragma once

#include <simdjson.h>

#include <string>
#include <vector>

#include "tokenizer/decoder.hpp"
#include "tokenizer/normalizer.hpp"
#include "tokenizer/pre_tokenizer.hpp"
#include "base/result.hpp"

namespace actorlm::tok {

/// Appends the steps of an HF normalizer (null = nothing) to `out`.
status build_normalizer(simdjson::dom::element json, normalizer& out);

/// Appends the steps of an HF pre_tokenizer (null = nothing) to `out`.
status build_pre_tokenizer(simdjson::dom::element json, pre_tokenizer& out);

/// Appends the steps of an HF decoder (null = nothing) to `out`.
status build_decoder(simdjson::dom::element json, decoder& out);

/// Token spellings an HF post_processor adds around a single sequence.
struct post_template {
    std::vector<std::string> prefix, suffix;
};

/// Reads an HF post_processor (null / ByteLevel = nothing added).
result<post_template> build_post_processor(simdjson::dom::element json);

/// Parses the JSON file at `path` into `doc` (owned by `parser`). Integers too large for
/// 64 bits (tokenizer_config.json's model_max_length = 1e30) are read as floats instead of
/// failing the whole document. The error names the file.
status load_json_file(simdjson::dom::parser& parser, const std::string& path,
                      simdjson::dom::element& doc);

/// String field of a JSON object, or `fallback` when absent or not a string.
std::string json_string(simdjson::dom::element obj, const char* key,
                        const std::string& fallback = {});
/// Boolean field of a JSON object, or `fallback`.
bool json_bool(simdjson::dom::element obj, const char* key, bool fallback);

}  // namespace actorlm::tok
