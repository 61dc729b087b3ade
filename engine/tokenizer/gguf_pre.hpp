// Pre-tokenizer regex sets for GGUF gpt2-type vocabularies, chosen by `tokenizer.ggml.pre`
// (the names llama.cpp's converter writes for each model family). The regexes of one set are
// applied in turn, each splitting the pieces of the previous one (matches and the text between
// them both become pieces). Constant data; thread-safe.
#pragma once

#include <string>
#include <vector>

namespace actorlm::tok {

/// The regex set of a GGUF pre-tokenizer family.
struct gguf_pre_spec {
    std::vector<std::string> regexes;
    bool ignore_merges = false;  ///< a piece that is a token is emitted whole (Llama-3, Tekken)
    bool add_bos = false;        ///< family default when tokenizer.ggml.add_bos_token is absent
    bool known = true;           ///< false: the name was not recognized, "default" was used
};

/// The spec for a `tokenizer.ggml.pre` value (empty or unknown -> llama.cpp's "default").
gguf_pre_spec gguf_pre_for(const std::string& name);

}  // namespace actorlm::tok
