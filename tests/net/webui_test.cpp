// The web chat page's serving: the embedded files under `/` and /webui/ with their
// Content-Type and caching headers, served without the API key while the API stays
// guarded, /props (what the page learns about the model), and --no-webui turning every
// page path into the JSON 404 of an unknown route. No sockets (recording_sink).
#include <doctest/doctest.h>
#include <simdjson.h>

#include <string_view>

#include "net/api_router.hpp"
#include "net/webui_assets.hpp"
#include "recording_sink.hpp"
#include "scripted_backend.hpp"

using namespace actorlm;
using namespace actorlm::net;
using actorlm::test::recording_sink;
using actorlm::test::scripted_backend;

namespace webui_test {

struct server {
    scripted_backend backend;
    server_metrics metrics{"scripted"};
    api_router router;

    explicit server(router_options options) : router(backend, metrics, std::move(options)) {}

    std::shared_ptr<recording_sink> get(const std::string& target, const std::string& auth = {}) {
        auto sink = std::make_shared<recording_sink>();
        router.handle({"GET", target, auth, {}}, sink);
        REQUIRE(sink->wait_done());
        return sink;
    }
};

router_options options(std::string api_key = {}, bool webui = true) {
    router_options o{std::move(api_key), {"scripted", "alias"}, ""};
    o.enable_webui = webui;
    return o;
}

}  // namespace webui_test

using namespace webui_test;

TEST_CASE("webui: the page and its files are served with their types and no-cache") {
    server s(options());
    struct expected {
        const char* path;
        const char* content_type;
        const char* marker;  // something only that file holds
    };
    for (const expected& e : {
             expected{"/", "text/html; charset=utf-8", "<!doctype html>"},
             expected{"/webui/index.html", "text/html; charset=utf-8", "<!doctype html>"},
             expected{"/webui/app.js", "text/javascript; charset=utf-8", "render_markdown"},
             expected{"/webui/markdown.js", "text/javascript; charset=utf-8", "createTextNode"},
             expected{"/webui/api.js", "text/javascript; charset=utf-8", "class api_client"},
             expected{"/webui/style.css", "text/css; charset=utf-8", ".tok-kw"},
         }) {
        INFO(e.path);
        auto r = s.get(e.path);
        CHECK(r->status == 200);
        CHECK(r->content_type == e.content_type);
        CHECK(r->body.find(e.marker) != std::string::npos);
        CHECK(r->extra_headers.find("Cache-Control: no-cache\r\n") != std::string::npos);
        CHECK(r->extra_headers.find("X-Content-Type-Options: nosniff\r\n") != std::string::npos);
        const bool html = std::string_view(e.content_type).starts_with("text/html");
        CHECK((r->extra_headers.find("Content-Security-Policy: default-src 'self'") !=
               std::string::npos) == html);
    }
    // A query string does not change the file; an unknown file is the API's 404.
    CHECK(s.get("/?conversation=1")->status == 200);
    auto missing = s.get("/webui/nope.js");
    CHECK(missing->status == 404);
    CHECK(missing->content_type == "application/json");
}

TEST_CASE("webui: every file is embedded whole and loads nothing from elsewhere") {
    const auto files = embedded_webui_files();
    REQUIRE(files.size() >= 5);
    for (const auto& f : files) {
        INFO(f.name);
        const std::string_view body(reinterpret_cast<const char*>(f.data), f.size);
        CHECK(f.size > 100);
        CHECK(body.back() == '\n');  // the last byte made it (each file ends with a newline)
        // No CDN, no remote font or script: the page must work with no internet.
        CHECK(body.find("://") == std::string_view::npos);
        const webui_asset* asset = find_webui_asset("/webui/" + std::string(f.name));
        REQUIRE(asset != nullptr);
        CHECK(asset->body.size() == f.size);
    }
    CHECK(webui_content_type("x.svg") == "image/svg+xml");
    CHECK(webui_content_type("js") == "application/octet-stream");
}

TEST_CASE("webui: --no-webui makes the page paths unknown routes") {
    server s(options({}, false));
    for (const char* path : {"/", "/webui/app.js", "/webui/index.html"}) {
        INFO(path);
        auto r = s.get(path);
        CHECK(r->status == 404);
        CHECK(r->content_type == "application/json");
        CHECK(r->body.find("\"error\"") != std::string::npos);
    }
    CHECK(s.get("/v1/models")->status == 200);  // the API is unchanged
}

TEST_CASE("webui: with --api-key the page is open, /props and the API need the key") {
    server s(options("sekret"));
    CHECK(s.get("/")->status == 200);
    CHECK(s.get("/webui/app.js")->status == 200);
    CHECK(s.get("/props")->status == 401);
    CHECK(s.get("/props", "Bearer wrong")->status == 401);
    CHECK(s.get("/v1/models")->status == 401);
    auto props = s.get("/props", "Bearer sekret");
    CHECK(props->status == 200);
}

TEST_CASE("webui: /props names the served models, the context, template and vision") {
    server s(options());
    auto r = s.get("/props");
    REQUIRE(r->status == 200);
    CHECK(r->content_type == "application/json");
    simdjson::dom::parser parser;
    simdjson::dom::element e;
    INFO(r->body);
    REQUIRE(parser.parse(r->body).get(e) == simdjson::SUCCESS);
    CHECK(std::string_view(e["model"].get_string().value()) == "scripted");
    auto names = e["served_model_names"].get_array().value();
    REQUIRE(names.size() == 2);
    CHECK(std::string_view(names.at(1).get_string().value()) == "alias");
    CHECK(e["max_model_len"].get_int64().value() == 4096);
    // The scripted backend renders any chat and takes no images.
    CHECK(e["has_chat_template"].get_bool().value() == true);
    CHECK(e["chat_template_error"].is_null());
    CHECK(e["modalities"]["vision"].get_bool().value() == false);
    // POST is not how /props is read.
    auto sink = std::make_shared<recording_sink>();
    s.router.handle({"POST", "/props", "", "{}"}, sink);
    REQUIRE(sink->wait_done());
    CHECK(sink->status == 405);
}
