// plugin_stat_loggers: one engine's instances of the plugins' stat loggers (vLLM's
// StatLoggerBase), fed after every engine step from the counters the engine already keeps
// (engine_stats, as /metrics shows them): record(scheduler stats, iteration stats) each step,
// log() when its interval passed and once when the engine stops. Single-threaded (the
// scheduler actor's).
#pragma once

#include <actorlm/engine.hpp>
#include <actorlm/plugin.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace actorlm::plugins {

class plugin_stat_loggers {
public:
    /// Instances of every registered logger (none: an empty set). Fails naming the logger
    /// whose create returned null.
    static result<std::unique_ptr<plugin_stat_loggers>> create(const std::string& model_name,
                                                               int32_t engine_index);
    /// Calls log() once more, then destroys the instances.
    ~plugin_stat_loggers();
    plugin_stat_loggers(const plugin_stat_loggers&) = delete;
    plugin_stat_loggers& operator=(const plugin_stat_loggers&) = delete;

    bool empty() const { return instances_.empty(); }

    /// One step's end: `s` the engine's counters now, `step` the steps answered so far,
    /// `num_finished` the sequences that ended in this step. Iteration counts are the
    /// differences from the previous record.
    void record(const actorlm::engine_stats& s, int64_t step, int64_t num_finished);

private:
    struct instance {
        actorlm_stat_logger_v1 table;
        void* self = nullptr;
        std::chrono::steady_clock::time_point last_log;
    };
    plugin_stat_loggers() = default;

    std::vector<instance> instances_;
    int64_t prompt_tokens_ = 0, generation_tokens_ = 0;  // at the previous record
    std::chrono::steady_clock::time_point last_record_;
    bool recorded_ = false;
};

}  // namespace actorlm::plugins
