// llm_engine::create(cfg): the offline engine from an engine_config, assembled
// by make_engine_plan (the actor runtime's path too) and run on the backend that
// cfg.device names. Runs once on the caller's thread.
#include "core/engine_plan.hpp"
#include "core/llm_engine.hpp"
#include "kv/kv_model_identity.hpp"

namespace actorlm::core {

result<std::unique_ptr<llm_engine>> llm_engine::create(const actorlm::engine_config& cfg) {
    auto plan = make_engine_plan(cfg);
    if (!plan) return plan.err();
    auto exec = plan->device->make_executor(*plan->model, plan->executor);
    if (!exec) return exec.err();

    struct holder : owned {
        engine_plan plan;
        std::unique_ptr<model_executor> exec;
    };
    auto own = std::make_unique<holder>();
    own->plan = std::move(plan).value();
    own->exec = std::move(exec).value();
    auto eng = create(cfg, *own->plan.tok, *own->exec,
                      kv::model_weights_fingerprint(own->plan.model->weights));
    if (!eng) return eng.err();
    (*eng)->own_ = std::move(own);
    return eng;
}

}  // namespace actorlm::core
