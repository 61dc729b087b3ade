// libFuzzer target: arbitrary text as a Hugging Face model directory's JSON files:
// config.json + generation_config.json (the text model), the vision tower's config.json,
// and preprocessor_config.json + processor_config.json, parts separated by NUL bytes.
// Properties: nothing crashes or trips a sanitizer; an accepted config has positive sizes.
#include <cstdint>
#include <string_view>

#include "fuzz_input.hpp"
#include "model/hf_config.hpp"
#include "model/model_config.hpp"
#include "multimodal/image_processor_config.hpp"
#include "multimodal/vision_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace actorlm;
    using actorlm::fuzz::require;
    const auto parts =
        fuzz::split_parts(std::string_view(reinterpret_cast<const char*>(data), size), 3);
    if (auto config = parse_hf_config(parts[0], parts[1])) {
        require(config->hidden_size > 0 && config->vocab_size > 0);
    }
    (void)multimodal::parse_vision_tower_config(parts[0]);
    (void)multimodal::parse_image_processor_config(parts[0], parts[2]);
    return 0;
}
