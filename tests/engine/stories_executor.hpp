// The stories260K CPU executor the engine-loop tests run: F32 KV, 16-token blocks,
// `num_blocks` of pool, one thread (so runs are bit-for-bit repeatable).
#pragma once

#include <doctest/doctest.h>

#include <memory>

#include "backends/cpu/cpu_executor.hpp"
#include "model/model_loader.hpp"
#include "support/shared_data.hpp"

namespace actorlm::test {

inline std::unique_ptr<cpu_executor> make_stories_executor(int32_t num_blocks) {
    auto m = load_model(shared_path("models/stories260K.gguf"));
    REQUIRE_MESSAGE(m.ok(), (m.ok() ? "" : m.message()));
    kv_cache_spec spec;
    spec.num_blocks = num_blocks;
    spec.block_size = 16;
    spec.type = dtype::f32;
    cpu_executor_options opts;
    opts.num_threads = 1;
    auto ex = cpu_executor::create(m->config, m->weights, spec, opts);
    REQUIRE_MESSAGE(ex.ok(), (ex.ok() ? "" : ex.message()));
    return std::move(ex).value();
}

}  // namespace actorlm::test
