// image_url content parts through the api_router (scripted backend, no sockets but a
// loopback HTTP server for URL fetches): parts kept in order, vLLM's shorthand, the
// per-prompt limit and the model-capability check before any fetch, data: URL errors,
// file:// outside --allowed-local-media-path, a slow URL answered 400 without
// blocking the caller (the I/O thread), and a fetched image reaching the backend.
#include <doctest/doctest.h>
#include <simdjson.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <thread>

#include "net/api_router.hpp"
#include "net/openai_protocol.hpp"
#include "recording_sink.hpp"
#include "scripted_backend.hpp"

using namespace actorlm;
using namespace actorlm::net;
using actorlm::test::recording_sink;
using actorlm::test::scripted_backend;

namespace {

// The scripted backend, claiming (or not) to take images; records the last prompt.
class image_backend final : public inference_backend {
public:
    explicit image_backend(bool vision) : vision_(vision) {}
    std::string generate(generate_request req, delta_fn on_delta) override {
        return inner_.generate(std::move(req), std::move(on_delta));
    }
    void abort(const std::string& id) override { inner_.abort(id); }
    engine_stats stats() const override { return inner_.stats(); }
    bool reset_prefix_cache(std::string* error) override { return inner_.reset_prefix_cache(error); }
    model_info info() const override {
        model_info i = inner_.info();
        i.supports_image_input = vision_;
        return i;
    }
    bool tokenize_prompt(const generate_request& req, std::vector<int32_t>* ids,
                         std::string* error) const override {
        std::lock_guard lock(mu_);
        last_ = req;
        return inner_.tokenize_prompt(req, ids, error);
    }
    bool detokenize(const std::vector<int32_t>& ids, std::string* text,
                    std::string* error) const override {
        return inner_.detokenize(ids, text, error);
    }
    generate_request last() const {
        std::lock_guard lock(mu_);
        return last_;
    }

private:
    bool vision_;
    scripted_backend inner_;
    mutable std::mutex mu_;
    mutable generate_request last_;
};

struct image_fixture {
    explicit image_fixture(bool vision, router_options o = {"", {"scripted"}, ""})
        : backend(vision), router(backend, metrics, std::move(o)) {}
    image_backend backend;
    server_metrics metrics{"scripted"};
    api_router router;

    std::shared_ptr<recording_sink> chat(const std::string& content) {
        auto sink = std::make_shared<recording_sink>();
        router.handle({"POST", "/v1/chat/completions", "",
                       R"({"model":"scripted","max_tokens":2,"messages":[{"role":"user","content":)" +
                           content + "}]}"},
                      sink);
        REQUIRE(sink->wait_done());
        return sink;
    }
};

std::string image_part(const std::string& url) {
    return R"({"type":"image_url","image_url":{"url":")" + url + R"("}})";
}

// "IMAGE" as a PNG-typed data URL (the router does not decode; the engine does).
const std::string k_data_url = "data:image/png;base64,SU1BR0U=";

std::string image_error_message(const recording_sink& sink) {
    simdjson::dom::parser parser;
    simdjson::dom::element e;
    REQUIRE(parser.parse(sink.body).get(e) == simdjson::SUCCESS);
    return std::string(e["error"]["message"].get_string().value());
}

bool has_part(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

// A one-shot loopback HTTP server: /img answers "IMAGE", /slow never answers.
class tiny_server {
public:
    tiny_server() : acceptor_(ioc_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
        port_ = acceptor_.local_endpoint().port();
        thread_ = std::thread([this] {
            boost::system::error_code ec;
            boost::asio::ip::tcp::socket s(ioc_);
            acceptor_.accept(s, ec);
            std::string req;
            boost::asio::read_until(s, boost::asio::dynamic_buffer(req), "\r\n\r\n", ec);
            if (!ec && req.rfind("GET /img ", 0) == 0)
                boost::asio::write(s, boost::asio::buffer(std::string(
                                          "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nIMAGE")),
                                   ec);
            else
                std::this_thread::sleep_for(std::chrono::milliseconds(1500));
        });
    }
    ~tiny_server() { thread_.join(); }
    std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(port_) + path;
    }

private:
    boost::asio::io_context ioc_;
    boost::asio::ip::tcp::acceptor acceptor_;
    uint16_t port_ = 0;
    std::thread thread_;
};

}  // namespace

