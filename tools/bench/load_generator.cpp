// load_generator: asynchronous streaming clients on one io_context (see
// load_generator.hpp). Each call is a small state machine: connect, write,
// read the header, then read body pieces into an SSE decoder until the stream
// ends. A dispatcher releases conversations at their arrival times when a slot
// is free; a conversation's next turn is sent from its previous turn's finish
// (after an untimed /tokenize call when the plan asks for answer ids).
#include "bench/load_generator.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <memory>
#include <random>

#include "net/json_writer.hpp"
#include "net/sse.hpp"

namespace actorlm::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

struct run_state;

// What a call reads: an SSE stream (a timed turn) or one JSON body (/tokenize, untimed).
enum class call_kind { stream, plain };

// One request on its own connection.
struct stream_call : std::enable_shared_from_this<stream_call> {
    stream_call(run_state& run, size_t index, load_request request, call_kind kind);
    void start();
    void on_connect(beast::error_code ec);
    void on_write(beast::error_code ec, size_t);
    void on_header(beast::error_code ec, size_t);
    void read_more();
    void on_read(beast::error_code ec, size_t);
    void on_event(const std::string& data);
    void finish(std::string error);

    run_state& run;
    size_t index;  // into run.results (conversation-major)
    load_request request;
    call_kind kind;
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::response_parser<http::buffer_body> parser;
    char body_buf[16384];
    std::string plain_body;  // an error response's body, or a plain call's whole body
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
    const conversation_plan& plan;
    const size_t num_turns;
    std::vector<request_result> results;
    asio::io_context ioc;
    tcp::resolver::results_type endpoints;
    clock_type::time_point t0;
    std::vector<double> arrival_s;  // per conversation
    size_t next_arrival = 0;        // next conversation whose arrival time has not come yet
    std::deque<size_t> ready;       // arrived conversations waiting for a concurrency slot
    int64_t in_flight = 0;          // conversations between their first send and their end
    size_t num_ended = 0;           // requests answered, failed or given up unsent
    asio::steady_timer arrival_timer{ioc};
    simdjson::dom::parser json;

    run_state(const load_options& o, const conversation_plan& p)
        : options(o),
          plan(p),
          num_turns(static_cast<size_t>(std::max(1, p.num_turns))),
          results(p.num_conversations * num_turns) {
        for (size_t i = 0; i < results.size(); ++i)
            results[i].turn = static_cast<int32_t>(i % num_turns);
    }

    bool slot_free() const {
        return options.max_concurrency <= 0 || in_flight < options.max_concurrency;
    }

    void launch_ready() {
        while (!ready.empty() && slot_free()) {
            const size_t c = ready.front();
            ready.pop_front();
            ++in_flight;
            send_turn(c * num_turns);
        }
    }

    void schedule_arrivals() {
        const double now = std::chrono::duration<double>(clock_type::now() - t0).count();
        while (next_arrival < plan.num_conversations && arrival_s[next_arrival] <= now)
            ready.push_back(next_arrival++);
        launch_ready();
        if (next_arrival < plan.num_conversations) {
            arrival_timer.expires_at(t0 +
                                     std::chrono::duration_cast<clock_type::duration>(
                                         std::chrono::duration<double>(arrival_s[next_arrival])));
            arrival_timer.async_wait([this](beast::error_code ec) {
                if (!ec) schedule_arrivals();
            });
        }
    }

    void count_ended(size_t n) {
        num_ended += n;
        if (n > 0 && options.on_progress) options.on_progress(num_ended, results.size());
    }

    // Builds and sends results[index]'s turn.
    void send_turn(size_t index) {
        const size_t turn = index % num_turns;
        const request_result* previous = turn == 0 ? nullptr : &results[index - 1];
        load_request r = plan.build(index / num_turns, static_cast<int32_t>(turn), previous);
        std::make_shared<stream_call>(*this, index, std::move(r), call_kind::stream)->start();
    }

    // A turn's stream ended: go on with its conversation, or end it.
    void stream_done(size_t index) {
        count_ended(1);
        const bool last = index % num_turns + 1 == num_turns;
        if (!results[index].success) return end_conversation(index + 1, index);
        if (last) return end_conversation(index + 1, index);
        if (!plan.tokenize_answers) return send_turn(index + 1);
        json_writer w;
        w.begin_object();
        if (!plan.model.empty()) w.field("model", plan.model);
        w.field("prompt", results[index].text).field("add_special_tokens", false).end_object();
        std::make_shared<stream_call>(*this, index, load_request{plan.tokenize_target, w.take()},
                                      call_kind::plain)
            ->start();
    }

