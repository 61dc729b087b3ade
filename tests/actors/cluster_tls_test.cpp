// Mutual TLS between nodes (actors/node_tls, docs/cluster.md "Mutual TLS"), over a
// throwaway PKI made with the `openssl` CLI: CA A signs a1, a2; CA B signs b1. A TLS
// router is served greedy-exact tokens by a TLS `actorlm serve --cluster-listen`; a
// plaintext router, a router with a certificate from CA B (even one that trusts CA A)
// and a router facing a member whose certificate it cannot verify are all refused
// with an error naming the address and TLS, well within the timeouts. A TLS `actorlm
// worker` serves a TLS engine and refuses a plaintext one; a TLS KV store accepts only
// TLS clients; bad TLS files are refused at create time and by the CLI (exit 2).
#include <doctest/doctest.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "actors/engine_runtime.hpp"
#include "actors/kv_store_actor.hpp"
#include "actors/kv_store_client.hpp"
#include "actors/node_tls.hpp"
#include "actors/runtime_config.hpp"
#include "engine_fixture.hpp"
#include "support/temp_dir.hpp"
#include "support/throwaway_pki.hpp"
#include "worker_process.hpp"

using namespace actorlm;
using namespace actorlm::test;
namespace fs = std::filesystem;

namespace {

/// The shared throwaway PKI (support/throwaway_pki.hpp) as node identities.
struct test_pki {
    const throwaway_pki& files = make_throwaway_pki();
    const std::filesystem::path& dir = files.dir;
    const bool ok = files.ok;
    const std::string& error = files.error;

    tls_config node(const std::string& name, const std::string& ca) const {
        return {files.cert(name), files.key(name), files.cert(ca)};
    }
    /// `cfg` as the CLI's --tls-cert/--tls-key/--tls-ca arguments.
    static std::vector<std::string> args(const tls_config& cfg) {
        return {"--tls-cert", cfg.cert_file, "--tls-key", cfg.key_file, "--tls-ca", cfg.ca_file};
    }
};

const test_pki& pki() {
    static const test_pki p;
    return p;
}

#define REQUIRE_PKI()                                                        \
    do {                                                                     \
        if (!pki().ok) {                                                     \
            MESSAGE("skipped: " << pki().error);                             \
            return;                                                          \
        }                                                                    \
    } while (0)

engine_config router_to(const std::string& member, const tls_config& tls) {
    engine_config cfg;
    cfg.model_path = shared_path("models/stories260K.gguf");
    cfg.cluster_members = {member};
    cfg.tls = tls;
    return cfg;
}

/// engine::create's error, and that it came back within `limit` (no hang).
std::string create_error(const engine_config& cfg, std::chrono::seconds limit) {
    const auto t0 = std::chrono::steady_clock::now();
    std::string err;
    auto eng = engine::create(cfg, &err);
    CHECK(std::chrono::steady_clock::now() - t0 < limit);
    CHECK_MESSAGE(!eng, "created, but should have been refused");
    return err;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("cluster tls: a TLS router gets greedy tokens from a TLS member, others are refused") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    REQUIRE_PKI();
    auto member = worker_process::cluster_member(shared_path("models/stories260K.gguf"),
                                                 test_port(6));
    member->add_args(test_pki::args(pki().node("a1", "caA")));
    REQUIRE(member->start());

    // Mutual TLS, both certificates from CA A: greedy-exact through the member.
    {
        auto router = start_engine(router_to(member->address(), pki().node("a2", "caA")));
        for (const auto& g : load_stories_golden()) {
            auto s = router->generate(greedy_request(g));
            collected c = collect(s);
            CHECK(c.finish[0] != finish_reason::error);
            CHECK(c.tokens[0] == g.greedy_ids);
        }
    }
    // A plaintext router: the member only speaks TLS.
    std::string err = create_error(router_to(member->address(), {}), std::chrono::seconds(8));
    CHECK_MESSAGE(contains(err, member->address()), err);
    CHECK_MESSAGE(contains(err, "TLS"), err);
    // A router whose certificate comes from CA B, although it trusts the member's CA:
    // the accepting side verifies the client certificate.
    err = create_error(router_to(member->address(), pki().node("b1", "caAB")),
                       std::chrono::seconds(8));
    CHECK_MESSAGE(contains(err, member->address()), err);
    CHECK_MESSAGE(contains(err, "TLS"), err);
    // The member still serves a good router afterwards.
    auto again = start_engine(router_to(member->address(), pki().node("a2", "caA")));
    const auto g = load_stories_golden()[0];
    auto s = again->generate(greedy_request(g));
    CHECK(collect(s).tokens[0] == g.greedy_ids);
}

TEST_CASE("cluster tls: the connecting side verifies the member's certificate") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    REQUIRE_PKI();
    // A member with a CA B certificate that would accept a CA A client (it trusts both).
    engine_config cfg = stories_config();
    cfg.num_threads = 1;
    cfg.cluster_listen = "127.0.0.1:" + std::to_string(test_port(7));
    cfg.tls = pki().node("b1", "caAB");
    std::string err;
    auto member = actors::engine_runtime::create(cfg, &err);
    REQUIRE_MESSAGE(member, err);
    // A router trusting only CA A refuses it.
    const std::string address = cfg.cluster_listen;
    err = create_error(router_to(address, pki().node("a2", "caA")), std::chrono::seconds(8));
    CHECK_MESSAGE(contains(err, address), err);
    CHECK_MESSAGE(contains(err, "TLS"), err);
    // ... while a router trusting CA B is served (the refusal was the certificate).
    auto ok = start_engine(router_to(address, pki().node("a2", "caAB")));
    const auto g = load_stories_golden()[1];
    auto s = ok->generate(greedy_request(g));
    CHECK(collect(s).tokens[0] == g.greedy_ids);
}

