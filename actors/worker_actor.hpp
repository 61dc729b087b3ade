// worker actor: one model worker (a pipeline stage of the model, or all of it)
// on one device. Detached: it owns a thread, so a long forward pass never
// blocks the scheduled pool. Interface (messages.hpp, worker_actor):
//   setup(worker_setup) -> worker_info   builds the executor + KV cache for its layers
//   step(scheduler_output, hidden bytes) -> stage_result
// It monitors nobody; the scheduler monitors it and fails its in-flight step
// when it dies. Errors come back as engine_errc values, never exceptions.
#pragma once

#include <functional>
#include <memory>

#include "actors/messages.hpp"
#include "model/model_executor.hpp"
#include "model/model_loader.hpp"

namespace actorlm::multimodal {
struct vision_model;
class encoder_output_store;
}  // namespace actorlm::multimodal

namespace actorlm::structured {
class grammar_compiler;
}  // namespace actorlm::structured

namespace actorlm::actors {

/// Builds a worker's executor from its setup (stage range, KV cache).
using executor_builder =
    std::function<result<std::unique_ptr<model_executor>>(const worker_setup& setup)>;

/// Spawns a detached worker over an already loaded (memory-mapped) model.
/// `device` names a registered backend ("cpu", "cuda"). A vision-language model's worker
/// encodes images, asking `encoder_store` (when given) before it encodes. Structured
/// outputs are constrained over the model's own tokenizer (loaded on first use).
/// `on_load_progress` follows the executor's weight layout when the setup arrives.
worker_actor spawn_worker(caf::actor_system& sys, std::shared_ptr<const loaded_model> model,
                          std::string device,
                          std::shared_ptr<multimodal::encoder_output_store> encoder_store = nullptr,
                          std::function<void(const load_progress&)> on_load_progress = {});

/// Spawns a detached worker whose executor `build` makes (benchmarks: a no-op model);
/// with `vision`, its first stage encodes the images of the steps it runs; with
/// `grammars`, it constrains structured outputs.
worker_actor spawn_worker(caf::actor_system& sys, executor_builder build, std::string device,
                          std::shared_ptr<const multimodal::vision_model> vision = nullptr,
                          std::shared_ptr<multimodal::encoder_output_store> encoder_store = nullptr,
                          std::shared_ptr<structured::grammar_compiler> grammars = nullptr);

}  // namespace actorlm::actors
