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

#include "cli_values.hpp"
#include "command_registry.hpp"
#include "engine_options.hpp"
#include "hub_model_path.hpp"
#include "tls_options.hpp"

#include "actors/connector_actor.hpp"
#include "actors/node_tls.hpp"
#include "actors/runtime_config.hpp"
#include "actors/worker_actor.hpp"
#include "plugins/plugin_loader.hpp"

namespace worker_command {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

struct worker_options {
    actorlm::cli::hub_revision revision;  // of a --model ORG/NAME
    std::string listen;
    actorlm::engine_config cfg;
};

int run_worker(const worker_options& o) {
    const std::string& listen = o.listen;
    const std::string& model_path = o.cfg.model_path;
    const std::string& device = o.cfg.device;
    using namespace actorlm::actors;
    auto addr = actorlm::parse_host_port(listen);  // checked while parsing
    if (!addr) {
        std::fprintf(stderr, "actorlm worker: --listen %s\n", addr.message().c_str());
        return 2;
    }
    // The worker runs the model runner, hence the plugins' logits processors and architectures
    // (--plugin is loaded while parsing; ACTORLM_PLUGINS here, as make_engine_plan does).
    if (auto loaded = actorlm::plugins::load_plugins(o.cfg.plugins); !loaded) {
        std::fprintf(stderr, "actorlm worker: %s\n", loaded.message().c_str());
        return 1;
    }
    auto model = actorlm::load_model(model_path);
    if (!model) {
        std::fprintf(stderr, "actorlm worker: %s\n", model.message().c_str());
        return 1;
    }
    runtime_config cfg;
    if (auto err = configure_node_tls(cfg, o.cfg.tls); !err.empty()) {
        std::fprintf(stderr, "actorlm worker: %s\n", err.c_str());
        return 2;
    }
    caf::actor_system sys{cfg};
    auto shared = std::make_shared<const actorlm::loaded_model>(std::move(model.value()));
    auto worker = spawn_worker(sys, shared, device);
    auto port = publish_node(worker, addr->host, addr->port);
    if (!port) {
        std::fprintf(stderr, "actorlm worker: cannot listen on %s: %s\n", listen.c_str(),
                     sys.render(port.error()).c_str());
        caf::anon_send_exit(worker, caf::exit_reason::user_shutdown);
        return 1;
    }
    std::printf("actorlm worker: %s (%lld layers) listening on %s:%u%s\n",
                shared->config.name.c_str(), static_cast<long long>(shared->config.num_layers),
                addr->host.c_str(), static_cast<unsigned>(*port),
                node_uses_tls(sys) ? " (mutual TLS)" : "");
    std::fflush(stdout);
    std::signal(SIGTERM, on_signal);
    std::signal(SIGINT, on_signal);
    while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    caf::anon_send_exit(worker, caf::exit_reason::user_shutdown);
    return 0;
}

actorlm::cli::command_action setup_worker(CLI::App& app) {
    using actorlm::cli::engine_flags;
    auto o = std::make_shared<worker_options>();
    app.add_option("--listen", o->listen, "HOST:PORT to publish the worker on")
        ->required()
        ->type_name("HOST:PORT")
        ->check(actorlm::cli::host_port_text());
    // The same model the engine serves; the engine tells the worker its layers.
    actorlm::cli::add_engine_options(app, o->cfg, engine_flags::model | engine_flags::device);
    actorlm::cli::add_revision_option(app, o->revision);
    actorlm::cli::add_tls_options(app, o->cfg.tls);
    return [o] {
        if (!actorlm::cli::resolve_hub_model_path(o->cfg, o->revision, "actorlm worker")) return 1;
        return run_worker(*o);
    };
}

actorlm::cli::command_registration reg("worker", "run a model worker for a remote engine",
                                       setup_worker);

}  // namespace worker_command
