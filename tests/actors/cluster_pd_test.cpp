// Prefill/decode disaggregation (docs/cluster.md): engines with --kv-transfer-config
// PeerConnector, each with its own actor system, so KV blocks cross CAF's middleman on
// loopback. A producer keeps a finished prompt's blocks and says where to pull them; a
// consumer pulls them and its tokens equal one engine's (greedy and seeded); the
// producer frees them once released or after keep_timeout_ms; a consumer whose
// producer is gone or holds another prompt recomputes instead; a router with
// --prefill/--decode does all of it per request.
#include <doctest/doctest.h>

#include <signal.h>

#include <chrono>
#include <thread>

#include "actors/engine_runtime.hpp"
#include "engine_fixture.hpp"
#include "netns_host.hpp"
#include "worker_process.hpp"

using namespace actorlm;
using namespace actorlm::test;

// Named, not anonymous: unity builds put this file beside other tests.
namespace pd_test {

constexpr int32_t k_block_size = 16;

const char* k_producer = R"({"kv_connector":"PeerConnector","kv_role":"kv_producer",
    "kv_connector_extra_config":{"keep_timeout_ms":"%d","chunk_bytes":"%s"}})";
const char* k_consumer = R"({"kv_connector":"PeerConnector","kv_role":"kv_consumer",
    "kv_connector_extra_config":{"chunk_bytes":"%s","pull_timeout_ms":"2000"}})";

std::string format(const char* fmt, auto... args) {
    char buf[512];
    std::snprintf(buf, sizeof buf, fmt, args...);
    return buf;
}

engine_config member_config(int slot, std::string kv_transfer) {
    engine_config cfg = stories_config();
    cfg.num_threads = 1;
    cfg.block_size = k_block_size;
    cfg.cluster_listen = "127.0.0.1:" + std::to_string(test_port(slot));
    cfg.kv_transfer_config = std::move(kv_transfer);
    return cfg;
}

/// A producer on test port `slot`; small chunks make a pull take several requests.
std::unique_ptr<engine> start_producer(int slot, int keep_ms = 60000) {
    return start_engine(member_config(slot, format(k_producer, keep_ms, "4KiB")));
}

std::unique_ptr<engine> start_consumer(int slot) {
    return start_engine(member_config(slot, format(k_consumer, "4KiB")));
}

std::string address(int slot) { return "127.0.0.1:" + std::to_string(test_port(slot)); }

/// A prompt of `n` tokens (several blocks) made of the golden prompts' tokens.
std::vector<int32_t> long_prompt(int32_t n, int32_t shift = 0) {
    std::vector<int32_t> ids;
    const auto cases = load_stories_golden();
    for (size_t i = 0; static_cast<int32_t>(ids.size()) < n; ++i) {
        const auto& p = cases[i % cases.size()].prompt_ids;
        for (int32_t t : p)
            if (static_cast<int32_t>(ids.size()) < n) ids.push_back((t + shift) % 512);
    }
    return ids;
}

generate_request request_for(std::vector<int32_t> prompt, int32_t max_tokens) {
    generate_request r;
    r.prompt_token_ids = std::move(prompt);
    r.params.temperature = 0.0f;
    r.params.max_tokens = max_tokens;
    r.params.ignore_eos = true;
    return r;
}

/// Runs `r` to its end; the final delta's kv_transfer too.
struct finished_run {
    std::vector<int32_t> tokens;
    finish_reason finish = finish_reason::none;
    std::string error;
    std::optional<kv_transfer_params> kv_transfer;
};

finished_run run(engine& e, const generate_request& r) {
    finished_run out;
    auto s = e.generate(r);
    output_delta d;
    while (s.next(d)) {
        out.tokens.insert(out.tokens.end(), d.token_ids.begin(), d.token_ids.end());
        if (d.finished()) {
            out.finish = d.finish;
            out.error = d.error;
            out.kv_transfer = d.kv_transfer;
        }
    }
    return out;
}

