// load_generator: asynchronous streaming clients on one io_context (see
// load_generator.hpp). Each call is a small state machine: connect, write,
// read the header, then read body pieces into an SSE decoder until the stream
// ends. A dispatcher releases requests at their arrival times when a slot is free.
#include "bench/load_generator.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <simdjson.h>

#include <chrono>
#include <deque>
#include <memory>
#include <random>

#include "net/sse.hpp"

namespace actorlm::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

struct run_state;

// One streaming request on its own connection.
struct stream_call : std::enable_shared_from_this<stream_call> {
    stream_call(run_state& run, size_t index);
    void start();
    void on_connect(beast::error_code ec);
    void on_write(beast::error_code ec, size_t);
    void on_header(beast::error_code ec, size_t);
    void read_more();
    void on_read(beast::error_code ec, size_t);
    void on_event(const std::string& data);
    void finish(std::string error);

    run_state& run;
    size_t index;
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::response_parser<http::buffer_body> parser;
    char body_buf[16384];
    std::string error_body;
    sse_decoder decoder;
    clock_type::time_point sent;
    clock_type::time_point last_text;
    bool got_text = false;
    bool got_done = false;
    bool usage_seen = false;
    int64_t text_chunks = 0;
    bool finished = false;
};

struct run_state {
    const load_options& options;
    const std::vector<load_request>& requests;
    std::vector<request_result> results;
    asio::io_context ioc;
    tcp::resolver::results_type endpoints;
    clock_type::time_point t0;
    std::vector<double> arrival_s;
    size_t next_arrival = 0;   // next request whose arrival time has not come yet
    std::deque<size_t> ready;  // arrived, waiting for a concurrency slot
    int64_t in_flight = 0;
    asio::steady_timer arrival_timer{ioc};
    simdjson::dom::parser json;

    run_state(const load_options& o, const std::vector<load_request>& r)
        : options(o), requests(r), results(r.size()) {}

    bool slot_free() const {
        return options.max_concurrency <= 0 || in_flight < options.max_concurrency;
    }

    void launch_ready() {
        while (!ready.empty() && slot_free()) {
            const size_t i = ready.front();
            ready.pop_front();
            ++in_flight;
            std::make_shared<stream_call>(*this, i)->start();
        }
    }

    void schedule_arrivals() {
        const double now = std::chrono::duration<double>(clock_type::now() - t0).count();
        while (next_arrival < requests.size() && arrival_s[next_arrival] <= now)
            ready.push_back(next_arrival++);
        launch_ready();
        if (next_arrival < requests.size()) {
            arrival_timer.expires_at(t0 +
                                     std::chrono::duration_cast<clock_type::duration>(
                                         std::chrono::duration<double>(arrival_s[next_arrival])));
            arrival_timer.async_wait([this](beast::error_code ec) {
                if (!ec) schedule_arrivals();
            });
        }
    }

    void call_done() {
        --in_flight;
        launch_ready();
    }
};

stream_call::stream_call(run_state& r, size_t i) : run(r), index(i), stream(r.ioc) {}

void stream_call::start() {
    const load_request& lr = run.requests[index];
    req.method(http::verb::post);
    req.target(lr.target);
    req.version(11);
    req.set(http::field::host, run.options.host);
    req.set(http::field::content_type, "application/json");
    req.set(http::field::accept, "text/event-stream");
    if (!run.options.api_key.empty())
        req.set(http::field::authorization, "Bearer " + run.options.api_key);
    req.body() = lr.body;
    req.prepare_payload();
    parser.body_limit(boost::none);
    sent = clock_type::now();
    run.results[index].start_s = std::chrono::duration<double>(sent - run.t0).count();
    stream.expires_after(std::chrono::seconds(run.options.timeout_s));
    stream.async_connect(run.endpoints,
                         [self = shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
                             self->on_connect(ec);
                         });
}

void stream_call::on_connect(beast::error_code ec) {
    if (ec) return finish("connect: " + ec.message());
    stream.socket().set_option(tcp::no_delay(true), ec);
    http::async_write(stream, req,
                      beast::bind_front_handler(&stream_call::on_write, shared_from_this()));
}

void stream_call::on_write(beast::error_code ec, size_t) {
    if (ec) return finish("write: " + ec.message());
    http::async_read_header(stream, buffer, parser,
                            beast::bind_front_handler(&stream_call::on_header, shared_from_this()));
}

