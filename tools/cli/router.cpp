// `actorlm router`: serves the OpenAI API (streaming included) in front of engines
// published with `actorlm serve --cluster-listen`, sending each request to one of
// them by the routing policy, or, with --prefill/--decode, prefilling it on one and
// decoding it on another (docs/cluster.md). It runs no model: --model gives the
// tokenizer and chat template, the same file the engines serve; --block-size and
// --kv-cache-dtype must be the engines' for prefix_aware to find their cached blocks.
#include <CLI/CLI.hpp>

#include <cstdio>
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

namespace router_command {

struct router_options {
    actorlm::cli::hub_revision revision;  // of a --model ORG/NAME
    actorlm::engine_config cfg;
    std::vector<std::string> served_names;
    actorlm::cli::http_serve_options http;
};

actorlm::cli::command_action setup_router(CLI::App& app) {
    auto o = std::make_shared<router_options>();
    // The engines' model (its tokenizer and chat template), their served name(s) and
    // their KV layout, which the prefix-aware policy needs to hash prompts as they do.
    using actorlm::cli::engine_flags;
    actorlm::cli::add_engine_options(
        app, o->cfg, engine_flags::model | engine_flags::serving | engine_flags::kv_layout,
        &o->served_names);
    actorlm::cli::add_revision_option(app, o->revision);
    app.add_option("--engine", o->cfg.cluster_members,
                   "HOST:PORT of a replica engine's --cluster-listen (repeat for each)")
        ->check(actorlm::cli::host_port_text());
    // Disaggregated prefill/decode: both sets run --kv-transfer-config PeerConnector.
    app.add_option("--prefill", o->cfg.prefill_members,
                   "HOST:PORT of a prefill engine (kv_producer), instead of --engine")
        ->check(actorlm::cli::host_port_text());
    app.add_option("--decode", o->cfg.decode_members,
                   "HOST:PORT of a decode engine (kv_consumer), with --prefill")
        ->check(actorlm::cli::host_port_text());
    app.add_option("--rebalance-threshold", o->cfg.rebalance_threshold,
                   "migrate a request when a member runs more than this many beyond another "
                   "(0: never)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    app.add_option("--pd-prompt-threshold", o->cfg.pd_prompt_threshold,
                   "prompts shorter than this many tokens skip the prefill engine")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    app.add_option("--routing-policy", o->cfg.routing_policy, "which engine gets a request")
        ->check(CLI::IsMember({"round_robin", "least_loaded", "prefix_aware"}))
        ->capture_default_str();
    actorlm::cli::add_http_serve_options(app, o->http);
    actorlm::cli::add_tls_options(app, o->cfg.tls);
    return [o] {
        // Checked here, not by CLI11, so each wrong combination gets its own message.
        const bool pd = !o->cfg.prefill_members.empty() || !o->cfg.decode_members.empty();
        if (o->cfg.cluster_members.empty() && !pd) {
            std::fprintf(stderr,
                         "actorlm router: give replica engines (--engine) or a disaggregated "
                         "cluster (--prefill and --decode)\n");
            return actorlm::cli::k_usage_error;
        }
        if (!actorlm::cli::resolve_hub_model_path(o->cfg, o->revision, "actorlm router")) return 1;
        return actorlm::cli::serve_over_http("actorlm router", o->cfg, o->served_names, o->http);
    };
}

actorlm::cli::command_registration reg("router",
                                       "route OpenAI API requests over engines in a cluster",
                                       setup_router);

}  // namespace router_command
