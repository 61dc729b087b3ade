// A plugin built for another plugin API version (tests/plugins): it answers 999 and, as
// ACTORLM_PLUGIN_DEFINE would, registers nothing against a table of another version.
#include <actorlm/plugin.h>

extern "C" __attribute__((visibility("default"))) uint32_t actorlm_plugin_register(
    const actorlm_plugin_host*) {
    return 999;
}
