// `actorlm serve`: loads a model into an actorlm::engine and serves the OpenAI
// API over HTTP (net/http_server). Flag names follow `vllm serve`. Blocks until
// SIGTERM/SIGINT, then drains in-flight requests and exits 0.
// Engine flags come from engine_options.hpp.
// --cluster-listen also publishes the engine as a cluster member (docs/cluster.md).
#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

#include <actorlm/engine.hpp>

#include "cli_values.hpp"
#include "command_registry.hpp"
#include "engine_options.hpp"
#include "hub_model_path.hpp"
#include "serve_http.hpp"
#include "tls_options.hpp"

namespace serve_command {

struct serve_options {
    actorlm::cli::hub_revision revision;  // of a --model ORG/NAME
    actorlm::engine_config cfg;
    std::vector<std::string> served_names;
    actorlm::cli::http_serve_options http;
};

actorlm::cli::command_action setup_serve(CLI::App& app) {
    using actorlm::cli::engine_flags;
    auto o = std::make_shared<serve_options>();
    actorlm::cli::add_engine_options(app, o->cfg,
                                     engine_flags::model | engine_flags::model_tag |
                                         engine_flags::serving | engine_flags::device |
                                         engine_flags::workers | engine_flags::threads |
                                         engine_flags::kv_layout | engine_flags::kv_memory |
                                         engine_flags::scheduler | engine_flags::kv_transfer,
                                     &o->served_names);
    actorlm::cli::add_revision_option(app, o->revision);
    actorlm::cli::add_http_serve_options(app, o->http);
    app.add_option("--cluster-listen", o->cfg.cluster_listen,
                   "HOST:PORT to publish this engine on as a cluster member (for `actorlm "
                   "router`)")
        ->check(actorlm::cli::host_port_text());
    actorlm::cli::add_tls_options(app, o->cfg.tls);
    return [o] {
        if (!actorlm::cli::resolve_hub_model_path(o->cfg, o->revision, "actorlm serve")) return 1;
        return actorlm::cli::serve_over_http("actorlm serve", o->cfg, o->served_names, o->http);
    };
}

actorlm::cli::command_registration reg("serve",
                                       "serve a model over the OpenAI API (flags as vllm serve)",
                                       setup_serve);

}  // namespace serve_command
