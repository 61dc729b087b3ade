// chat_backend: the SSE client of a server's /v1/chat/completions, and the engine's
// callback API with a condition variable handing deltas to the terminal's thread.
#include "chat_backend.hpp"

#include <simdjson.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>

#include "bench/http_client.hpp"
#include "net/json_writer.hpp"
#include "net/sse.hpp"

namespace actorlm::cli {

namespace {

using chat_clock = std::chrono::steady_clock;

double seconds_since(chat_clock::time_point t) {
    return std::chrono::duration<double>(chat_clock::now() - t).count();
}

class http_chat_backend final : public chat_backend {
public:
    http_chat_backend(std::string host, uint16_t port, std::string api_key, std::string model)
        : client_(std::move(host), port, 600), api_key_(std::move(api_key)),
          model_(std::move(model)) {}

    result<chat_reply> reply(const std::vector<chat_message>& messages,
                             const chat_turn_settings& settings,
                             const std::function<void(std::string_view)>& on_text,
                             const std::function<void(std::string_view)>& on_reasoning,
                             const std::function<bool()>& stop_requested) override {
        net::json_writer w;
        w.begin_object();
        if (!model_.empty()) w.field("model", model_);
        w.field("stream", true).field("temperature", settings.temperature);
        w.field("top_p", settings.top_p).field("max_tokens", settings.max_tokens);
        if (settings.seed) w.field("seed", *settings.seed);
        w.key("stream_options").begin_object().field("include_usage", true).end_object();
        w.key("messages").begin_array();
        for (const auto& m : messages)
            w.begin_object().field("role", m.role).field("content", m.content).end_object();
        w.end_array().end_object();
        std::map<std::string, std::string> headers;
        if (!api_key_.empty()) headers["Authorization"] = "Bearer " + api_key_;

        chat_reply out;
        const auto start = chat_clock::now();
        net::sse_decoder decoder;
        simdjson::dom::parser parser;
        std::string error_body;
        std::string head;  // the body's start: a refused request's OpenAI error object
        bool stopped = false;
        auto on_event = [&](const std::string& data) {
            if (data == "[DONE]") return;
            simdjson::dom::element event;
            if (parser.parse(data).get(event) != simdjson::SUCCESS) return;
            std::string_view message;
            if (event["error"]["message"].get(message) == simdjson::SUCCESS) {
                out.finish_reason = "error";
                error_body = std::string(message);
                return;
            }
            simdjson::dom::array choices;
            if (event["choices"].get(choices) == simdjson::SUCCESS)
                for (auto choice : choices) {
                    std::string_view piece;
                    if (choice["delta"]["reasoning_content"].get(piece) == simdjson::SUCCESS &&
                        !piece.empty())
                        on_reasoning(piece);
                    if (choice["delta"]["content"].get(piece) == simdjson::SUCCESS &&
                        !piece.empty()) {
                        if (out.first_token_seconds < 0) out.first_token_seconds = seconds_since(start);
                        out.text += piece;
                        on_text(piece);
                    }
                    std::string_view reason;
                    if (choice["finish_reason"].get(reason) == simdjson::SUCCESS)
                        out.finish_reason = std::string(reason);
                }
            int64_t tokens = 0;
            if (event["usage"]["completion_tokens"].get(tokens) == simdjson::SUCCESS)
                out.completion_tokens = tokens;
        };
        auto answer = client_.stream(
            "POST", "/v1/chat/completions", w.str(),
            [&](std::string_view bytes) {
                if (stop_requested()) {
                    stopped = true;
                    return false;  // hang up: the server aborts the request
                }
                if (head.size() < 65536) head.append(bytes.substr(0, 65536 - head.size()));
                decoder.feed(bytes, on_event);
                return true;
            },
            headers);
        out.seconds = seconds_since(start);
        // Ctrl-C can also end a blocked read (EINTR) before the next chunk is seen.
        if (stopped || stop_requested()) {
            out.finish_reason = "abort";
            return out;
        }
        if (!answer) return make_error("%s", answer.message().c_str());
        if (answer->status != 200) {
            simdjson::dom::element doc;
            std::string_view message;
            if (parser.parse(head).get(doc) == simdjson::SUCCESS &&
                doc["error"]["message"].get(message) == simdjson::SUCCESS)
                return make_error("HTTP %d: %s", answer->status, std::string(message).c_str());
            return make_error("HTTP %d", answer->status);
        }
        if (out.finish_reason == "error") return make_error("%s", error_body.c_str());
        return out;
    }

private:
    net::http_client client_;
    std::string api_key_, model_;
};

class engine_chat_backend final : public chat_backend {
public:
    explicit engine_chat_backend(std::shared_ptr<engine> engine) : engine_(std::move(engine)) {}

    result<chat_reply> reply(const std::vector<chat_message>& messages,
                             const chat_turn_settings& settings,
                             const std::function<void(std::string_view)>& on_text,
                             const std::function<void(std::string_view)>&,
                             const std::function<bool()>& stop_requested) override {
        generate_request req;
        req.messages = messages;
        req.params.temperature = settings.temperature;
        req.params.top_p = settings.top_p;
        req.params.max_tokens = settings.max_tokens;
        req.params.seed = settings.seed;
        // Deltas arrive on engine threads; the terminal prints on this one.
        struct inbox {
            std::mutex mu;
            std::condition_variable cv;
            std::deque<output_delta> deltas;
        };
        auto box = std::make_shared<inbox>();
        const auto start = chat_clock::now();
        const std::string id = engine_->generate(std::move(req), [box](const output_delta& d) {
            std::lock_guard lock(box->mu);
            box->deltas.push_back(d);
            box->cv.notify_one();
        });
        chat_reply out;
        bool aborted = false;
        for (bool finished = false; !finished;) {
            std::deque<output_delta> ready;
            {
                std::unique_lock lock(box->mu);
                box->cv.wait_for(lock, std::chrono::milliseconds(50),
                                 [&] { return !box->deltas.empty(); });
                ready.swap(box->deltas);
            }
            if (!aborted && stop_requested()) {
                engine_->abort(id);  // its last delta reports finish_reason abort
                aborted = true;
            }
            for (const auto& d : ready) {
                if (!d.text.empty()) {
                    if (out.first_token_seconds < 0) out.first_token_seconds = seconds_since(start);
                    out.text += d.text;
                    on_text(d.text);
                }
                out.completion_tokens = d.num_output_tokens;
                if (d.finished()) {
                    finished = true;
                    if (d.finish == finish_reason::error) return make_error("%s", d.error.c_str());
                    out.finish_reason = finish_reason_name(d.finish);
                }
            }
        }
        out.seconds = seconds_since(start);
        return out;
    }

private:
    std::shared_ptr<engine> engine_;
};

}  // namespace

std::unique_ptr<chat_backend> make_http_chat_backend(std::string host, uint16_t port,
                                                     std::string api_key, std::string model) {
    return std::make_unique<http_chat_backend>(std::move(host), port, std::move(api_key),
                                               std::move(model));
}

std::unique_ptr<chat_backend> make_engine_chat_backend(std::shared_ptr<engine> engine) {
    return std::make_unique<engine_chat_backend>(std::move(engine));
}

}  // namespace actorlm::cli
