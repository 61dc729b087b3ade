// A parsed Jinja2 template: parse once, render many times. The environment is HF
// transformers' chat one (trim_blocks, lstrip_blocks, loopcontrols, immutable sandbox).
// Threading: render() is const and keeps all state on its own stack, so any number of
// threads may render one template at once.
#pragma once

#include <memory>
#include <string>

#include "chat/jinja_renderer.hpp"
#include "base/result.hpp"

namespace actorlm::jinja {

class compiled_template {
public:
    /// Parses `source`. The error names line, column and what was expected.
    static result<compiled_template> parse(const std::string& source);

    /// Renders with `context`; an error names the line and the problem (including a
    /// template's own raise_exception message).
    result<std::string> render(const render_context& context) const;

private:
    std::shared_ptr<const stmt_list> body_;
};

}  // namespace actorlm::jinja
