// architecture_registry implementation: a mutex-guarded deque of entries that own their
// strings (architecture_info holds const char*).
#include "model/architecture_registry.hpp"

#include <deque>
#include <mutex>

namespace actorlm {
namespace {

struct owned_architecture {
    architecture_info info;
    std::deque<std::string> strings;  // what info's const char* point at

    const char* keep(const char* s) {
        if (!s) return nullptr;
        strings.emplace_back(s);
        return strings.back().c_str();
    }
};

struct architecture_table_extra {
    std::mutex mu;
    std::deque<owned_architecture> entries;
};

architecture_table_extra& extra_architectures() {
    // Never destroyed: a plugin's code may look entries up during static destruction.
    static architecture_table_extra* r = new architecture_table_extra;
    return *r;
}

}  // namespace

status register_architecture(const architecture_info& a) {
    if (!a.name || !*a.name) return make_error("architecture: empty name");
    if (find_gguf_architecture(a.name))
        return make_error("architecture '%s' exists already", a.name);
    for (const hf_model_type& h : a.hf_types)
        if (find_hf_model_type(h.model_type).first)
            return make_error("architecture '%s': config.json model_type '%s' exists already",
                              a.name, h.model_type);
    architecture_table_extra& r = extra_architectures();
    std::lock_guard lock(r.mu);
    for (const owned_architecture& o : r.entries)  // one registered meanwhile
        if (std::string_view(o.info.name) == a.name)
            return make_error("architecture '%s' exists already", a.name);
    owned_architecture& e = r.entries.emplace_back();
    e.info = a;
    e.info.name = e.keep(a.name);
    e.info.gguf_mrope_name = e.keep(a.gguf_mrope_name);
    for (hf_model_type& h : e.info.hf_types) {
        h.model_type = e.keep(h.model_type);
        h.class_name = e.keep(h.class_name);
    }
    return status::success();
}

const architecture_info* find_registered_gguf_architecture(std::string_view name) {
    architecture_table_extra& r = extra_architectures();
    std::lock_guard lock(r.mu);
    for (const owned_architecture& e : r.entries)
        if (name == e.info.name) return &e.info;
    return nullptr;
}

std::pair<const architecture_info*, const hf_model_type*> find_registered_hf_model_type(
    std::string_view model_type) {
    architecture_table_extra& r = extra_architectures();
    std::lock_guard lock(r.mu);
    for (const owned_architecture& e : r.entries)
        for (const hf_model_type& h : e.info.hf_types)
            if (model_type == h.model_type) return {&e.info, &h};
    return {nullptr, nullptr};
}

std::vector<std::string> registered_architecture_names() {
    architecture_table_extra& r = extra_architectures();
    std::lock_guard lock(r.mu);
    std::vector<std::string> v;
    for (const owned_architecture& e : r.entries) v.emplace_back(e.info.name);
    return v;
}

std::vector<std::string> registered_hf_model_types() {
    architecture_table_extra& r = extra_architectures();
    std::lock_guard lock(r.mu);
    std::vector<std::string> v;
    for (const owned_architecture& e : r.entries)
        for (const hf_model_type& h : e.info.hf_types) v.emplace_back(h.model_type);
    return v;
}

}  // namespace actorlm
