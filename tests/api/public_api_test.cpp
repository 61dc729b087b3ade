// Uses actorlm only through include/actorlm/engine.hpp, as an embedder would:
// this file must compile without CAF, CUDA or engine/ headers.
#include <actorlm/engine.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>

TEST_CASE("public API: generate with a callback and with a stream, then abort and stats") {
    const std::string model = std::string(ACTORLM_SHARED_DIR) + "/models/stories260K.gguf";
    if (!std::filesystem::exists(model)) {
        MESSAGE("skipped: " << model << " is absent (the ../shared data folder is not here)");
        return;
    }
    actorlm::engine_config cfg;
    cfg.model_path = model;
    cfg.num_threads = 2;
    cfg.kv_cache_memory_bytes = 8 << 20;
    std::string err;
    auto eng = actorlm::engine::create(cfg, &err);
    REQUIRE_MESSAGE(eng, err);
    CHECK(eng->info().max_model_len >= 512);  // the GGUF's context_length
    CHECK(eng->info().vocab_size == 512);
    CHECK(eng->info().name == "stories260K");  // the file stem, as clients see it in /v1/models

    // Callback style: the last delta has finished() set.
    std::mutex mu;
    std::condition_variable cv;
    std::string text;
    bool done = false;
    actorlm::generate_request req;
    req.prompt = "Once upon a time";
    req.params.temperature = 0.0f;
    req.params.max_tokens = 24;
    std::string id = eng->generate(req, [&](const actorlm::output_delta& d) {
        std::lock_guard<std::mutex> lock(mu);
        text += d.text;
        if (d.finished()) {
            done = true;
            cv.notify_all();
        }
    });
    CHECK(!id.empty());
    {
        std::unique_lock<std::mutex> lock(mu);
        REQUIRE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return done; }));
    }
    CHECK(!text.empty());

    // Stream style gives the same greedy text.
    auto stream = eng->generate(req);
    std::string streamed;
    actorlm::output_delta d;
    while (stream.next(d)) streamed += d.text;
    CHECK(streamed == text);

    std::vector<int32_t> ids;
    CHECK(eng->tokenize("Once upon a time", true, &ids, &err));
    CHECK(ids.front() == 1);  // BOS
    std::string back;
    CHECK(eng->detokenize(ids, &back, &err));
    CHECK(back.find("Once upon a time") != std::string::npos);
    CHECK_FALSE(eng->detokenize({70000}, &back, &err));
    CHECK(err.find("70000") != std::string::npos);

    actorlm::engine_stats s = eng->stats();
    CHECK(s.healthy);
    CHECK(s.prompt_tokens_total > 0);
}
