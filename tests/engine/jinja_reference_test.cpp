// Differential test of the interpreter against Python Jinja2 (HF's environment) on
// ~190 small templates (tests/engine/jinja_reference_snippets.txt, separated by lines
// '@@'): whitespace control, literals, operators, scoping, filters, tests, methods,
// Undefined and error cases. Each must give identical text, or fail in both.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "chat/jinja_json.hpp"
#include "chat/jinja_template.hpp"

namespace {

std::vector<std::string> split_snippets(const std::string& text) {
    std::vector<std::string> out;
    const std::string sep = "\n@@\n";
    std::size_t pos = 0;
    while (true) {
        std::size_t hit = text.find(sep, pos);
        out.push_back(text.substr(pos, hit == std::string::npos ? std::string::npos : hit - pos));
        if (hit == std::string::npos) return out;
        pos = hit + sep.size();
    }
}

}  // namespace

TEST_CASE("jinja snippets render like Python Jinja2") {
    if (!std::filesystem::exists("/usr/bin/python3") ||
        std::system("/usr/bin/python3 -c 'import jinja2' 2>/dev/null") != 0) {
        MESSAGE("skipped: /usr/bin/python3 with jinja2 is absent (apt-get install python3-jinja2)");
        return;
    }
    const std::string dir = std::string(ACTORLM_SOURCE_DIR);
    // ACTORLM_JINJA_SNIPPETS points the test at another snippet file (e.g. generated ones).
    const char* override_file = std::getenv("ACTORLM_JINJA_SNIPPETS");
    const std::string file =
        override_file ? override_file : dir + "/tests/engine/jinja_reference_snippets.txt";
    std::ifstream in(file, std::ios::binary);
    REQUIRE(in);
    std::ostringstream ss;
    ss << in.rdbuf();
    auto snippets = split_snippets(ss.str());
    if (!override_file) REQUIRE(snippets.size() > 150);

    std::string cmd =
        "/usr/bin/python3 '" + dir + "/tools/render_chat_template.py' --snippets '" + file + "'";
    FILE* p = popen(cmd.c_str(), "r");
    REQUIRE(p);
    std::string out;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
    REQUIRE(pclose(p) == 0);
    auto expected = actorlm::jinja::value_from_json(out);
    REQUIRE(expected.ok());
    REQUIRE(expected->is_list());
    const auto& results = expected->as_list().items;
    REQUIRE(results.size() == snippets.size());

    int same = 0;
    for (std::size_t i = 0; i < snippets.size(); ++i) {
        const auto& pair = results[i].as_list().items;
        bool py_ok = pair[0].as_bool();
        std::string py_text = pair[1].str();
        std::string got;
        bool ok = false;
        auto t = actorlm::jinja::compiled_template::parse(snippets[i]);
        if (t.ok()) {
            actorlm::jinja::render_context ctx;
            ctx.now = 1700000000;
            auto r = t->render(ctx);
            ok = r.ok();
            got = ok ? r.value() : r.message();
        } else {
            got = t.message();
        }
        INFO("snippet #" << i << ": " << snippets[i]);
        INFO("python: " << std::string(py_ok ? "" : "(error) ") << py_text);
        INFO("c++:    " << std::string(ok ? "" : "(error) ") << got);
        CHECK(ok == py_ok);
        if (ok && py_ok) CHECK(got == py_text);
        if (ok == py_ok && (!ok || got == py_text)) ++same;
    }
    MESSAGE(same << " of " << snippets.size() << " snippets agree with Python Jinja2");
}
