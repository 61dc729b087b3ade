// kv_invariants: checks the block accounting of a scheduler end to end (used
// after every step of the tests and soak; cheap enough for debug builds):
// every block is free xor referenced, its ref count equals the number of block
// tables holding it, cached hashes map back to their blocks, running requests
// hold enough blocks for their computed tokens, waiting ones hold none.
#pragma once

#include "core/scheduler.hpp"
#include "base/result.hpp"

namespace actorlm::core {

/// ok(), or an error describing the first broken invariant.
status check_kv_invariants(const scheduler& s);

}  // namespace actorlm::core
