// Names of model_config enums (for messages and the CLI).
#include "model/model_config.hpp"

namespace actorlm {

const char* model_arch_name(model_arch a) {
    switch (a) {
        case model_arch::llama: return "llama";
        case model_arch::qwen2: return "qwen2";
        case model_arch::qwen3: return "qwen3";
    }
    return "?";
}

}  // namespace actorlm