void stream_call::on_header(beast::error_code ec, size_t) {
    if (ec) return finish("read header: " + ec.message());
    read_more();
}

void stream_call::read_more() {
    parser.get().body().data = body_buf;
    parser.get().body().size = sizeof(body_buf);
    http::async_read_some(stream, buffer, parser,
                          beast::bind_front_handler(&stream_call::on_read, shared_from_this()));
}

void stream_call::on_read(beast::error_code ec, size_t) {
    if (ec == http::error::need_buffer) ec = {};
    if (ec) return finish("read body: " + ec.message());
    const size_t got = sizeof(body_buf) - parser.get().body().size;
    const std::string_view bytes(body_buf, got);
    if (parser.get().result_int() != 200) {
        error_body.append(bytes);
    } else {
        decoder.feed(bytes, [this](const std::string& data) { on_event(data); });
    }
    if (!parser.is_done()) return read_more();
    if (parser.get().result_int() != 200)
        return finish("HTTP " + std::to_string(parser.get().result_int()) + ": " + error_body);
    finish(got_done ? "" : "stream ended without [DONE]");
}

void stream_call::on_event(const std::string& data) {
    if (finished) return;
    if (data == "[DONE]") {
        got_done = true;
        return;
    }
    const auto now = clock_type::now();
    simdjson::dom::element doc;
    if (run.json.parse(data).get(doc)) return finish("unparsable chunk: " + data.substr(0, 200));
    auto& res = run.results[index];
    simdjson::dom::element err;
    if (!doc["error"].get(err)) return finish("error event: " + data.substr(0, 500));
    simdjson::dom::object usage;
    if (!doc["usage"].get(usage)) {
        int64_t v = 0;
        if (!usage["completion_tokens"].get(v)) {
            res.output_tokens = v;
            usage_seen = true;
        }
        if (!usage["prompt_tokens"].get(v)) res.prompt_tokens = v;
    }
    simdjson::dom::array choices;
    if (doc["choices"].get(choices) || choices.size() == 0) return;
    std::string_view text;
    simdjson::dom::element choice = choices.at(0).value_unsafe();
    if (choice["text"].get(text) && choice["delta"]["content"].get(text)) return;
    if (text.empty()) return;
    if (!got_text) {
        res.ttft_s = std::chrono::duration<double>(now - sent).count();
        got_text = true;
    } else {
        res.itl_s.push_back(std::chrono::duration<double>(now - last_text).count());
    }
    last_text = now;
    ++text_chunks;
    res.text.append(text);
}

void stream_call::finish(std::string error) {
    if (finished) return;
    finished = true;
    auto& res = run.results[index];
    res.e2e_s = std::chrono::duration<double>(clock_type::now() - sent).count();
    res.success = error.empty();
    res.error = std::move(error);
    if (!usage_seen) res.output_tokens = text_chunks;
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.socket().close(ignored);
    run.call_done();
}

}  // namespace

std::vector<request_result> run_load(const load_options& options,
                                     const std::vector<load_request>& requests,
                                     double* duration_s) {
    run_state run(options, requests);
    tcp::resolver resolver(run.ioc);
    beast::error_code ec;
    run.endpoints = resolver.resolve(options.host, std::to_string(options.port), ec);
    if (ec) {
        for (auto& r : run.results) r.error = "resolve " + options.host + ": " + ec.message();
        return run.results;
    }
    // Arrival times: gamma-distributed gaps with mean 1/rate (vLLM's burstiness model).
    run.arrival_s.resize(requests.size(), 0.0);
    if (options.request_rate > 0.0) {
        std::mt19937_64 rng(options.seed);
        const double shape = options.burstiness > 0 ? options.burstiness : 1.0;
        std::gamma_distribution<double> gap(shape, 1.0 / (options.request_rate * shape));
        double t = 0.0;
        for (size_t i = 0; i < requests.size(); ++i) {
            run.arrival_s[i] = t;
            t += gap(rng);
        }
    }
    run.t0 = clock_type::now();
    run.schedule_arrivals();
    run.ioc.run();
    if (duration_s) *duration_s = std::chrono::duration<double>(clock_type::now() - run.t0).count();
    return std::move(run.results);
}

}  // namespace actorlm::net