TEST_CASE("chat parser: image_url parts keep their order, vLLM's shorthand, bad parts named") {
    openai_request r;
    const std::string body =
        R"({"messages":[{"role":"user","content":[{"type":"text","text":"a"},)" +
        image_part(k_data_url) +
        R"(,{"type":"text","text":"b"},{"image_url":"http://h/x.png"},)"
        R"({"type":"image_url","image_url":{"url":"file:///m/y.png","detail":"low"}}]}]})";
    REQUIRE_FALSE(parse_chat_request(body, r).has_value());
    const auto& m = r.prompts[0].messages[0];
    CHECK(m.content == "a\nb");
    REQUIRE(m.parts.size() == 5);
    CHECK(m.parts[0].type == content_part::kind::text);
    CHECK(m.parts[0].text == "a");
    CHECK(m.parts[1].type == content_part::kind::image);
    CHECK(m.parts[1].image.data == "IMAGE");
    CHECK(m.parts[1].image.source == "data:image/png;base64,...");
    CHECK(m.parts[2].text == "b");
    CHECK(m.parts[3].image.source == "http://h/x.png");
    CHECK(m.parts[3].image.data.empty());  // fetched by the router later
    CHECK(m.parts[4].image.source == "file:///m/y.png");

    // Text-only content keeps no parts (nothing changes for text models).
    REQUIRE_FALSE(parse_chat_request(
        R"({"messages":[{"role":"user","content":[{"type":"text","text":"a"}]}]})", r));
    CHECK(r.prompts[0].messages[0].parts.empty());

    auto fails = [&](const std::string& content) {
        auto err = parse_chat_request(
            R"({"messages":[{"role":"user","content":[)" + content + "]}]}", r);
        REQUIRE(err.has_value());
        CHECK(err->http_status == 400);
        return err->message;
    };
    CHECK(has_part(fails(R"({"type":"image_url","image_url":"http://h/x.png"})"),
                   "an object with a 'url'"));
    CHECK(has_part(fails(R"({"type":"image_url","image_url":{}})"), "image_url.url"));
    CHECK(has_part(fails(image_part("ftp://h/x.png")), "must be an http(s), data or file URL"));
    CHECK(has_part(fails(image_part("data:image/png;base64,@@@")), "not valid base64"));
    CHECK(has_part(fails(image_part("data:text/plain;base64,SU1BR0U=")), "not image/*"));
    CHECK(has_part(fails(R"({"type":"image_url","image_url":{"url":"http://h/x","detail":"x"}})"),
                   "detail"));
    CHECK(has_part(fails(R"({"type":"input_audio","input_audio":{}})"), "'input_audio'"));
}

TEST_CASE("router: images to a text model are refused before any fetch, naming the model") {
    image_fixture f(/*vision=*/false);
    auto sink = f.chat("[" + image_part(k_data_url) + R"(,{"type":"text","text":"hi"}])");
    CHECK(sink->status == 400);
    CHECK(image_error_message(*sink) == "model 'scripted' does not support image input");
    // Not fetched: the host does not exist, yet the answer is the same and immediate.
    const auto start = std::chrono::steady_clock::now();
    sink = f.chat("[" + image_part("http://203.0.113.1/never.png") + "]");
    CHECK(sink->status == 400);
    CHECK(has_part(image_error_message(*sink), "does not support image input"));
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(500));
    // Plain text still works.
    CHECK(f.chat(R"("hello")")->status == 200);
}

TEST_CASE("router: --limit-mm-per-prompt is checked first") {
    router_options o{"", {"scripted"}, ""};
    o.limit_images_per_prompt = 1;
    image_fixture f(/*vision=*/false, o);
    auto sink = f.chat("[" + image_part(k_data_url) + "," + image_part(k_data_url) + "]");
    CHECK(sink->status == 400);
    CHECK(has_part(image_error_message(*sink), "At most 1 image(s) may be provided in one prompt"));
}

TEST_CASE("router: fetch failures are 400s naming the image, the caller is never blocked") {
    tiny_server server;
    router_options o{"", {"scripted"}, ""};
    o.media.timeout = std::chrono::milliseconds(300);
    o.media.allowed_local_media_path = "/usr/share";
    image_fixture f(/*vision=*/true, o);
    auto sink = f.chat("[" + image_part("file:///etc/passwd") + "]");
    CHECK(sink->status == 400);
    CHECK(has_part(image_error_message(*sink), "messages[0].content[0]"));
    CHECK(has_part(image_error_message(*sink), "must be inside --allowed-local-media-path"));

    auto slow = std::make_shared<recording_sink>();
    const auto start = std::chrono::steady_clock::now();
    f.router.handle({"POST", "/v1/chat/completions", "",
                     R"({"max_tokens":2,"messages":[{"role":"user","content":[)" +
                         image_part(server.url("/slow")) + "]}]}"},
                    slow);
    // handle() returned at once: the fetch runs on its own thread.
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(200));
    REQUIRE(slow->wait_done());
    CHECK(slow->status == 400);
    CHECK(has_part(image_error_message(*slow), "timed out after 0.3 s"));
}

TEST_CASE("router: a fetched image reaches the backend as bytes, in its place") {
    tiny_server server;
    image_fixture f(/*vision=*/true);
    auto sink = f.chat(R"([{"type":"text","text":"look"},)" + image_part(server.url("/img")) + "]");
    CHECK(sink->status == 200);
    const generate_request last = f.backend.last();
    REQUIRE(last.messages.size() == 1);
    REQUIRE(last.messages[0].parts.size() == 2);
    CHECK(last.messages[0].parts[1].image.data == "IMAGE");
    CHECK(last.messages[0].parts[1].image.source == server.url("/img"));
}