    // The answer of results[index] was tokenized (or that failed).
    void tokenize_done(size_t index, const std::string& error, const std::string& body) {
        std::string why = error;
        if (why.empty()) {
            simdjson::dom::element doc;
            simdjson::dom::array tokens;
            if (json.parse(body).get(doc) || doc["tokens"].get(tokens)) {
                why = "no \"tokens\" array in " + body.substr(0, 200);
            } else {
                auto& ids = results[index].text_token_ids;
                for (simdjson::dom::element t : tokens) {
                    int64_t v = 0;
                    if (t.get(v)) {
                        why = "a non-integer token in " + body.substr(0, 200);
                        break;
                    }
                    ids.push_back(static_cast<int32_t>(v));
                }
            }
        }
        if (why.empty()) return send_turn(index + 1);
        results[index + 1].error =
            "tokenize the answer of turn " + std::to_string(index % num_turns) + ": " + why;
        end_conversation(index + 2, index);
    }

    // Frees the conversation's slot; its turns from `from` on (up to its end) were not sent.
    void end_conversation(size_t from, size_t last_sent) {
        const size_t end = (last_sent / num_turns + 1) * num_turns;
        for (size_t i = from; i < end; ++i)
            results[i].error = "not sent: turn " + std::to_string(last_sent % num_turns) +
                               " of its conversation failed";
        count_ended(end > from ? end - from : 0);
        --in_flight;
        launch_ready();
    }
};

stream_call::stream_call(run_state& r, size_t i, load_request lr, call_kind k)
    : run(r), index(i), request(std::move(lr)), kind(k), stream(r.ioc) {}

void stream_call::start() {
    req.method(http::verb::post);
    req.target(request.target);
    req.version(11);
    req.set(http::field::host, run.options.host);
    req.set(http::field::content_type, "application/json");
    req.set(http::field::accept,
            kind == call_kind::stream ? "text/event-stream" : "application/json");
    if (!run.options.api_key.empty())
        req.set(http::field::authorization, "Bearer " + run.options.api_key);
    req.body() = std::move(request.body);
    req.prepare_payload();
    parser.body_limit(boost::none);
    sent = clock_type::now();
    if (kind == call_kind::stream)
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
    if (parser.get().result_int() != 200 || kind == call_kind::plain) {
        plain_body.append(bytes);
    } else {
        decoder.feed(bytes, [this](const std::string& data) { on_event(data); });
    }
    if (!parser.is_done()) return read_more();
    if (parser.get().result_int() != 200)
        return finish("HTTP " + std::to_string(parser.get().result_int()) + ": " + plain_body);
    if (kind == call_kind::plain) return finish("");
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
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.socket().close(ignored);
    if (kind == call_kind::plain) return run.tokenize_done(index, error, plain_body);
    auto& res = run.results[index];
    res.e2e_s = std::chrono::duration<double>(clock_type::now() - sent).count();
    res.success = error.empty();
    res.error = std::move(error);
    if (!usage_seen) res.output_tokens = text_chunks;
    run.stream_done(index);
}

}  // namespace

std::vector<request_result> run_conversations(const load_options& options,
                                              const conversation_plan& plan, double* duration_s) {
    run_state run(options, plan);
    tcp::resolver resolver(run.ioc);
    beast::error_code ec;
    run.endpoints = resolver.resolve(options.host, std::to_string(options.port), ec);
    if (ec) {
        for (auto& r : run.results) r.error = "resolve " + options.host + ": " + ec.message();
        return run.results;
    }
    // Arrival times: gamma-distributed gaps with mean 1/rate (vLLM's burstiness model).
    run.arrival_s.resize(plan.num_conversations, 0.0);
    if (options.request_rate > 0.0) {
        std::mt19937_64 rng(options.seed);
        const double shape = options.burstiness > 0 ? options.burstiness : 1.0;
        std::gamma_distribution<double> gap(shape, 1.0 / (options.request_rate * shape));
        double t = 0.0;
        for (size_t i = 0; i < plan.num_conversations; ++i) {
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

std::vector<request_result> run_load(const load_options& options,
                                     const std::vector<load_request>& requests,
                                     double* duration_s) {
    conversation_plan plan;
    plan.num_conversations = requests.size();
    plan.build = [&requests](size_t c, int32_t, const request_result*) { return requests[c]; };
    return run_conversations(options, plan, duration_s);
}

}  // namespace actorlm::net
