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
        case engine_errc::no_snapshot: return "no_snapshot";
    }
    return "unknown";
}
const char* kv_store_errc_name(uint8_t code) {
    switch (static_cast<kv_store_errc>(code)) {
        case kv_store_errc::bad_size: return "bad_size";
        case kv_store_errc::too_large: return "too_large";
    }
    return "unknown";
}

std::string render_with_context(const char* name, const caf::message& ctx) {
    std::string s = name;
    if (!ctx.empty() && ctx.match_element<std::string>(0)) s += ": " + ctx.get_as<std::string>(0);
    return s;
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
                           return render_with_context(errc_name(code), ctx);
                       });
    add_error_category(caf::atom("kvstore"),
                       [](uint8_t code, caf::atom_value, const caf::message& ctx) -> std::string {
                           return render_with_context(kv_store_errc_name(code), ctx);
                       });
}

}  // namespace actorlm::actors
