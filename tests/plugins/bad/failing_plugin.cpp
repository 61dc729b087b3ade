// A plugin that registers a processor and then fails (tests/plugins): the host refuses it
// and keeps nothing it registered.
#include <actorlm/plugin.h>

namespace {

void* create(void*, int64_t) { return nullptr; }
void destroy(void*) {}
void update(void*, const actorlm_lp_batch_update*) {}
void apply(void*, float*, int64_t, int64_t, const actorlm_lp_row*) {}

void register_all(const actorlm_plugin_host* host) {
    actorlm_logits_processor_v1 lp{};
    lp.name = "failing_plugin_processor";
    lp.create = create;
    lp.destroy = destroy;
    lp.update_state = update;
    lp.apply = apply;
    host->register_logits_processor(host->ctx, &lp);
    host->fail(host->ctx, "no licence file found");
}

}  // namespace

ACTORLM_PLUGIN_DEFINE(register_all)
