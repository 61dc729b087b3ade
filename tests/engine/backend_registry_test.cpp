// The backend registry and the CPU backend's KV-cache planning: devices are found
// by name (unknown ones refused naming the available), and the KV cache is sized
// from a byte budget and capped at what the scheduler can use.
#include <doctest/doctest.h>

#include <algorithm>

#include "backends/backend.hpp"
#include "support/reference_model.hpp"

using namespace actorlm;
using namespace actorlm::test;

TEST_CASE("backend registry: unknown devices are refused with the available ones named") {
    auto tpu = find_backend("tpu");
    REQUIRE_FALSE(tpu.ok());
    CHECK(tpu.message().find("'tpu'") != std::string::npos);
    CHECK(tpu.message().find("cpu") != std::string::npos);
    auto names = backend_names();
    CHECK(std::find(names.begin(), names.end(), "cpu") != names.end());
}

TEST_CASE("cpu backend: sizes the KV cache from the budget, capped at max_num_blocks") {
    loaded_model m;
    m.config = tiny_config(model_arch::llama);
    m.weights = random_weights(m.config, 7);
    executor_request req;
    req.kv_cache_dtype = "f32";
    req.block_size = 16;
    const int64_t block_bytes =
        2 * m.config.num_layers * m.config.num_kv_heads * m.config.head_dim * 4 * 16;
    req.kv_cache_memory_bytes = 10 * block_bytes + block_bytes / 2;
    auto ex = actorlm::make_executor(m, req);
    REQUIRE_MESSAGE(ex.ok(), (ex.ok() ? "" : ex.message()));
    CHECK((*ex)->kv_spec().num_blocks == 10);
    req.max_num_blocks = 4;
    ex = actorlm::make_executor(m, req);
    REQUIRE(ex.ok());
    CHECK((*ex)->kv_spec().num_blocks == 4);
    req.kv_cache_memory_bytes = block_bytes - 1;
    ex = actorlm::make_executor(m, req);
    REQUIRE_FALSE(ex.ok());
    CHECK(ex.message().find("holds no block") != std::string::npos);
}
