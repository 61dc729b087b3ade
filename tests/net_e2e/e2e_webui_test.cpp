// The web chat page in headless chromium (tests/browser/webui.mjs, puppeteer-core)
// against `actorlm serve`'s stack on stories260K: one engine without a chat template
// behind three routers (open, --api-key, --no-webui) and a startup gate (the page while
// the model loads), and one engine with the Qwen2.5
// template whose replies are paced so that the page can stop one mid-stream. Skips with
// a message when ../shared, node, chromium or puppeteer-core (tools/setup puts it into
// build/node) is absent. Screenshots: build/<dir>/webui-artifacts/.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "net/http_server.hpp"
#include "net/inference_backend.hpp"
#include "net/startup_gate.hpp"
#include "support/shared_data.hpp"
#include "support/shell.hpp"

using namespace actorlm;
using namespace actorlm::net;

namespace e2e_webui_test {

// The real engine, its deltas handed on at 100 per second: stories260K writes 300 tokens
// in a fraction of a second, too fast for a browser to press Stop in between, and the
// engine does not wait for its reader. So the deltas queue here and one thread releases
// them; abort() drops what is queued, forwards the abort to the engine, and ends the
// sequence with finish_reason::abort, as the engine ends a request it aborts while
// running. The server's side (hang-up -> abort -> /metrics) is then the real one; the
// engine's own abort is e2e_server_test's.
class paced_backend final : public inference_backend {
public:
    explicit paced_backend(std::unique_ptr<inference_backend> inner)
        : inner_(std::move(inner)), pacer_([this] { release_loop(); }) {}
    ~paced_backend() override {
        {
            std::lock_guard lock(q_->mu);
            q_->stopping = true;
        }
        q_->wake.notify_all();
        pacer_.join();
    }

    std::string generate(generate_request req, delta_fn on_delta) override {
        req.params.ignore_eos = true;  // every reply runs to max_tokens
        // The queue, not `this`: the engine may report a delta after this object is gone.
        return inner_->generate(std::move(req), [q = q_, on_delta](const output_delta& d) {
            std::lock_guard lock(q->mu);
            if (q->aborted.count(d.request_id)) return;  // the sequence already ended here
            q->queue.push_back({d, on_delta});
            q->wake.notify_all();
        });
    }
    void abort(const std::string& request_id) override {
        {
            std::lock_guard lock(q_->mu);
            q_->aborted.insert(request_id);
            std::optional<pending> last;
            for (auto it = q_->queue.begin(); it != q_->queue.end();) {
                if (it->delta.request_id != request_id) {
                    ++it;
                    continue;
                }
                last = std::move(*it);
                it = q_->queue.erase(it);
            }
            // Nothing queued: every delta was handed on, so the request had ended.
            if (last) {
                output_delta end;
                end.request_id = request_id;
                end.index = last->delta.index;
                end.num_prompt_tokens = last->delta.num_prompt_tokens;
                end.num_output_tokens = last->delta.num_output_tokens;
                end.finish = finish_reason::abort;
                // Next in line, so it follows a delta the pacer may be handing on now.
                q_->queue.push_front({std::move(end), std::move(last->on_delta)});
                q_->wake.notify_all();
            }
        }
        inner_->abort(request_id);
    }
    engine_stats stats() const override { return inner_->stats(); }
    bool reset_prefix_cache(std::string* error) override {
        return inner_->reset_prefix_cache(error);
    }
    model_info info() const override { return inner_->info(); }
    bool tokenize_prompt(const generate_request& req, std::vector<int32_t>* ids,
                         std::string* error) const override {
        return inner_->tokenize_prompt(req, ids, error);
    }
    bool prepare_prompt(generate_request& req, std::string* error) const override {
        return inner_->prepare_prompt(req, error);
    }
    bool detokenize(const std::vector<int32_t>& ids, std::string* text,
                    std::string* error) const override {
        return inner_->detokenize(ids, text, error);
    }

private:
    struct pending {
        output_delta delta;
        delta_fn on_delta;
    };

    void release_loop() {
        std::unique_lock lock(q_->mu);
        while (!q_->stopping) {
            if (q_->queue.empty()) {
                q_->wake.wait(lock);
                continue;
            }
            pending next = std::move(q_->queue.front());
            q_->queue.pop_front();
            lock.unlock();
            next.on_delta(next.delta);
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            lock.lock();
        }
    }

    struct delta_queue {
        std::mutex mu;
        std::condition_variable wake;
        std::deque<pending> queue;
        std::set<std::string> aborted;  // their later deltas from the engine are dropped
        bool stopping = false;
    };

