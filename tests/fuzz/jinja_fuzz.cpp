// libFuzzer target: arbitrary Jinja chat templates rendered with arbitrary messages. The
// input is the template (or, when it starts with '{', a tokenizer_config.json holding one),
// the messages JSON, the tools JSON and the extra kwargs JSON, separated by NUL bytes;
// missing messages get a small default conversation. The render limits are tighter than a
// server's so that a legitimately long loop ends in a limit error within the fuzzer's
// timeout. Properties: nothing crashes, hangs or trips a sanitizer; every output stays
// within the string limit.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "chat/chat_template.hpp"
#include "fuzz_input.hpp"

namespace {

constexpr std::string_view k_default_messages =
    R"([{"role":"system","content":"Be brief."},{"role":"user","content":"Hi <b>"},)"
    R"({"role":"assistant","content":"Hello","tool_calls":[{"type":"function","function":)"
    R"({"name":"f","arguments":{"x":1}}}]},{"role":"tool","content":"42"}])";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace actorlm;
    using actorlm::fuzz::require;
    const auto parts =
        fuzz::split_parts(std::string_view(reinterpret_cast<const char*>(data), size), 4);
    const std::string source(parts[0]);
    auto tmpl = !source.empty() && source[0] == '{' ? chat_template::from_tokenizer_config(source)
                                                    : chat_template::parse(source);
    if (!tmpl) return 0;

    chat_template_inputs inputs;
    inputs.messages_json = std::string(parts[1].empty() ? k_default_messages : parts[1]);
    if (!parts[2].empty()) inputs.tools_json = std::string(parts[2]);
    inputs.extra_kwargs_json = std::string(parts[3]);
    inputs.bos_token = "<s>";
    inputs.now = 1'700'000'000;  // strftime_now: no clock, reproducible
    inputs.limits.max_steps = 200'000;
    inputs.limits.max_string_bytes = 1 << 20;
    inputs.limits.max_list_items = 1 << 16;
    inputs.limits.max_time = std::chrono::milliseconds(1000);
    for (bool add_generation_prompt : {true, false}) {
        inputs.add_generation_prompt = add_generation_prompt;
        auto text = tmpl->render(inputs);
        if (text) require(text->size() <= static_cast<size_t>(inputs.limits.max_string_bytes));
    }
    return 0;
}
