// Helpers for the Jinja interpreter tests: render a template string with variables
// given as JSON, returning the text or the error message.
#pragma once

#include <doctest/doctest.h>

#include <string>

#include "chat/jinja_json.hpp"
#include "chat/jinja_template.hpp"

namespace actorlm::test {

/// Renders `source` with the JSON object `vars`; "ERROR: <message>" on failure.
inline std::string jinja_render(const std::string& source, const std::string& vars = "{}",
                                std::time_t now = 1700000000) {
    auto t = jinja::compiled_template::parse(source);
    if (!t.ok()) return "ERROR: " + t.message();
    jinja::render_context ctx;
    ctx.now = now;
    auto v = jinja::value_from_json(vars);
    REQUIRE(v.ok());
    ctx.variables = v->as_dict();
    auto out = t->render(ctx);
    return out.ok() ? out.value() : "ERROR: " + out.message();
}

/// True when `text` is an error message containing `needle`.
inline bool is_error_with(const std::string& text, const std::string& needle) {
    return text.rfind("ERROR: ", 0) == 0 && text.find(needle) != std::string::npos;
}

}  // namespace actorlm::test
