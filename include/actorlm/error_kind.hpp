// actorlm::error_kind: why something failed, in the four kinds a caller acts on
// differently (the server maps them to HTTP 400 / 429 / 503 / 500). A leaf of the
// public API with no includes, so that the engine's internal error values
// (result.hpp) and the public output_delta share one definition.
#pragma once

namespace actorlm {

enum class error_kind {
    none,                // no error
    invalid_argument,    // the request itself is wrong (prompt too long, bad token id): 400
    resource_exhausted,  // it is fine but does not fit now (queue or KV capacity): 429
    unavailable,         // the engine cannot serve now (unhealthy, shutting down): 503
    internal,            // the engine failed (a worker error, a bug): 500
};

/// "invalid_argument", ...; "none" for none.
constexpr const char* error_kind_name(error_kind k) {
    switch (k) {
        case error_kind::none: return "none";
        case error_kind::invalid_argument: return "invalid_argument";
        case error_kind::resource_exhausted: return "resource_exhausted";
        case error_kind::unavailable: return "unavailable";
        case error_kind::internal: return "internal";
    }
    return "internal";
}

}  // namespace actorlm
