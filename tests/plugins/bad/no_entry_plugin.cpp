// A shared library without the plugin entry point (tests/plugins): it exports another name.
#include <cstdint>

extern "C" __attribute__((visibility("default"))) uint32_t actorlm_plugin_register_typo() {
    return 1;
}
