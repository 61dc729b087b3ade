// A logits processor that declares itself argmax-invariant (tests/plugins) but bans the token
// ids of ACTORLM_TEST_INVARIANT_BAN: the host must skip it on greedy rows and apply it after
// temperature on random ones, which the banned tokens show.
#include <actorlm/plugin.h>

#include <cmath>
#include <cstdlib>
#include <vector>

namespace {

struct ban {
    std::vector<int32_t> ids;
};

void* create(void*, int64_t) {
    auto* b = new ban;
    if (const char* env = std::getenv("ACTORLM_TEST_INVARIANT_BAN"))
        for (const char* p = env; *p;) {
            char* end = nullptr;
            b->ids.push_back(static_cast<int32_t>(std::strtol(p, &end, 10)));
            p = *end ? end + 1 : end;
        }
    return b;
}
void destroy(void* self) { delete static_cast<ban*>(self); }
void update(void*, const actorlm_lp_batch_update*) {}
void apply(void* self, float* logits, int64_t num_rows, int64_t vocab, const actorlm_lp_row*) {
    for (int64_t r = 0; r < num_rows; ++r)
        for (int32_t t : static_cast<ban*>(self)->ids)
            if (t >= 0 && t < vocab) logits[r * vocab + t] = -INFINITY;
}

void register_all(const actorlm_plugin_host* host) {
    actorlm_logits_processor_v1 lp{};
    lp.name = "test_invariant_ban";
    lp.argmax_invariant = 1;
    lp.create = create;
    lp.destroy = destroy;
    lp.update_state = update;
    lp.apply = apply;
    host->register_logits_processor(host->ctx, &lp);
}

}  // namespace

ACTORLM_PLUGIN_DEFINE(register_all)
