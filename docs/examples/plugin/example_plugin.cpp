// The example actorlm plugin (docs/plugins.md): a logits processor and a JSON-lines stat
// logger, registered through the one entry point of <actorlm/plugin.h>. It uses no symbol of
// the executable: everything it sees comes through the host table.
//
// - Logits processor "example_ban_tokens": bans (sets to -inf) the token ids a request lists
//   in its extra args, {"banned_token_ids": [1, 2]} (the server's `vllm_xargs`), and those of
//   the environment variable ACTORLM_EXAMPLE_BANNED_TOKENS ("1,2") for every request. It can
//   move the argmax, so it is not argmax-invariant.
// - Stat logger "example_jsonl": appends one JSON line per engine step ("event":"step") and
//   one per log() ("event":"log") to the file named by ACTORLM_EXAMPLE_STATS_FILE (nothing
//   when unset).
// - Architecture "example_llama": Llama's layout and recipe under another GGUF name (how a
//   plugin names a model variant whose features the backends already run).
#include <actorlm/plugin.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

/// The integers after `"key"` in a flat JSON text ("[1, 2]" or "1,2" when key is null).
std::vector<int32_t> parse_ints(const char* text, const char* key) {
    std::vector<int32_t> out;
    if (!text) return out;
    const char* p = text;
    if (key) {
        const std::string quoted = std::string("\"") + key + "\"";
        p = std::strstr(text, quoted.c_str());
        if (!p) return out;
        p = std::strchr(p + quoted.size(), '[');
        if (!p) return out;
    }
    while (*p && *p != ']') {
        if ((*p >= '0' && *p <= '9') || *p == '-') {
            char* end = nullptr;
            out.push_back(static_cast<int32_t>(std::strtol(p, &end, 10)));
            p = end;
        } else {
            ++p;
        }
    }
    return out;
}

// ---- logits processor -----------------------------------------------------------------

struct ban_tokens {
    int64_t vocab_size = 0;
    std::vector<int32_t> always;  // from the environment
    std::unordered_map<int32_t, std::vector<int32_t>> by_slot;
};

void* ban_create(void*, int64_t vocab_size) {
    auto* b = new ban_tokens;
    b->vocab_size = vocab_size;
    b->always = parse_ints(std::getenv("ACTORLM_EXAMPLE_BANNED_TOKENS"), nullptr);
    return b;
}

void ban_destroy(void* self) { delete static_cast<ban_tokens*>(self); }

void ban_update(void* self, const actorlm_lp_batch_update* u) {
    auto* b = static_cast<ban_tokens*>(self);
    for (int64_t i = 0; i < u->num_removed; ++i) b->by_slot.erase(u->removed_slots[i]);
    for (int64_t i = 0; i < u->num_added; ++i) {
        std::vector<int32_t> ids = parse_ints(u->added[i].extra_args_json, "banned_token_ids");
        if (ids.empty())
            b->by_slot.erase(u->added[i].slot);
        else
            b->by_slot[u->added[i].slot] = std::move(ids);
    }
}

void ban_apply(void* self, float* logits, int64_t num_rows, int64_t vocab_size,
               const actorlm_lp_row* rows) {
    auto* b = static_cast<ban_tokens*>(self);
    for (int64_t r = 0; r < num_rows; ++r) {
        float* row = logits + r * vocab_size;
        auto ban = [&](int32_t t) {
            if (t >= 0 && t < vocab_size) row[t] = -INFINITY;
        };
        for (int32_t t : b->always) ban(t);
        auto it = b->by_slot.find(rows[r].slot);
        if (it != b->by_slot.end())
            for (int32_t t : it->second) ban(t);
    }
}

// ---- stat logger -------------------------------------------------------------------------

struct jsonl_logger {
    std::FILE* out = nullptr;
    std::string model;
    int32_t engine_index = 0;
    actorlm_scheduler_stats_v1 last{};
    int64_t steps = 0;
};

void* jsonl_create(void*, const char* model_name, int32_t engine_index) {
    auto* l = new jsonl_logger;
    if (const char* path = std::getenv("ACTORLM_EXAMPLE_STATS_FILE"); path && *path)
        l->out = std::fopen(path, "a");
    l->model = model_name ? model_name : "";
    l->engine_index = engine_index;
    return l;
}

