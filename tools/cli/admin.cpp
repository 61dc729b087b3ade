// `actorlm admin`: a cluster operator's commands against a running `actorlm router`
// (docs/cluster.md), over its HTTP admin routes:
//   actorlm admin members --router HOST:PORT [--add ADDR [--role R] | --remove ADDR]
//   actorlm admin migrate --router HOST:PORT --engine A --to B (--request ID | --all)
// Prints the router's JSON answer; exit 0 when it agreed, 1 with its error message
// when it refused or cannot be reached, 2 for a usage error.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "base/host_port.hpp"
#include "bench/http_client.hpp"
#include "cli_values.hpp"
#include "command_registry.hpp"
#include "net/json_writer.hpp"

namespace admin_command {

struct options {
    std::string router;
    std::string api_key;
    // members
    std::string add;
    std::string role = "replica";
    std::string remove;
    // migrate
    std::string from;
    std::string to;
    std::string request_id;
    bool all = false;
};

/// Sends one admin request to the router; prints its answer.
int call(const options& o, const std::string& method, const std::string& target,
         const std::string& body) {
    auto where = actorlm::parse_host_port(o.router);
    if (!where) {
        std::fprintf(stderr, "actorlm admin: --router %s\n", where.message().c_str());
        return actorlm::cli::k_usage_error;
    }
    actorlm::net::http_client client(where->host, where->port, 120);
    std::map<std::string, std::string> headers{{"Content-Type", "application/json"}};
    if (!o.api_key.empty()) headers["Authorization"] = "Bearer " + o.api_key;
    auto r = client.request(method, target, body, headers);
    if (!r) {
        std::fprintf(stderr, "actorlm admin: cannot reach the router at %s: %s\n",
                     o.router.c_str(), r.message().c_str());
        return 1;
    }
    if (r->status != 200) {
        std::fprintf(stderr, "actorlm admin: the router refused (HTTP %d): %s\n", r->status,
                     r->body.c_str());
        return 1;
    }
    std::printf("%s\n", r->body.c_str());
    return 0;
}

int run_members(const options& o) {
    if (!o.add.empty() && !o.remove.empty()) {
        std::fprintf(stderr, "actorlm admin members: --add and --remove exclude each other\n");
        return actorlm::cli::k_usage_error;
    }
    if (!o.add.empty()) {
        actorlm::net::json_writer w;
        w.begin_object().field("address", o.add).field("role", o.role).end_object();
        return call(o, "POST", "/cluster/members", w.take());
    }
    if (!o.remove.empty()) return call(o, "DELETE", "/cluster/members/" + o.remove, {});
    return call(o, "GET", "/cluster/members", {});
}

int run_migrate(const options& o) {
    if (o.all == !o.request_id.empty()) {
        std::fprintf(stderr, "actorlm admin migrate: give --request ID or --all\n");
        return actorlm::cli::k_usage_error;
    }
    actorlm::net::json_writer w;
    w.begin_object().field("from", o.from).field("to", o.to);
    if (!o.request_id.empty()) w.field("request_id", o.request_id);
    w.end_object();
    return call(o, "POST", "/cluster/migrate", w.take());
}

actorlm::cli::command_action setup(CLI::App& app) {
    auto o = std::make_shared<options>();
    app.require_subcommand(1);
    auto common = [&](CLI::App* sub) {
        sub->add_option("--router", o->router, "HOST:PORT of the router's HTTP server")
            ->required()
            ->check(actorlm::cli::host_port_text());
        sub->add_option("--api-key", o->api_key, "the router's --api-key, if it has one");
    };
    auto* members = app.add_subcommand("members", "list, add or remove the router's members");
    common(members);
    members->add_option("--add", o->add, "HOST:PORT of an engine's --cluster-listen to add")
        ->check(actorlm::cli::host_port_text());
    members->add_option("--role", o->role, "the added member's role")
        ->check(CLI::IsMember({"replica", "prefill", "decode"}))
        ->capture_default_str();
    members->add_option("--remove", o->remove, "HOST:PORT of a member to take out")
        ->check(actorlm::cli::host_port_text());
    auto* migrate = app.add_subcommand(
        "migrate", "move running requests from one member to another (live migration)");
    common(migrate);
    migrate->add_option("--engine", o->from, "HOST:PORT of the member the requests run on")
        ->required()
        ->check(actorlm::cli::host_port_text());
    migrate->add_option("--to", o->to, "HOST:PORT of the member that continues them")
        ->required()
        ->check(actorlm::cli::host_port_text());
    migrate->add_option("--request", o->request_id, "one request id");
    migrate->add_flag("--all", o->all, "every request running on --engine (draining it)");
    return [o, members] { return members->parsed() ? run_members(*o) : run_migrate(*o); };
}

actorlm::cli::command_registration reg("admin",
                                       "cluster operations on a running router: members, "
                                       "live migration",
                                       setup);

}  // namespace admin_command
