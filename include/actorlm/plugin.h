/* actorlm plugin ABI (docs/plugins.md): what a plugin shared library sees of the host.
 *
 * A plugin exports one C function, actorlm_plugin_register (ACTORLM_PLUGIN_ENTRY_NAME), that
 * receives the host's table: the host's API version and a registration function for each
 * thing a plugin can register. Everything crosses the boundary as C structs and function
 * pointers, so a plugin needs no symbol of the executable and may be built by any C or C++
 * compiler. Write the entry point with ACTORLM_PLUGIN_DEFINE(fn): it registers nothing when
 * the host's version differs from the one the plugin was built with, and returns that
 * version, so the host can refuse the plugin naming both.
 *
 * Version rule: ACTORLM_PLUGIN_API_VERSION changes whenever any struct or signature below
 * changes (no field is ever appended compatibly); the host loads only plugins built for its
 * exact version. Plain C; every callback is called from one thread at a time per object. */
#ifndef ACTORLM_PLUGIN_H
#define ACTORLM_PLUGIN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ACTORLM_PLUGIN_API_VERSION 1u
#define ACTORLM_PLUGIN_ENTRY_NAME "actorlm_plugin_register"

/* ---- logits processors (vLLM v1's LogitsProcessor) ----------------------------------- */

/* A request that joined the engine's batch: `slot` names it in every later update and apply
 * until it is removed (slots are reused after removal). The pointers live only during the
 * update_state call: copy what you keep. */
typedef struct actorlm_lp_added_request {
    int32_t slot;
    const char* request_id;
    /* The request's extra arguments (vLLM's SamplingParams.extra_args; the server's
     * `vllm_xargs` body field) as a JSON object text, "" when none. */
    const char* extra_args_json;
    float temperature; /* 0: greedy */
    int32_t max_tokens;
    const int32_t* prompt_token_ids;
    int64_t num_prompt_tokens;
} actorlm_lp_added_request;

/* One step's batch changes (vLLM's BatchUpdate): removals first, then additions. */
typedef struct actorlm_lp_batch_update {
    const int32_t* removed_slots;
    int64_t num_removed;
    const actorlm_lp_added_request* added;
    int64_t num_added;
} actorlm_lp_batch_update;

/* One logits row to process: the request's slot and the tokens it generated so far. */
typedef struct actorlm_lp_row {
    int32_t slot;
    const int32_t* output_token_ids;
    int64_t num_output_tokens;
} actorlm_lp_row;

typedef struct actorlm_logits_processor_v1 {
    const char* name; /* unique; copied at registration */
    void* user;       /* handed to create */
    /* 1: never changes which token has the largest logit (vLLM's is_argmax_invariant): the
     * host then skips it for greedy rows and applies it after temperature. 0: applied to
     * every row before the greedy/random split, with logit_bias and the penalties. */
    int32_t argmax_invariant;
    /* One instance per engine (model runner); null = failure (the engine does not start). */
    void* (*create)(void* user, int64_t vocab_size);
    void (*destroy)(void* self);
    /* Called before apply whenever the batch changed since the last call. */
    void (*update_state)(void* self, const actorlm_lp_batch_update* update);
    /* `logits` holds num_rows rows of vocab_size floats, edited in place (-INFINITY bans). */
    void (*apply)(void* self, float* logits, int64_t num_rows, int64_t vocab_size,
                  const actorlm_lp_row* rows);
} actorlm_logits_processor_v1;

/* ---- stat loggers (vLLM's StatLoggerBase) ---------------------------------------------- */

/* The engine's state after a step and its counters since start (scheduler stats). */
typedef struct actorlm_scheduler_stats_v1 {
    int64_t num_running_reqs;
    int64_t num_waiting_reqs;
    double kv_cache_usage;              /* 0..1 */
    int64_t prefix_cache_queries_total; /* tokens */
    int64_t prefix_cache_hits_total;
    int64_t num_preemptions_total;
    int64_t prompt_tokens_total;
    int64_t generation_tokens_total;
} actorlm_scheduler_stats_v1;

/* What one step did (vLLM's IterationStats). */
typedef struct actorlm_iteration_stats_v1 {
    int64_t step;                  /* 1-based count of engine steps */
    double unix_time;              /* when the step's results arrived */
    double step_seconds;           /* since the previous step's results (0 for the first) */
    int64_t num_prompt_tokens;     /* prompt tokens this step admitted */
    int64_t num_generation_tokens; /* tokens this step sampled */
    int64_t num_finished_reqs;     /* sequences that ended this step */
} actorlm_iteration_stats_v1;