    std::unique_ptr<inference_backend> inner_;
    std::shared_ptr<delta_queue> q_ = std::make_shared<delta_queue>();
    std::thread pacer_;  // last: starts once the members above exist
};

std::shared_ptr<engine> start_engine(const std::string& chat_template) {
    engine_config cfg;
    cfg.model_path = test::shared_path("models/stories260K.gguf");
    cfg.chat_template = chat_template;
    cfg.served_model_name = "stories";
    cfg.num_threads = 1;
    cfg.max_model_len = 512;
    std::string error;
    std::shared_ptr<engine> eng = engine::create(cfg, &error);
    INFO(error);
    REQUIRE(eng != nullptr);
    return eng;
}

// One HTTP front (router + server) over a backend.
struct front {
    front(inference_backend& backend, std::string api_key, bool webui)
        : metrics("stories"), router(backend, metrics, options(std::move(api_key), webui)) {
        server_options opts;
        opts.port = 0;
        server = std::make_unique<http_server>(opts, router);
        REQUIRE(server->start().ok());
    }
    ~front() {
        server->request_shutdown();
        server->wait();
    }
    static router_options options(std::string api_key, bool webui) {
        router_options o{std::move(api_key), {"stories"}, ""};
        o.enable_webui = webui;
        return o;
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(server->port()); }

    server_metrics metrics;
    api_router router;
    std::unique_ptr<http_server> server;
};

// A server whose model "loads" until the page has asked for /props three times: a
// startup_gate, as `actorlm serve` puts in front of its router, opened by the page's own
// retries, so the page sees the loading state however slowly the browser starts.
struct loading_front {
    explicit loading_front(inference_backend& backend)
        : metrics("stories"), router(backend, metrics, front::options("", true)),
          opener(*this) {
        server_options opts;
        opts.port = 0;
        server = std::make_unique<http_server>(opts, opener);
        REQUIRE(server->start().ok());
    }
    ~loading_front() {
        server->request_shutdown();
        server->wait();
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(server->port()); }

    struct gate_opener final : request_handler {
        explicit gate_opener(loading_front& f) : front_(f) {}
        void handle(const http_request& req, const std::shared_ptr<response_sink>& sink) override {
            front_.gate.handle(req, sink);
            if (req.target == "/props" && ++props_asked_ == 3) front_.gate.open(front_.router);
        }
        loading_front& front_;
        std::atomic<int> props_asked_{0};
    };

    server_metrics metrics;
    api_router router;
    startup_gate gate;
    gate_opener opener;
    std::unique_ptr<http_server> server;
};

}  // namespace e2e_webui_test

using namespace e2e_webui_test;

TEST_CASE("e2e webui: the chat page in headless chromium against actorlm serve (stories260K)") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    const std::string prefix = std::string(ACTORLM_SOURCE_DIR) + "/build/node";
    const char* chromium = "/usr/bin/chromium";
    if (test::run_shell("command -v node").status != 0) {
        MESSAGE("skipped: node is not installed (tools/setup installs nodejs and npm)");
        return;
    }
    if (!std::filesystem::exists(chromium)) {
        MESSAGE("skipped: " << chromium << " is absent (tools/setup installs Debian's chromium)");
        return;
    }
    if (!std::filesystem::exists(prefix + "/node_modules/puppeteer-core/package.json")) {
        MESSAGE("skipped: the puppeteer-core npm package is absent from " << prefix
                                                                          << " (run tools/setup)");
        return;
    }
    auto plain_engine = start_engine("");
    auto plain_backend = make_engine_backend(plain_engine);
    auto chat_engine =
        start_engine(test::shared_path("templates/Qwen-Qwen2.5-7B-Instruct.jinja"));
    paced_backend chat_backend(make_engine_backend(chat_engine));
    {
        front plain(*plain_backend, "", true);
        front keyed(*plain_backend, "sekret", true);
        front off(*plain_backend, "", false);
        front chat(chat_backend, "", true);
        loading_front loading(*plain_backend);
        const std::string artifacts = std::string(ACTORLM_BINARY_DIR) + "/webui-artifacts";
        const auto r = test::run_shell(
            "WEBUI_PLAIN_URL=" + plain.url() + " WEBUI_KEY_URL=" + keyed.url() +
            " WEBUI_OFF_URL=" + off.url() + " WEBUI_CHAT_URL=" + chat.url() +
            " WEBUI_LOADING_URL=" + loading.url() +
            " WEBUI_ARTIFACTS=" + artifacts + " CHROMIUM=" + chromium +
            " ACTORLM_NODE_PREFIX=" + prefix + " timeout 120 node " + ACTORLM_SOURCE_DIR +
            "/tests/browser/webui.mjs");
        INFO(r.output);
        CHECK(r.status == 0);
        CHECK(r.output.find("ok\n") != std::string::npos);
        for (const char* shot : {"completion-mode", "chat-streaming", "chat-stopped",
                                 "injection-as-text", "api-key-prompt", "loading"})
            CHECK(std::filesystem::exists(artifacts + "/" + shot + ".png"));
    }
    plain_backend.reset();
    plain_engine.reset();
}
