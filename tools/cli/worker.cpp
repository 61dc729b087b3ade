// `actorlm worker --listen HOST:PORT --model M`: a model worker in its own
// process (or on another host), published through CAF's middleman. An
// `actorlm serve --worker HOST:PORT` engine connects to it, tells it which
// layers to run (pipeline stage) and sends it every step. Runs until killed.
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "command_registry.hpp"

#ifdef ACTORLM_WITH_ENGINE
#include "actors/connector_actor.hpp"
#include "actors/runtime_config.hpp"
#include "actors/worker_actor.hpp"
#endif

namespace {

#ifdef ACTORLM_WITH_ENGINE
volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }
#endif

int run_worker(const std::vector<std::string>& args) {
    CLI::App app{"Run a model worker that an `actorlm serve --worker` engine drives",
                 "actorlm worker"};
    std::string listen;
    std::string model_path;
    std::string device = "cpu";
    app.add_option("--listen", listen, "HOST:PORT to publish the worker on")->required();
    app.add_option("--model", model_path, "GGUF file or Hugging Face directory (the same model "
                                          "the engine serves)")->required();
    app.add_option("--device", device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    try {
        app.parse(reversed);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
#ifdef ACTORLM_WITH_ENGINE
    using namespace actorlm::actors;
    worker_address addr;
    std::string err;
    if (!parse_worker_address(listen, &addr, &err)) {
        std::fprintf(stderr, "actorlm worker: %s\n", err.c_str());
        return 1;
    }
    auto model = actorlm::load_model(model_path);
    if (!model) {
        std::fprintf(stderr, "actorlm worker: %s\n", model.message().c_str());
        return 1;
    }
    runtime_config cfg;
    caf::actor_system sys{cfg};
    auto shared = std::make_shared<const actorlm::loaded_model>(std::move(model.value()));
    auto worker = spawn_worker(sys, shared, device);
    auto port = sys.middleman().publish(worker, addr.port, addr.host.c_str(), true);
    if (!port) {
        std::fprintf(stderr, "actorlm worker: cannot listen on %s: %s\n", listen.c_str(),
                     sys.render(port.error()).c_str());
        caf::anon_send_exit(worker, caf::exit_reason::user_shutdown);
        return 1;
    }
    std::printf("actorlm worker: %s (%lld layers) listening on %s:%u\n",
                shared->config.name.c_str(), static_cast<long long>(shared->config.num_layers),
                addr.host.c_str(), static_cast<unsigned>(*port));
    std::fflush(stdout);
    std::signal(SIGTERM, on_signal);
    std::signal(SIGINT, on_signal);
    while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    caf::anon_send_exit(worker, caf::exit_reason::user_shutdown);
    return 0;
#else
    std::fprintf(stderr, "actorlm worker: this build has no actor runtime\n");
    return 1;
#endif
}

actorlm::cli::command_registration reg("worker", "run a model worker for a remote engine",
                                       run_worker);

}  // namespace
