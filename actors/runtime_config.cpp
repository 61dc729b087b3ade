// runtime_config implementation.
#include "actors/runtime_config.hpp"

#include "actors/messages.hpp"

namespace actorlm::actors {

namespace {
const char* errc_name(uint8_t code) {
    switch (static_cast<engine_errc>(code)) {
        case engine_errc::worker_failed: return "worker_failed";
        case engine_errc::worker_lost: return "worker_lost";
        case engine_errc::bad_setup: return "bad_setup";
        case engine_errc::unhealthy: return "unhealthy";
    }
    return "unknown";
}
}  // namespace

runtime_config::runtime_config(std::chrono::milliseconds heartbeat,
                               std::chrono::milliseconds connection_timeout) {
    add_message_types<caf::id_block::actorlm>();
    load<caf::io::middleman>();
    set("middleman.heartbeat-interval", caf::timespan{heartbeat});
    set("middleman.connection-timeout", caf::timespan{connection_timeout});
    // Foreign threads (HTTP, embedders) wake idle pool workers far faster under
    // the sharing policy (CAF guide §5: p50 14-25 µs vs 86-175 µs).
    set("scheduler.policy", caf::atom("sharing"));
    set("logger.console", caf::atom("none"));
    add_error_category(caf::atom("engine"),
                       [](uint8_t code, caf::atom_value, const caf::message& ctx) -> std::string {
                           std::string s = errc_name(code);
                           if (!ctx.empty() && ctx.match_element<std::string>(0))
                               s += ": " + ctx.get_as<std::string>(0);
                           return s;
                       });
}

}  // namespace actorlm::actors
