// The backend registry and the helpers every backend shares (KV dtype names,
// KV block planning). The registry is a function-local static so backends may
// register from static initialisers in any translation unit; registration and
// look-up take a mutex (both are rare: start-up and executor creation).
#include "backends/backend.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <mutex>

namespace actorlm {

void register_cpu_backend();  // backends/cpu/cpu_backend.cpp: always built

namespace {

struct registry {
    std::mutex mu;
    std::map<std::string, std::unique_ptr<backend>> by_name;
};

registry& the_registry() {
    static registry r;
    return r;
}

// The CPU backend lives in this library, so it is registered on first use rather
// than by a static initialiser that a static link could drop.
void ensure_builtin() {
    static std::once_flag once;
    std::call_once(once, [] { register_cpu_backend(); });
}

}  // namespace

void register_backend(std::unique_ptr<backend> b) {
    auto& r = the_registry();
    std::lock_guard<std::mutex> lock(r.mu);
    std::string name = b->name();
    r.by_name[name] = std::move(b);
}

result<const backend*> find_backend(const std::string& name) {
    ensure_builtin();
    auto& r = the_registry();
    std::lock_guard<std::mutex> lock(r.mu);
    auto it = r.by_name.find(name);
    if (it != r.by_name.end()) return static_cast<const backend*>(it->second.get());
    std::string known;
    for (const auto& [n, b] : r.by_name) known += (known.empty() ? "" : ", ") + n;
    return make_error("device '%s' is not available in this build (available: %s)", name.c_str(),
                      known.c_str());
}

std::vector<std::string> backend_names() {
    ensure_builtin();
    auto& r = the_registry();
    std::lock_guard<std::mutex> lock(r.mu);
    std::vector<std::string> names;
    for (const auto& [n, b] : r.by_name) names.push_back(n);
    return names;
}

result<std::unique_ptr<model_executor>> make_executor(const loaded_model& model,
                                                      const executor_request& req) {
    auto b = find_backend(req.device);
    if (!b) return b.err();
    return (*b)->make_executor(model, req);
}

result<dtype> parse_kv_dtype(const std::string& name) {
    if (name == "f32" || name == "float32" || name == "float") return dtype::f32;
    if (name == "f16" || name == "float16" || name == "half") return dtype::f16;
    if (name == "bf16" || name == "bfloat16") return dtype::bf16;
    if (name == "q8_0") return dtype::q8_0;
    return make_error("unknown KV cache dtype '%s' (use auto, f32, f16, bf16 or q8_0)",
                      name.c_str());
}

result<int32_t> plan_kv_blocks(const executor_request& req, int64_t block_bytes,
                               int64_t available_bytes) {
    if (req.block_size <= 0)
        return make_error("block_size must be positive, got %d", req.block_size);
    if (req.num_blocks < 0) return make_error("num_blocks must be >= 0, got %d", req.num_blocks);
    if (req.num_blocks > 0) return req.num_blocks;
    if (block_bytes <= 0) return make_error("the model has no KV cache to size");
    const int64_t budget =
        req.kv_cache_memory_bytes > 0 ? req.kv_cache_memory_bytes : available_bytes;
    int64_t n = budget / block_bytes;
    if (n < 1)
        return make_error(
            "a KV cache budget of %lld bytes holds no block (one block of %d tokens "
            "needs %lld bytes)",
            static_cast<long long>(budget), req.block_size, static_cast<long long>(block_bytes));
    if (req.max_num_blocks > 0) n = std::min<int64_t>(n, req.max_num_blocks);
    return static_cast<int32_t>(std::min<int64_t>(n, std::numeric_limits<int32_t>::max()));
}

}  // namespace actorlm
