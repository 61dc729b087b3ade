// plugin_loader implementation: dlopen, one entry-point call with a staging host table, then
// a commit of everything the plugin registered (or nothing, when it was refused).
#include "plugins/plugin_loader.hpp"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <mutex>

#include "kv/kv_connector_registry.hpp"
#include "model/architecture_registry.hpp"

namespace actorlm::plugins {
namespace {

struct stored_logits_processor {
    std::string name;
    actorlm_logits_processor_v1 table{};
};

struct stored_stat_logger {
    std::string name;
    actorlm_stat_logger_v1 table{};
};

struct staged_kv_connector {
    std::string name;
    std::vector<std::string> extra_keys;
    kv::kv_connector_factory factory;
};

/// What one plugin registers during its entry-point call; committed when it is accepted.
struct staging {
    std::string path;
    std::vector<stored_logits_processor> logits_processors;
    std::vector<stored_stat_logger> stat_loggers;
    std::vector<architecture_info> architectures;
    std::deque<std::string> architecture_strings;  // what architectures' const char* hold
    std::vector<staged_kv_connector> kv_connectors;
    std::vector<std::string> registered;
    std::string failure;  // first failure; non-empty refuses the plugin

    int32_t fail(std::string why) {
        if (failure.empty()) failure = std::move(why);
        return 1;
    }
};

struct plugin_state {
    std::mutex mu;  // held for a whole load: one plugin at a time
    std::vector<loaded_plugin> loaded;
    std::deque<stored_logits_processor> logits_processors;  // stable addresses
    std::deque<stored_stat_logger> stat_loggers;
};

plugin_state& state() {
    static plugin_state* s = new plugin_state;  // plugins' objects may outlive static destruction
    return *s;
}

bool name_taken(const plugin_state& s, const staging& st, const std::string& name, bool lp) {
    if (lp) {
        for (const auto& e : s.logits_processors)
            if (e.name == name) return true;
        for (const auto& e : st.logits_processors)
            if (e.name == name) return true;
    } else {
        for (const auto& e : s.stat_loggers)
            if (e.name == name) return true;
        for (const auto& e : st.stat_loggers)
            if (e.name == name) return true;
    }
    return false;
}

staging& as_staging(void* ctx) { return *static_cast<staging*>(ctx); }

int32_t host_register_logits_processor(void* ctx, const actorlm_logits_processor_v1* lp) {
    staging& st = as_staging(ctx);
    if (!lp || !lp->name || !*lp->name)
        return st.fail("register_logits_processor: a processor without a name");
    if (!lp->create || !lp->destroy || !lp->update_state || !lp->apply)
        return st.fail(std::string("logits processor '") + lp->name +
                       "': create, destroy, update_state and apply are all required");
    if (name_taken(state(), st, lp->name, true))
        return st.fail(std::string("logits processor '") + lp->name + "' is registered already");
    stored_logits_processor& e = st.logits_processors.emplace_back();
    e.name = lp->name;
    e.table = *lp;
    st.registered.push_back("logits_processor:" + e.name);
    return 0;
}

int32_t host_register_stat_logger(void* ctx, const actorlm_stat_logger_v1* sl) {
    staging& st = as_staging(ctx);
    if (!sl || !sl->name || !*sl->name)
        return st.fail("register_stat_logger: a stat logger without a name");
    if (!sl->create || !sl->destroy || !sl->record || !sl->log)
        return st.fail(std::string("stat logger '") + sl->name +
                       "': create, destroy, record and log are all required");
    if (name_taken(state(), st, sl->name, false))
        return st.fail(std::string("stat logger '") + sl->name + "' is registered already");
    stored_stat_logger& e = st.stat_loggers.emplace_back();
    e.name = sl->name;
    e.table = *sl;
    st.registered.push_back("stat_logger:" + e.name);
    return 0;
}

int32_t host_register_architecture(void* ctx, const actorlm_architecture_v1* a) {
    staging& st = as_staging(ctx);
    if (!a || !a->name || !*a->name || !a->base)
        return st.fail("register_architecture: name and base are required");
    const std::string name = a->name;
    const architecture_info* base = find_gguf_architecture(a->base);
    if (!base || std::string_view(base->name) != a->base)
        return st.fail("architecture '" + name + "': base '" + a->base +
                       "' is not a built-in architecture (" + gguf_architecture_names() + ")");
    if (find_gguf_architecture(name)) return st.fail("architecture '" + name + "' exists already");
    architecture_info info = *base;
    auto keep = [&](const char* s) {
        st.architecture_strings.emplace_back(s);
        return st.architecture_strings.back().c_str();
    };
    info.name = keep(a->name);
    info.gguf_mrope_name = nullptr;
    info.hf_types.clear();
    if (a->hf_model_type) {
        const hf_window_keys window =
            base->hf_types.empty() ? hf_window_keys::none : base->hf_types.front().window_keys;
        info.hf_types.push_back(
            {keep(a->hf_model_type), keep(a->hf_class_name ? a->hf_class_name : a->name), window});
    }
    if (a->qkv_bias >= 0) info.recipe.qkv_bias = a->qkv_bias != 0;
    if (a->qk_norm >= 0) info.recipe.qk_norm = a->qk_norm != 0;
    if (a->embedding_scale != 0.0f) info.recipe.embedding_scale = a->embedding_scale;
    if (a->final_logit_softcap != 0.0f) info.recipe.final_logit_softcap = a->final_logit_softcap;
    st.architectures.push_back(std::move(info));
    st.registered.push_back("architecture:" + name);
    return 0;
}

int32_t host_register_kv_connector_cxx(void* ctx, const char* build_id, const char* name,
                                       const char* const* extra_keys, int64_t num_extra_keys,
                                       const void* factory) {
    staging& st = as_staging(ctx);
    if (!name || !*name || !factory)
        return st.fail("register_kv_connector_cxx: name and factory are required");
    if (!build_id || std::string_view(build_id) != host_build_id())
        return st.fail(std::string("KV connector '") + name + "' was built as '" +
                       (build_id ? build_id : "(null)") + "', this actorlm is '" + host_build_id() +
                       "': C++ connectors need the same actorlm source and compiler");
    for (const std::string& known : kv::kv_connector_names())
        if (known == name)
            return st.fail(std::string("KV connector '") + name + "' is registered already");
    staged_kv_connector& c = st.kv_connectors.emplace_back();
    c.name = name;
    for (int64_t i = 0; i < num_extra_keys; ++i) c.extra_keys.emplace_back(extra_keys[i]);
    c.factory = *static_cast<const kv::kv_connector_factory*>(factory);
    st.registered.push_back("kv_connector:" + c.name);
    return 0;
}

void host_fail(void* ctx, const char* message) {
    as_staging(ctx).fail(message ? message : "(no message)");
}

void host_log(void* ctx, const char* message) {
    std::fprintf(stderr, "actorlm: plugin %s: %s\n", as_staging(ctx).path.c_str(),
                 message ? message : "");
}

std::string join(const std::vector<std::string>& v, const char* sep) {
    std::string s;
    for (const std::string& x : v) s += (s.empty() ? "" : sep) + x;
    return s;
}

}  // namespace

const char* host_build_id() {
#if defined(__VERSION__)
    return "actorlm 0.1.0, " __VERSION__;
#else
    return "actorlm 0.1.0";
#endif
}

status load_plugin(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
        return make_error("plugin %s: no such file", path.c_str());
    const std::string canonical = std::filesystem::canonical(path, ec).string();
    plugin_state& s = state();
    std::lock_guard lock(s.mu);
    for (const loaded_plugin& p : s.loaded)
        if (p.path == canonical) return status::success();  // once per process

    void* handle = dlopen(canonical.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char* why = dlerror();
        return make_error("plugin %s: cannot load it: %s", path.c_str(), why ? why : "?");
    }
    auto entry =
        reinterpret_cast<actorlm_plugin_register_fn>(dlsym(handle, ACTORLM_PLUGIN_ENTRY_NAME));
    if (!entry) {
        dlclose(handle);
        return make_error(
            "plugin %s: no entry point %s (define it with ACTORLM_PLUGIN_DEFINE from "
            "<actorlm/plugin.h>, docs/plugins.md)",
            path.c_str(), ACTORLM_PLUGIN_ENTRY_NAME);
    }
    staging st;
    st.path = canonical;
    actorlm_plugin_host host{};
    host.api_version = ACTORLM_PLUGIN_API_VERSION;
    host.host_version = "0.1.0";
    host.build_id = host_build_id();
    host.ctx = &st;
    host.register_logits_processor = host_register_logits_processor;
    host.register_stat_logger = host_register_stat_logger;
    host.register_architecture = host_register_architecture;
    host.register_kv_connector_cxx = host_register_kv_connector_cxx;
    host.fail = host_fail;
    host.log = host_log;
    const uint32_t built_for = entry(&host);
    if (built_for != ACTORLM_PLUGIN_API_VERSION) {
        // Its registrations (if it made any against our table) are dropped with `st`; its
        // code stays mapped in case it kept pointers into it.
        return make_error(
            "plugin %s was built for plugin API version %u, but this actorlm has plugin API "
            "version %u: rebuild it against this actorlm's <actorlm/plugin.h>",
            path.c_str(), built_for, ACTORLM_PLUGIN_API_VERSION);
    }
    if (!st.failure.empty())
        return make_error("plugin %s refused: %s", path.c_str(), st.failure.c_str());
    // Architectures first: the only commit that can still fail (a name taken meanwhile).
    for (size_t i = 0; i < st.architectures.size(); ++i)
        if (status r = register_architecture(st.architectures[i]); !r)
            return make_error("plugin %s refused: %s", path.c_str(), r.message().c_str());
    for (staged_kv_connector& c : st.kv_connectors)
        kv::register_kv_connector(c.name, std::move(c.extra_keys), std::move(c.factory));
    for (stored_logits_processor& e : st.logits_processors) {
        stored_logits_processor& kept = s.logits_processors.emplace_back(std::move(e));
        kept.table.name = kept.name.c_str();
    }
    for (stored_stat_logger& e : st.stat_loggers) {
        stored_stat_logger& kept = s.stat_loggers.emplace_back(std::move(e));
        kept.table.name = kept.name.c_str();
    }
    s.loaded.push_back({canonical, st.registered});
    std::fprintf(stderr, "actorlm: loaded plugin %s (%s)\n", canonical.c_str(),
                 st.registered.empty() ? "registered nothing" : join(st.registered, ", ").c_str());
    return status::success();
}

std::vector<std::string> plugin_paths_from_env() {
    std::vector<std::string> paths;
    const char* env = std::getenv(k_plugins_env);
    if (!env) return paths;
    std::string cur;
    for (const char* c = env;; ++c) {
        if (*c == ':' || *c == '\0') {
            if (!cur.empty()) paths.push_back(cur);
            cur.clear();
            if (*c == '\0') break;
        } else {
            cur += *c;
        }
    }
    return paths;
}

status load_plugins(const std::vector<std::string>& paths) {
    for (const std::string& p : paths) ACTORLM_TRY(load_plugin(p));
    for (const std::string& p : plugin_paths_from_env())
        if (status r = load_plugin(p); !r)
            return make_error("%s (from %s)", r.message().c_str(), k_plugins_env);
    return status::success();
}

std::vector<loaded_plugin> loaded_plugins() {
    plugin_state& s = state();
    std::lock_guard lock(s.mu);
    return s.loaded;
}

std::string describe_loaded_plugins() {
    std::string out;
    for (const loaded_plugin& p : loaded_plugins())
        out += (out.empty() ? "" : "; ") + p.path + " (" + join(p.registered, ", ") + ")";
    return out.empty() ? "none" : out;
}

std::vector<actorlm_logits_processor_v1> registered_logits_processors() {
    plugin_state& s = state();
    std::lock_guard lock(s.mu);
    std::vector<actorlm_logits_processor_v1> v;
    for (const auto& e : s.logits_processors) v.push_back(e.table);
    return v;
}

std::vector<actorlm_stat_logger_v1> registered_stat_loggers() {
    plugin_state& s = state();
    std::lock_guard lock(s.mu);
    std::vector<actorlm_stat_logger_v1> v;
    for (const auto& e : s.stat_loggers) v.push_back(e.table);
    return v;
}

}  // namespace actorlm::plugins