/// The prefill leg: the prompt computed and its KV kept for a consumer.
kv_transfer_params prefill_on(engine& producer, const generate_request& r) {
    generate_request p = r;
    p.params.max_tokens = 1;
    p.params.kv_transfer = kv_transfer_params{};
    p.params.kv_transfer->do_remote_decode = true;
    finished_run f = run(producer, p);
    REQUIRE(f.finish == finish_reason::length);
    REQUIRE(f.kv_transfer);
    return *f.kv_transfer;
}

}  // namespace pd_test

using namespace pd_test;

TEST_CASE("cluster: a consumer pulls a producer's prompt KV and decodes one engine's tokens") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    auto producer = start_producer(0);
    auto consumer = start_consumer(1);
    engine_config plain = stories_config();
    plain.block_size = k_block_size;
    auto local = start_engine(plain);

    const generate_request r = request_for(long_prompt(90), 12);
    const std::vector<int32_t> expected = run(*local, r).tokens;
    REQUIRE(expected.size() == 12);

    const kv_transfer_params kt = prefill_on(*producer, r);
    CHECK(kt.do_remote_prefill);
    CHECK_FALSE(kt.do_remote_decode);
    CHECK(kt.remote_port == test_port(0));
    CHECK(kt.remote_block_ids.size() == 90 / k_block_size);
    // The producer holds the blocks for the consumer (delayed free).
    CHECK(producer->stats().kv_cache_usage > 0.0);

    generate_request d = r;
    d.params.kv_transfer = kt;
    const finished_run got = run(*consumer, d);
    CHECK(got.finish == finish_reason::length);
    CHECK(got.tokens == expected);
    // Every full block up to the one before the last prompt token came over the wire.
    const engine_stats cs = consumer->stats();
    CHECK(cs.kv_connector_blocks_loaded_total == 89 / k_block_size);
    CHECK(cs.kv_connector_load_errors_total == 0);
    CHECK(cs.prompt_tokens_total == 90);
    // Released: the producer's blocks go back to its pool (kept only as prefix cache).
    CHECK(eventually([&] { return producer->stats().kv_cache_usage == 0.0; }));
    CHECK(producer->stats().kv_connector_blocks_saved_total == 89 / k_block_size);
}

TEST_CASE("cluster: a disaggregated router gives one engine's greedy and seeded tokens") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    auto producer = start_producer(2);
    auto consumer = start_consumer(3);
    engine_config rc;
    rc.model_path = shared_path("models/stories260K.gguf");
    rc.block_size = k_block_size;
    rc.prefill_members = {address(2)};
    rc.decode_members = {address(3)};
    auto router = start_engine(rc);
    engine_config plain = stories_config();
    plain.block_size = k_block_size;
    auto local = start_engine(plain);

    std::vector<generate_request> reqs;
    for (int32_t i = 0; i < 4; ++i) reqs.push_back(request_for(long_prompt(40 + 20 * i, i), 10));
    generate_request seeded = request_for(long_prompt(70, 7), 10);
    seeded.params.temperature = 0.9f;
    seeded.params.seed = 1234;
    reqs.push_back(seeded);
    std::vector<request_stream> streams;
    for (const auto& r : reqs) streams.push_back(router->generate(r));
    for (size_t i = 0; i < reqs.size(); ++i) {
        collected c = collect(streams[i]);
        CAPTURE(i);
        CHECK(c.finish[0] == finish_reason::length);
        CHECK(c.tokens[0] == run(*local, reqs[i]).tokens);
    }
    // The prompts were prefilled once, on the producer, and their KV pulled.
    const engine_stats ps = producer->stats();
    const engine_stats cs = consumer->stats();
    CHECK(ps.generation_tokens_total == 5);  // the prefill legs' one token each
    CHECK(cs.kv_connector_blocks_loaded_total > 0);
    CHECK(cs.kv_connector_load_errors_total == 0);
    CHECK(eventually([&] { return producer->stats().kv_cache_usage == 0.0; }));

    // With a P/D threshold only the long prompt is prefilled on the producer.
    router.reset();
    rc.pd_prompt_threshold = 60;
    router = start_engine(rc);
    const generate_request short_one = request_for(long_prompt(40, 11), 6);
    const generate_request long_one = request_for(long_prompt(100, 11), 6);
    auto s1 = router->generate(short_one);
    auto s2 = router->generate(long_one);
    CHECK(collect(s1).tokens[0] == run(*local, short_one).tokens);
    CHECK(collect(s2).tokens[0] == run(*local, long_one).tokens);
    CHECK(producer->stats().generation_tokens_total == 6);
    CHECK(producer->stats().prompt_tokens_total == ps.prompt_tokens_total + 100);
}

