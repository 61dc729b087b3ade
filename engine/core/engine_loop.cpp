// engine_loop implementation.
#include "core/engine_loop.hpp"

#include <chrono>
#include <thread>

namespace actorlm::core {

result<std::unique_ptr<engine_loop>> engine_loop::create(const scheduler_config& cfg,
                                                         model_executor& exec, uint64_t seed,
                                                         kv::kv_connector_pair connector) {
    const kv_cache_spec& kv = exec.kv_spec();
    if (kv.block_size != cfg.block_size)
        return make_error("scheduler block_size %d differs from the executor's KV block size %d",
                          cfg.block_size, kv.block_size);
    if (cfg.num_blocks > kv.num_blocks)
        return make_error("scheduler wants %d KV blocks but the executor allocated %d",
                          cfg.num_blocks, kv.num_blocks);
    scheduler_config c = cfg;
    if (c.vocab_size == 0) c.vocab_size = exec.config().vocab_size;
    auto s = scheduler::create(c);
    if (!s) return s.err();
    auto loop = std::unique_ptr<engine_loop>(new engine_loop(std::move(s).value(), exec, seed));
    if (connector.scheduler) loop->sched_->set_kv_connector(std::move(connector.scheduler));
    if (connector.worker) loop->runner_.set_kv_connector(std::move(connector.worker));
    return loop;
}

std::vector<request_output> engine_loop::step() {
    ++num_steps_;
    scheduler_output so = sched_->schedule();
    if (so.empty() && !so.kv_connector_metadata && sched_->kv_connector() != nullptr)
        // Only connector loads in flight: do not spin the core at full speed.
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    auto out = runner_.execute(so);
    if (out) return sched_->update_from_output(so, *out);
    std::vector<request_output> failed;
    auto fail = [&](const std::string& id) {
        const request* r = sched_->find(id);
        if (!r) return;
        request_output o;
        o.req_id = id;
        o.status = request_status::finished_error;
        o.stop_reason = out.message();
        o.num_prompt_tokens = r->num_prompt_tokens();
        o.num_output_tokens = r->num_output_tokens();
        failed.push_back(std::move(o));
        sched_->finish_request(id, request_status::finished_error, out.message());
    };
    for (const auto& c : so.scheduled_cached_reqs) fail(c.req_id);
    for (const auto& n : so.scheduled_new_reqs) fail(n.req_id);
    return failed;
}

}  // namespace actorlm::core
