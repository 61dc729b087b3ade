// The parsers of forced tool calls: tool_choice "required" (the output is the JSON
// array [{"name", "parameters"}, ...] the structured-output engine enforces, see
// forced_tool_schema) and a named function (the output is that function's arguments).
// Neither output has content.
#include "net/json_tool_call.hpp"
#include "net/tool_parser.hpp"

namespace actorlm::net {

namespace {

class required_tool_parser final : public tool_parser {
public:
    tool_parse read(std::string_view text, bool final) const override {
        tool_parse out;
        read_json_call_array(text, 0, out);
        (void) final;
        return out;
    }
};

class named_tool_parser final : public tool_parser {
public:
    explicit named_tool_parser(std::string name) : name_(std::move(name)) {}
    tool_parse read(std::string_view text, bool final) const override {
        tool_parse out;
        // The grammar starts the object at once; leading whitespace never reaches it.
        const size_t begin = partial_json::skip_whitespace(text, 0);
        out.calls.push_back({name_, std::string(text.substr(begin))});
        if (final && out.calls.back().arguments.empty()) out.calls.back().arguments = "{}";
        return out;
    }

private:
    std::string name_;
};

}  // namespace

std::unique_ptr<tool_parser> make_required_tool_parser() {
    return std::make_unique<required_tool_parser>();
}

std::unique_ptr<tool_parser> make_named_tool_parser(std::string function_name) {
    return std::make_unique<named_tool_parser>(std::move(function_name));
}

}  // namespace actorlm::net
