// A plugin whose C++ KV connector was built from another actorlm (tests/plugins): the host
// refuses it by build id before it looks at the factory.
#include <actorlm/plugin.h>

namespace {

int not_a_factory = 0;

void register_all(const actorlm_plugin_host* host) {
    const char* keys[] = {"path"};
    host->register_kv_connector_cxx(host->ctx, "actorlm 0.0.1, some other compiler",
                                    "OtherBuildConnector", keys, 1, &not_a_factory);
}

}  // namespace

ACTORLM_PLUGIN_DEFINE(register_all)
