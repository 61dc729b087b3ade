// KV connectors on the CUDA backend: the executor's block access (cuda_kv_blocks)
// round-trips bytes in the K-then-V layout without touching other blocks, and
// stories260K on the offline engine in FP32 with a device pool of 12 blocks, through
// the OffloadingConnector's host-memory tier and memory + disk (offload -> evict ->
// reload), gives greedy tokens and logprobs equal to a run without a connector.
#include <doctest/doctest.h>

#include <filesystem>
#include <random>

#include "support/kv_offload_runs.hpp"
#include "backends/cuda/cuda_executor.hpp"
#include "gpu_test_support.hpp"
#include "support/reference_model.hpp"

using namespace actorlm;
using namespace actorlm::test;

TEST_CASE("gpu kv blocks: a block layer round-trips and leaves its neighbours alone") {
    ACTORLM_REQUIRE_GPU();
    for (dtype t : k_float_types) {
        INFO(dtype_name(t));
        cuda::cuda_executor_options o;
        o.compute_type = t;
        o.kv_num_blocks = 8;
        o.kv_block_size = 16;
        o.max_num_tokens = 64;
        o.max_num_logits = 4;
        auto ex = cuda::cuda_executor::create_synthetic(tiny_config(model_arch::llama), 5, o);
        REQUIRE_MESSAGE(ex.ok(), ex.message());
        kv_block_io* io = (*ex)->kv_blocks();
        REQUIRE(io != nullptr);
        CHECK(io->num_kv_blocks() == 8);
        const size_t bytes = io->block_layer_bytes();
        std::mt19937 rng(3);
        std::vector<uint8_t> a(bytes), b(bytes), got(bytes), zero(bytes, 0);
        for (auto& x : a) x = static_cast<uint8_t>(rng());
        for (auto& x : b) x = static_cast<uint8_t>(rng());
        io->write_block_layer(0, 3, a);
        io->write_block_layer(io->num_kv_layers() - 1, 4, b);
        io->read_block_layer(0, 3, got);
        CHECK(got == a);
        io->read_block_layer(io->num_kv_layers() - 1, 4, got);
        CHECK(got == b);
        io->read_block_layer(0, 4, got);  // the cache starts zeroed: neighbours untouched
        CHECK(got == zero);
        io->read_block_layer(1, 3, got);
        CHECK(got == zero);
        CHECK(io->io_error().ok());
    }
}

TEST_CASE("gpu kv offload: evict -> reload through host memory (and disk) equals no connector") {
    ACTORLM_REQUIRE_GPU();
    ACTORLM_REQUIRE_SHARED(k_offload_model);
    const auto prompts = offload_prompts();
    auto cuda_config = [](int32_t blocks, const std::string& kv_transfer) {
        auto cfg = offload_engine_config("f32", blocks, kv_transfer);
        cfg.device = "cuda";
        return cfg;
    };
    auto base_eng = make_offload_engine(cuda_config(128, ""));
    const auto base = run_offload_prompts(*base_eng, prompts);
    base_eng.reset();

    const auto dir = fresh_offload_dir("gpu");
    const std::string memory =
        R"({"kv_connector":"OffloadingConnector","kv_connector_extra_config":{"cpu_bytes_to_use":"64MiB"}})";
    const std::string both =
        R"({"kv_connector":"OffloadingConnector","kv_connector_extra_config":{"cpu_bytes_to_use":"64MiB","disk_path":")" +
        dir.string() + R"("}})";
    for (const std::string& kv_transfer : {memory, both}) {
        INFO(kv_transfer);
        auto eng = make_offload_engine(cuda_config(12, kv_transfer));
        check_same_runs(base, run_offload_prompts(*eng, prompts));
        const auto st = eng->stats();
        MESSAGE("external hits " << st.external_prefix_cache_hits_total << " tokens, loaded "
                                 << st.kv_connector_blocks_loaded_total << " blocks");
        CHECK(st.external_prefix_cache_hits_total >= 4 * 5 * 16);
        CHECK(st.kv_connector_blocks_loaded_total >= 4 * 5);
        CHECK(st.kv_connector_load_errors_total == 0);
    }
    std::filesystem::remove_all(dir);
}
