// End-to-end with images: `actorlm serve`'s stack (http_server + api_router + the real
// engine) on the tiny LLaVA directory with a tokenizer and chat template
// (tests/data/mm/models/llava_stories). An OpenAI chat request with an image as a data:
// URL or a file:// URL under --allowed-local-media-path is answered; usage and /tokenize
// count the image's placeholder tokens as the HF processor expands them (43 prompt ids,
// tools/make-vlm-references.py); the picture is preprocessed once (/metrics).
#include <doctest/doctest.h>
#include <simdjson.h>

#include <filesystem>
#include <fstream>

#include "bench/http_client.hpp"
#include "net/api_router.hpp"
#include "net/http_server.hpp"
#include "net/inference_backend.hpp"
#include "support/base64.hpp"
#include "support/mm_references.hpp"
#include "support/png_writer.hpp"
#include "support/temp_dir.hpp"

using namespace actorlm;
using namespace actorlm::net;

namespace e2e_image_test {

struct image_server {
    explicit image_server(const std::string& media_dir) {
        engine_config cfg;
        cfg.model_path = test::mm_model_dir("llava_stories");
        cfg.served_model_name = "tiny-llava";
        cfg.num_threads = 1;
        cfg.kv_cache_memory_bytes = 4 << 20;
        std::string error;
        eng = engine::create(cfg, &error);
        INFO(error);
        REQUIRE(eng != nullptr);
        backend = make_engine_backend(eng);
        metrics = std::make_unique<server_metrics>("tiny-llava");
        router_options ro{{}, {"tiny-llava"}, ""};
        ro.media.allowed_local_media_path = media_dir;
        router = std::make_unique<api_router>(*backend, *metrics, ro);
        server_options opts;
        opts.port = 0;
        server = std::make_unique<http_server>(opts, *router);
        REQUIRE(server->start().ok());
    }
    ~image_server() {
        server->request_shutdown();
        server->wait();
        router->wait_for_fetches();
    }
    std::string post(const std::string& path, const std::string& body, int* status) {
        http_client c("127.0.0.1", server->port(), 120);
        auto r = c.request("POST", path, body, {});
        REQUIRE(r.ok());
        *status = r->status;
        return r->body;
    }
    std::string get(const std::string& path) {
        http_client c("127.0.0.1", server->port(), 120);
        auto r = c.request("GET", path, "", {});
        REQUIRE(r.ok());
        return r->body;
    }

    std::shared_ptr<engine> eng;
    std::unique_ptr<inference_backend> backend;
    std::unique_ptr<server_metrics> metrics;
    std::unique_ptr<api_router> router;
    std::unique_ptr<http_server> server;
};

std::string chat_body(const std::string& url) {
    return R"({"model":"tiny-llava","max_tokens":16,"temperature":0,"ignore_eos":true,
               "messages":[{"role":"user","content":[
                 {"type":"image_url","image_url":{"url":")" +
           url + R"("}},{"type":"text","text":"Once upon a time"}]}]})";
}

int64_t usage_of(const std::string& body, const char* key) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    INFO(body);
    REQUIRE(parser.parse(body).get(doc) == simdjson::SUCCESS);
    return doc["usage"][key].get_int64().value();
}

std::string content_of(const std::string& body) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    REQUIRE(parser.parse(body).get(doc) == simdjson::SUCCESS);
    return std::string(doc["choices"].at(0)["message"]["content"].get_string().value());
}

double metric(const std::string& text, const std::string& name) {
    const size_t at = text.find("\n" + name + "{");
    REQUIRE(at != std::string::npos);
    const size_t space = text.find("} ", at);
    return std::stod(text.substr(space + 2));
}

}  // namespace e2e_image_test

using namespace e2e_image_test;

TEST_CASE("e2e images: a data: URL and a local file give one answer, usage counts image tokens") {
    const auto dir = test::fresh_temp_dir("e2e-image");
    std::filesystem::create_directories(dir);
    const std::string png = test::encode_png(test::formula_image(45, 29, 3));
    std::ofstream(dir / "picture.png", std::ios::binary) << png;
    image_server s(dir.string());

    int status = 0;
    const std::string by_data =
        s.post("/v1/chat/completions", chat_body("data:image/png;base64," + test::base64(png)),
               &status);
    REQUIRE(status == 200);
    // 43 = the processor's ids: BOS, "USER: ", 16 image tokens, the text, "ASSISTANT:".
    CHECK(usage_of(by_data, "prompt_tokens") == 43);
    CHECK(usage_of(by_data, "completion_tokens") == 16);

    const std::string by_file = s.post(
        "/v1/chat/completions", chat_body("file://" + (dir / "picture.png").string()), &status);
    INFO(by_file);
    REQUIRE(status == 200);
    CHECK(content_of(by_file) == content_of(by_data));

    const std::string tokenized = s.post(
        "/tokenize",
        R"({"model":"tiny-llava","messages":[{"role":"user","content":[
             {"type":"image_url","image_url":{"url":"data:image/png;base64,)" +
            test::base64(png) + R"("}},{"type":"text","text":"Once upon a time"}]}]})",
        &status);
    REQUIRE(status == 200);
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    REQUIRE(parser.parse(tokenized).get(doc) == simdjson::SUCCESS);
    CHECK(doc["count"].get_int64().value() == 43);

    // One picture in three requests: decoded and preprocessed once, when the server
    // prepared the first generation's prompt (its context check; the engine ran that
    // prompt as it was); the second generation's preparation found it in the processor
    // cache, and /tokenize's lookup is a check that the counters leave out.
    const std::string metrics = s.get("/metrics");
    CHECK(metric(metrics, "vllm:mm_cache_queries_total") == 2);
    CHECK(metric(metrics, "vllm:mm_cache_hits_total") == 1);
    CHECK(metric(metrics, "actorlm:mm_images_processed_total") == 1);
    std::filesystem::remove_all(dir);
}