TEST_CASE("cluster: KV kept for a consumer that never comes is freed after keep_timeout_ms") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    auto producer = start_producer(4, 300);
    const kv_transfer_params kt = prefill_on(*producer, request_for(long_prompt(64), 4));
    CHECK(kt.remote_block_ids.size() == 4);
    CHECK(producer->stats().kv_cache_usage > 0.0);
    CHECK(eventually([&] { return producer->stats().kv_cache_usage == 0.0; }));
    CHECK(producer->stats().kv_connector_saves_skipped_total == 1);
}

TEST_CASE("cluster: a consumer whose producer is gone or holds another prompt recomputes") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    auto producer = start_producer(5);
    auto consumer = start_consumer(6);
    engine_config plain = stories_config();
    plain.block_size = k_block_size;
    auto local = start_engine(plain);

    const generate_request r = request_for(long_prompt(80), 8);
    const std::vector<int32_t> expected = run(*local, r).tokens;

    SUBCASE("nothing listens where the KV should be") {
        generate_request d = r;
        d.params.kv_transfer = kv_transfer_params{};
        d.params.kv_transfer->do_remote_prefill = true;
        d.params.kv_transfer->remote_host = "127.0.0.1";
        d.params.kv_transfer->remote_port = test_port(7);
        d.params.kv_transfer->remote_request_id = "gone";
        d.params.kv_transfer->remote_block_ids = {1, 2, 3, 4, 5};
        const finished_run got = run(*consumer, d);
        CHECK(got.tokens == expected);
        CHECK(consumer->stats().kv_connector_load_errors_total == 4);
    }
    SUBCASE("the producer kept the KV of another prompt") {
        const kv_transfer_params other = prefill_on(*producer, request_for(long_prompt(80, 3), 8));
        generate_request d = r;
        d.params.kv_transfer = other;
        const finished_run got = run(*consumer, d);
        CHECK(got.tokens == expected);  // no block of the other prompt was used
        CHECK(consumer->stats().kv_connector_blocks_loaded_total == 0);
        // The consumer still released the offer.
        CHECK(eventually([&] { return producer->stats().kv_cache_usage == 0.0; }));
    }
}

TEST_CASE("cluster: a producer process that freezes or dies after its prefill: the consumer "
          "recomputes") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    const std::string model = shared_path("models/stories260K.gguf");
    auto producer = worker_process::cluster_member(model, test_port(0));
    producer->add_args({"--block-size", std::to_string(k_block_size), "--kv-transfer-config",
                        format(k_producer, 60000, "4KiB")});
    REQUIRE(producer->start());
    engine_config cc = member_config(1, R"({"kv_connector":"PeerConnector",
        "kv_role":"kv_consumer","kv_connector_extra_config":{"pull_timeout_ms":"500"}})");
    auto consumer = start_engine(cc);
    engine_config plain = stories_config();
    plain.block_size = k_block_size;
    auto local = start_engine(plain);
    // The producer's prefill legs go through a one-member router, as in a cluster.
    engine_config rc;
    rc.model_path = model;
    rc.block_size = k_block_size;
    rc.cluster_members = {address(0)};
    auto to_producer = start_engine(rc);

    const generate_request a = request_for(long_prompt(96, 1), 6);
    const generate_request b = request_for(long_prompt(96, 2), 6);
    kv_transfer_params ka = prefill_on(*to_producer, a);
    kv_transfer_params kb = prefill_on(*to_producer, b);
    REQUIRE(ka.remote_block_ids.size() == 6);
    ka.remote_host = kb.remote_host = "127.0.0.1";

    producer->signal(SIGSTOP);  // frozen: every pull request times out
    generate_request da = a;
    da.params.kv_transfer = ka;
    CHECK(run(*consumer, da).tokens == run(*local, a).tokens);
    CHECK(consumer->stats().kv_connector_load_errors_total == 5);

    producer->kill_now();  // gone: the connection fails or is lost
    generate_request db = b;
    db.params.kv_transfer = kb;
    const finished_run got = run(*consumer, db);
    CHECK(got.finish == finish_reason::length);
    CHECK(got.tokens == run(*local, b).tokens);
    CHECK(consumer->stats().kv_connector_load_errors_total == 10);
    CHECK(eventually([&] { return consumer->stats().kv_cache_usage == 0.0; }));
}