TEST_CASE("cluster tls: a TLS `actorlm worker` serves a TLS engine and refuses a plaintext one") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    REQUIRE_PKI();
    worker_process w(shared_path("models/stories260K.gguf"), test_port(6));
    w.add_args(test_pki::args(pki().node("a1", "caA")));
    REQUIRE(w.start());

    engine_config cfg = stories_config();
    cfg.workers = {w.address()};
    std::string err = create_error(cfg, std::chrono::seconds(8));
    CHECK_MESSAGE(contains(err, "cannot reach worker " + w.address()), err);
    CHECK_MESSAGE(contains(err, "TLS"), err);

    cfg.tls = pki().node("a2", "caA");
    auto eng = start_engine(cfg);
    for (const auto& g : load_stories_golden()) {
        auto s = eng->generate(greedy_request(g));
        CHECK(collect(s).tokens[0] == g.greedy_ids);
    }
}

TEST_CASE("cluster tls: a TLS KV store connects TLS clients only, engines pass their TLS on") {
    REQUIRE_PKI();
    actors::runtime_config cfg;
    REQUIRE(actors::configure_node_tls(cfg, pki().node("a1", "caA")).empty());
    caf::actor_system sys{cfg};
    CHECK(actors::node_uses_tls(sys));
    auto store = actors::spawn_kv_store(sys, {});
    REQUIRE(store);
    auto port = actors::publish_node(*store, "127.0.0.1", test_port(7));
    REQUIRE(port);

    actors::kv_store_client_options o;
    o.host = "127.0.0.1";
    o.port = *port;
    o.layer_bytes = 64;
    o.num_layers = 2;
    o.timeout = std::chrono::milliseconds(1000);
    {
        o.tls = pki().node("a2", "caA");
        actors::kv_store_client client(o);
        CHECK(client.wait_connected(std::chrono::seconds(5)));
    }
    {
        o.tls = {};
        actors::kv_store_client plaintext(o);
        CHECK_FALSE(plaintext.wait_connected(std::chrono::seconds(3)));
    }
    {
        o.tls = pki().node("b1", "caAB");
        actors::kv_store_client wrong_ca(o);
        CHECK_FALSE(wrong_ca.wait_connected(std::chrono::seconds(3)));
    }
    // An engine's TLS reaches its KVStoreConnector (chained ones too) unless it names its own.
    kv::kv_transfer_config multi;
    multi.kv_connector = "MultiConnector";
    multi.connectors.resize(2);
    multi.connectors[0].kv_connector = "KVStoreConnector";
    multi.connectors[1].kv_connector = "KVStoreConnector";
    multi.connectors[1].extra = {{"tls_cert", "own.pem"}, {"tls_key", "own.key"},
                                 {"tls_ca", "own-ca.pem"}};
    const tls_config engine_tls = pki().node("a2", "caA");
    actors::inherit_kv_store_tls(multi, engine_tls);
    CHECK(multi.connectors[0].extra["tls_cert"] == engine_tls.cert_file);
    CHECK(multi.connectors[0].extra["tls_ca"] == engine_tls.ca_file);
    CHECK(multi.connectors[1].extra["tls_cert"] == "own.pem");
    CHECK(multi.extra.empty());
    caf::anon_send_exit(*store, caf::exit_reason::user_shutdown);
}