typedef struct actorlm_stat_logger_v1 {
    const char* name; /* unique; copied at registration */
    void* user;
    /* log() is called when at least this many seconds passed since the last log() (checked
     * after each step; vLLM logs every 5 s) and once when the engine stops. <= 0: 5 s. */
    double log_interval_seconds;
    /* One instance per engine; `model_name` as served. Null = failure (not started). */
    void* (*create)(void* user, const char* model_name, int32_t engine_index);
    void (*destroy)(void* self);
    void (*record)(void* self, const actorlm_scheduler_stats_v1* scheduler,
                   const actorlm_iteration_stats_v1* iteration);
    void (*log)(void* self);
} actorlm_stat_logger_v1;

/* ---- model architectures ---------------------------------------------------------------- */

/* A new architecture name over a built-in family's tensor layout (its weight names, GGUF
 * Q/K row order, config keys), with its own recipe made of features the backends run. */
typedef struct actorlm_architecture_v1 {
    const char* name;          /* GGUF general.architecture and GGUF key prefix */
    const char* base;          /* a built-in family: "llama", "qwen2", "qwen3" */
    const char* hf_model_type; /* config.json "model_type"; null: GGUF only */
    const char* hf_class_name; /* config.json "architectures"[0] */
    /* Recipe: the base's recipe with these switched (-1 keeps the base's value). */
    int32_t qkv_bias;
    int32_t qk_norm;
    float embedding_scale;     /* 0 keeps the base's */
    float final_logit_softcap; /* 0 keeps the base's */
} actorlm_architecture_v1;

/* ---- KV connectors ------------------------------------------------------------------------ */

/* KV connectors are C++ objects (engine/kv/kv_connector.hpp); a plugin built from the same
 * actorlm source and compiler registers one through `register_kv_connector_cxx`, which the
 * host sets only when the plugin's `build_id` argument equals host->build_id. */

/* ---- the host table ------------------------------------------------------------------------ */

typedef struct actorlm_plugin_host {
    uint32_t api_version;     /* ACTORLM_PLUGIN_API_VERSION of the host */
    const char* host_version; /* actorlm's version text */
    const char* build_id;     /* compiler and source identity, for the C++ tier */
    void* ctx;                /* pass back to every function below */
    /* Each returns 0 on success, else nonzero after recording why (see fail). */
    int32_t (*register_logits_processor)(void* ctx, const actorlm_logits_processor_v1* lp);
    int32_t (*register_stat_logger)(void* ctx, const actorlm_stat_logger_v1* logger);
    int32_t (*register_architecture)(void* ctx, const actorlm_architecture_v1* arch);
    /* `factory` is a pointer to an actorlm::kv::kv_connector_factory, `extra_keys` the
     * kv_connector_extra_config keys it accepts; refused unless build_id matches. */
    int32_t (*register_kv_connector_cxx)(void* ctx, const char* build_id, const char* name,
                                         const char* const* extra_keys, int64_t num_extra_keys,
                                         const void* factory);
    /* The plugin failed: the host refuses it with `message` and drops what it registered. */
    void (*fail)(void* ctx, const char* message);
    /* A line in the host's log (stderr). */
    void (*log)(void* ctx, const char* message);
} actorlm_plugin_host;

/* The entry point: registers through `host` and returns ACTORLM_PLUGIN_API_VERSION. */
typedef uint32_t (*actorlm_plugin_register_fn)(const actorlm_plugin_host* host);

#ifdef __cplusplus
#define ACTORLM_PLUGIN_EXTERN_C extern "C"
#else
#define ACTORLM_PLUGIN_EXTERN_C
#endif

/* Defines the entry point around `fn(const actorlm_plugin_host*)`, which is called only when
 * the host's API version is this plugin's. */
#define ACTORLM_PLUGIN_DEFINE(fn)                                           \
    ACTORLM_PLUGIN_EXTERN_C __attribute__((visibility("default"))) uint32_t \
    actorlm_plugin_register(const actorlm_plugin_host* host) {              \
        if (host->api_version == ACTORLM_PLUGIN_API_VERSION) fn(host);      \
        return ACTORLM_PLUGIN_API_VERSION;                                  \
    }

#ifdef __cplusplus
}
#endif

#endif /* ACTORLM_PLUGIN_H */
