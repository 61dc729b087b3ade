// model_reference: a model named the way Hugging Face and llama.cpp users name one,
// "ORG/NAME" or "ORG/NAME:QUANT" (llama-server's -hf spelling: the quantization of a GGUF
// repository, e.g. "unsloth/Qwen3-0.6B-GGUF:Q4_K_M"). Pure string work; whether the text
// is a local path instead is the caller's question (a path that exists always wins).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace actorlm::net::hub {

struct model_reference {
    std::string repo_id;  ///< "ORG/NAME"
    std::string quant;    ///< "Q4_K_M", or "" when none was given
};

/// The reference `text` spells, or nothing when it is not one: exactly one '/', an
/// organisation and a name made of letters, digits, '-', '_' and '.' (not starting with
/// '.' or '-', no ".."), and an optional ":QUANT" of letters, digits and '_'. A name
/// ending like a model file (.gguf, .safetensors, .json, .bin) is a path, not a reference.
std::optional<model_reference> parse_model_reference(std::string_view text);

}  // namespace actorlm::net::hub