TEST_CASE("cluster tls: bad TLS settings name the problem") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    REQUIRE_PKI();
    const tls_config a1 = pki().node("a1", "caA");
    auto refused = [](tls_config tls) {
        engine_config cfg = stories_config();
        cfg.cluster_listen = "127.0.0.1:" + std::to_string(test_port(6));
        cfg.tls = std::move(tls);
        std::string err;
        auto eng = engine::create(cfg, &err);
        CHECK_MESSAGE(!eng, "created with bad TLS settings");
        return err;
    };
    // Each error is computed before the check: a message argument that asserts itself
    // would re-enter doctest's reporter.
    auto check_refused = [&](const tls_config& tls, const std::string& part) {
        const std::string err = refused(tls);
        CHECK_MESSAGE(contains(err, part), err);
    };
    tls_config t = a1;
    t.ca_file.clear();
    check_refused(t, "TLS: no CA certificate file given");
    t = a1;
    t.key_file = (pki().dir / "missing.key").string();
    check_refused(t, "TLS: cannot read the private key file " + t.key_file);
    t = a1;
    t.key_file = pki().node("a2", "caA").key_file;
    check_refused(t, "does not belong to the certificate");
    check_refused(pki().node("b1", "caA"), "does not verify against the CA");
    t = a1;
    t.cert_file = a1.ca_file + ".missing";
    check_refused(t, "TLS: cannot read the certificate file");

    // The CLI: one of the three alone, and an unreadable file, are usage errors (exit 2).
    auto cli = [](const std::string& args, int* rc) {
        std::string cmd = std::string(ACTORLM_BINARY_DIR) + "/actorlm " + args + " 2>&1";
        std::string out;
        FILE* p = popen(cmd.c_str(), "r");
        char buf[512];
        while (p && std::fgets(buf, sizeof(buf), p)) out += buf;
        const int status = p ? pclose(p) : -1;
        *rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        return out;
    };
    const std::string model = shared_path("models/stories260K.gguf");
    const std::string listen = " --listen 127.0.0.1:" + std::to_string(test_port(7));
    int rc = 0;
    std::string out = cli("worker" + listen + " --model " + model + " --tls-cert " + a1.cert_file +
                              " --tls-ca " + a1.ca_file,
                          &rc);
    CHECK(rc == 2);
    CHECK_MESSAGE(contains(out, "--tls-cert requires --tls-key"), out);
    out = cli("kv-store" + listen + " --tls-cert " + a1.cert_file + " --tls-key /nonexistent.key" +
                  " --tls-ca " + a1.ca_file,
              &rc);
    CHECK(rc == 2);
    CHECK_MESSAGE(contains(out, "--tls-key: cannot read /nonexistent.key"), out);
    out = cli("router --model " + model + " --engine 127.0.0.1:1 --tls-cert " + a1.cert_file +
                  " --tls-key " + pki().node("a2", "caA").key_file + " --tls-ca " + a1.ca_file,
              &rc);
    CHECK(rc == 2);
    CHECK_MESSAGE(contains(out, "does not belong to the certificate"), out);
}
