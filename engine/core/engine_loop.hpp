// engine_loop: the offline engine core in one thread (vLLM's EngineCore.step):
// scheduler + model_runner over any model_executor. step() = schedule, execute,
// update; it returns the per-request outputs of that step. Token level only
// (text lives in llm_engine). Single-threaded; deterministic for a fixed seed.
#pragma once

#include <memory>
#include <vector>

#include "core/model_runner.hpp"
#include "core/scheduler.hpp"

namespace actorlm::core {

class engine_loop {
public:
    /// `exec` must outlive the loop. The scheduler's block_size must match the
    /// executor's KV cache and num_blocks must not exceed it.
    /// `connector`, when given, is split between the scheduler and the runner.
    static result<std::unique_ptr<engine_loop>> create(const scheduler_config& cfg,
                                                       model_executor& exec, uint64_t seed = 0,
                                                       kv::kv_connector_pair connector = {});

    status add_request(request_spec spec) { return sched_->add_request(std::move(spec)); }
    bool abort_request(const std::string& id) { return sched_->abort_request(id); }
    bool has_unfinished_requests() const { return sched_->has_unfinished_requests(); }

    /// One engine step. If the executor fails, every request of the step ends
    /// with finished_error and the message in request_output::stop_reason.
    std::vector<request_output> step();

    scheduler& sched() { return *sched_; }
    /// The worker side (e.g. to give it an image encoder).
    model_runner& runner() { return runner_; }
    const scheduler& sched() const { return *sched_; }
    int64_t num_steps() const { return num_steps_; }

private:
    engine_loop(std::unique_ptr<scheduler> s, model_executor& exec, uint64_t seed)
        : sched_(std::move(s)), runner_(exec, seed) {}

    std::unique_ptr<scheduler> sched_;
    model_runner runner_;
    int64_t num_steps_ = 0;
};

}  // namespace actorlm::core
