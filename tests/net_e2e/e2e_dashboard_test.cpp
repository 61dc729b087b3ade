// The Grafana dashboard we ship (docs/grafana/actorlm-dashboard.json) against a real
// server's /metrics: every metric a panel queries is one the server exports, under the
// labels the panels filter and group by — so a renamed metric breaks this test, not a
// user's dashboard.
#include <doctest/doctest.h>
#include <simdjson.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "stories_server.hpp"
#include "support/shared_data.hpp"

using namespace actorlm;

TEST_CASE("grafana dashboard: every metric its panels query is exported by actorlm serve") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    std::ifstream file(std::string(ACTORLM_SOURCE_DIR) + "/docs/grafana/actorlm-dashboard.json");
    REQUIRE(file);
    std::stringstream text;
    text << file.rdbuf();
    const std::string json = text.str();
    simdjson::dom::parser parser;
    simdjson::dom::element dashboard;
    REQUIRE(parser.parse(json).get(dashboard) == simdjson::SUCCESS);
    simdjson::dom::array panels;
    REQUIRE(dashboard["panels"].get(panels) == simdjson::SUCCESS);

    const std::regex metric_name("(vllm|actorlm):[A-Za-z0-9_:]+");
    std::set<std::string> queried;
    size_t panel_count = 0;
    for (auto panel : panels) {
        ++panel_count;
        std::string_view title;
        REQUIRE(panel["title"].get(title) == simdjson::SUCCESS);
        simdjson::dom::array targets;
        REQUIRE(panel["targets"].get(targets) == simdjson::SUCCESS);
        for (auto target : targets) {
            std::string_view expr;
            REQUIRE(target["expr"].get(expr) == simdjson::SUCCESS);
            const std::string e(expr);
            for (std::sregex_iterator it(e.begin(), e.end(), metric_name), end; it != end; ++it)
                queried.insert(it->str());
        }
    }
    CHECK(panel_count >= 10);
    REQUIRE(queried.size() >= 20);

    test::stories_server s({{}, false, "templates/Qwen-Qwen2.5-7B-Instruct.jinja", 256, 16, 2});
    auto c = s.client();
    auto done = c.request("POST", "/v1/completions", R"({"prompt": "Once upon", "max_tokens": 4})");
    REQUIRE(done.ok());
    REQUIRE(done->status == 200);
    auto metrics = c.request("GET", "/metrics");
    REQUIRE(metrics.ok());
    const std::string& exported = metrics->body;
    for (const auto& name : queried) {
        // A sample line: the name, then its labels or its value.
        const bool found = exported.find("\n" + name + "{") != std::string::npos ||
                           exported.find("\n" + name + " ") != std::string::npos;
        CHECK_MESSAGE(found, name);
    }
    // The labels the panels select and group by.
    CHECK(exported.find("vllm:num_requests_running{model_name=\"stories\"") != std::string::npos);
    CHECK(exported.find("vllm:request_success_total{finished_reason=\"stop\"") !=
          std::string::npos);
}
