// plugin_stat_loggers implementation: engine_stats mapped onto the plugin ABI's structs.
#include "plugins/plugin_stat_loggers.hpp"

#include "plugins/plugin_loader.hpp"

namespace actorlm::plugins {
namespace {

constexpr double k_default_log_interval_seconds = 5.0;  // vLLM's

}  // namespace

result<std::unique_ptr<plugin_stat_loggers>> plugin_stat_loggers::create(
    const std::string& model_name, int32_t engine_index) {
    std::unique_ptr<plugin_stat_loggers> set(new plugin_stat_loggers);
    const auto now = std::chrono::steady_clock::now();
    for (const actorlm_stat_logger_v1& t : registered_stat_loggers()) {
        void* self = t.create(t.user, model_name.c_str(), engine_index);
        if (!self) return make_error("stat logger '%s' (a plugin's) failed to start", t.name);
        set->instances_.push_back({t, self, now});
    }
    return set;
}

plugin_stat_loggers::~plugin_stat_loggers() {
    for (instance& i : instances_) {
        i.table.log(i.self);
        i.table.destroy(i.self);
    }
}

void plugin_stat_loggers::record(const actorlm::engine_stats& s, int64_t step,
                                 int64_t num_finished) {
    if (instances_.empty()) return;
    const auto now = std::chrono::steady_clock::now();
    actorlm_scheduler_stats_v1 sched{};
    sched.num_running_reqs = s.num_requests_running;
    sched.num_waiting_reqs = s.num_requests_waiting;
    sched.kv_cache_usage = s.kv_cache_usage;
    sched.prefix_cache_queries_total = s.prefix_cache_queries_total;
    sched.prefix_cache_hits_total = s.prefix_cache_hits_total;
    sched.num_preemptions_total = s.num_preemptions_total;
    sched.prompt_tokens_total = s.prompt_tokens_total;
    sched.generation_tokens_total = s.generation_tokens_total;
    actorlm_iteration_stats_v1 iter{};
    iter.step = step;
    iter.unix_time =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    iter.step_seconds = recorded_ ? std::chrono::duration<double>(now - last_record_).count() : 0.0;
    iter.num_prompt_tokens = s.prompt_tokens_total - prompt_tokens_;
    iter.num_generation_tokens = s.generation_tokens_total - generation_tokens_;
    iter.num_finished_reqs = num_finished;
    prompt_tokens_ = s.prompt_tokens_total;
    generation_tokens_ = s.generation_tokens_total;
    last_record_ = now;
    recorded_ = true;
    for (instance& i : instances_) {
        i.table.record(i.self, &sched, &iter);
        const double interval = i.table.log_interval_seconds > 0.0 ? i.table.log_interval_seconds
                                                                   : k_default_log_interval_seconds;
        if (std::chrono::duration<double>(now - i.last_log).count() >= interval) {
            i.table.log(i.self);
            i.last_log = now;
        }
    }
}

}  // namespace actorlm::plugins