TEST_CASE("cluster: disaggregation across hosts (a network namespace), a cut link is routed "
          "around") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    if (!netns_host::usable()) {
        MESSAGE("skipped: creating network namespaces needs root and iproute2");
        return;
    }
    netns_host host;
    if (!host.ok) {
        MESSAGE("skipped: this machine does not allow creating a network namespace + veth pair");
        return;
    }
    const std::string model = shared_path("models/stories260K.gguf");
    // The producer on the other host, behind the veth link.
    auto producer = worker_process::cluster_member(model, test_port(0), host.ns_ip, host.ns);
    producer->add_args({"--block-size", std::to_string(k_block_size), "--kv-transfer-config",
                        format(k_producer, 60000, "4KiB")});
    REQUIRE(producer->start());
    auto consumer = start_consumer(1);
    engine_config rc;
    rc.model_path = model;
    rc.block_size = k_block_size;
    rc.prefill_members = {producer->address()};
    rc.decode_members = {address(1)};
    auto router = start_engine(rc);
    engine_config plain = stories_config();
    plain.block_size = k_block_size;
    auto local = start_engine(plain);

    const generate_request a = request_for(long_prompt(96, 4), 8);
    auto sa = router->generate(a);
    CHECK(collect(sa).tokens[0] == run(*local, a).tokens);
    CHECK(consumer->stats().kv_connector_blocks_loaded_total == 5);  // over the veth link

    // A partition: the router's heartbeat finds the producer gone, and the request
    // caught in its prefill leg is decoded (and prefilled) by the consumer instead.
    host.set_link(false);
    const generate_request b = request_for(long_prompt(96, 5), 8);
    auto sb = router->generate(b);
    const collected cb = collect(sb);
    CHECK(cb.finish[0] == finish_reason::length);
    CHECK(cb.tokens[0] == run(*local, b).tokens);
    CHECK(consumer->stats().prompt_tokens_total == 192);
}

TEST_CASE("cluster: disaggregation configs name the problem") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    std::string err;
    engine_config no_listen = member_config(0, format(k_producer, 1000, "4KiB"));
    no_listen.cluster_listen.clear();
    CHECK(engine::create(no_listen, &err) == nullptr);
    CHECK(err.find("--cluster-listen") != std::string::npos);

    engine_config bad_key = member_config(0, R"({"kv_connector":"PeerConnector",
        "kv_role":"kv_consumer","kv_connector_extra_config":{"chunk_bytes":"-1"}})");
    CHECK(engine::create(bad_key, &err) == nullptr);
    CHECK(err.find("chunk_bytes") != std::string::npos);

    engine_config half;
    half.model_path = shared_path("models/stories260K.gguf");
    half.prefill_members = {address(1)};
    CHECK(engine::create(half, &err) == nullptr);
    CHECK(err.find("--decode") != std::string::npos);

    generate_request both = request_for({1, 2, 3}, 2);
    both.params.kv_transfer = kv_transfer_params{};
    both.params.kv_transfer->do_remote_decode = true;
    both.params.kv_transfer->do_remote_prefill = true;
    auto e = check_sampling_params(both.params);
    REQUIRE(e);
    CHECK(e->field == "kv_transfer_params");
}