void jsonl_destroy(void* self) {
    auto* l = static_cast<jsonl_logger*>(self);
    if (l->out) std::fclose(l->out);
    delete l;
}

/// The model name as a JSON string body (quotes and backslashes escaped, controls dropped).
std::string escaped(const std::string& s) {
    std::string o;
    for (char c : s) {
        if (c == '"' || c == '\\') o += '\\';
        if (static_cast<unsigned char>(c) >= 0x20) o += c;
    }
    return o;
}

void jsonl_record(void* self, const actorlm_scheduler_stats_v1* s,
                  const actorlm_iteration_stats_v1* it) {
    auto* l = static_cast<jsonl_logger*>(self);
    l->last = *s;
    ++l->steps;
    if (!l->out) return;
    std::fprintf(l->out,
                 "{\"event\":\"step\",\"model\":\"%s\",\"engine\":%d,\"step\":%lld,"
                 "\"time\":%.6f,\"step_seconds\":%.6f,\"running\":%lld,\"waiting\":%lld,"
                 "\"kv_cache_usage\":%.6f,\"prompt_tokens\":%lld,\"generation_tokens\":%lld,"
                 "\"finished\":%lld,\"prompt_tokens_total\":%lld,"
                 "\"generation_tokens_total\":%lld}\n",
                 escaped(l->model).c_str(), l->engine_index, static_cast<long long>(it->step),
                 it->unix_time, it->step_seconds, static_cast<long long>(s->num_running_reqs),
                 static_cast<long long>(s->num_waiting_reqs), s->kv_cache_usage,
                 static_cast<long long>(it->num_prompt_tokens),
                 static_cast<long long>(it->num_generation_tokens),
                 static_cast<long long>(it->num_finished_reqs),
                 static_cast<long long>(s->prompt_tokens_total),
                 static_cast<long long>(s->generation_tokens_total));
    std::fflush(l->out);
}

void jsonl_log(void* self) {
    auto* l = static_cast<jsonl_logger*>(self);
    if (!l->out) return;
    std::fprintf(l->out,
                 "{\"event\":\"log\",\"model\":\"%s\",\"engine\":%d,\"steps\":%lld,"
                 "\"prompt_tokens_total\":%lld,\"generation_tokens_total\":%lld,"
                 "\"prefix_cache_hits_total\":%lld,\"prefix_cache_queries_total\":%lld}\n",
                 escaped(l->model).c_str(), l->engine_index, static_cast<long long>(l->steps),
                 static_cast<long long>(l->last.prompt_tokens_total),
                 static_cast<long long>(l->last.generation_tokens_total),
                 static_cast<long long>(l->last.prefix_cache_hits_total),
                 static_cast<long long>(l->last.prefix_cache_queries_total));
    std::fflush(l->out);
}

// ---- registration ---------------------------------------------------------------------------

void register_all(const actorlm_plugin_host* host) {
    actorlm_logits_processor_v1 lp{};
    lp.name = "example_ban_tokens";
    lp.argmax_invariant = 0;
    lp.create = ban_create;
    lp.destroy = ban_destroy;
    lp.update_state = ban_update;
    lp.apply = ban_apply;
    if (host->register_logits_processor(host->ctx, &lp) != 0) return;

    actorlm_stat_logger_v1 sl{};
    sl.name = "example_jsonl";
    sl.log_interval_seconds = 5.0;
    sl.create = jsonl_create;
    sl.destroy = jsonl_destroy;
    sl.record = jsonl_record;
    sl.log = jsonl_log;
    if (host->register_stat_logger(host->ctx, &sl) != 0) return;

    actorlm_architecture_v1 arch{};
    arch.name = "example_llama";
    arch.base = "llama";
    arch.hf_model_type = "example_llama";
    arch.hf_class_name = "ExampleLlamaForCausalLM";
    arch.qkv_bias = -1;
    arch.qk_norm = -1;
    host->register_architecture(host->ctx, &arch);
}

}  // namespace

ACTORLM_PLUGIN_DEFINE(register_all)
