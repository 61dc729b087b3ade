// actorlm embedding API: run an LLM engine inside your own program.
//
//   actorlm::engine_config cfg;
//   cfg.model_path = "model.gguf";
//   std::string err;
//   auto eng = actorlm::engine::create(cfg, &err);
//   actorlm::generate_request req;
//   req.prompt = "Once upon a time";
//   req.params.max_tokens = 32;
//   auto stream = eng->generate(std::move(req));
//   actorlm::output_delta d;
//   while (stream.next(d)) std::cout << d.text;
//
// This header holds no CAF or CUDA types: the engine's actors live behind a pimpl.
// All methods are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "actorlm/error_kind.hpp"

namespace actorlm {

/// The most logprobs (top alternatives) a request may ask for per token: vLLM's default
/// max_logprobs and OpenAI's top_logprobs limit. The server and the engine both check it.
inline constexpr int32_t k_max_logprobs = 20;

/// Disaggregated prefill (vLLM's kv_transfer_params, same keys): one engine (a KV
/// producer) computes a prompt's KV and keeps it; another (a consumer) pulls it and
/// decodes. The router fills these; an HTTP client may too (docs/cluster.md).
struct kv_transfer_params {
    bool do_remote_decode = false;   // on a producer: keep the prompt's KV for a consumer
    bool do_remote_prefill = false;  // on a consumer: pull the prompt's KV from the producer
    std::string remote_host;         // the producer's --cluster-listen host and port
    int32_t remote_port = 0;
    std::string remote_request_id;          // the producer's name for the kept KV
    std::vector<int32_t> remote_block_ids;  // the producer's blocks, one per full prompt block
};

/// Sampling and stopping controls of one request (OpenAI + vLLM fields).
/// Structured output (vLLM's StructuredOutputsParams, OpenAI's response_format): the
/// generated text is constrained to a language. The engine compiles it into a grammar
/// whose token mask is applied before sampling, and allows EOS only where the grammar may
/// end; check_sampling_params reports a spec it cannot constrain (an unsupported JSON
/// Schema keyword, a bad regex or grammar) with the reason.
struct structured_output_params {
    enum class kind : uint8_t { none, json_schema, json_object, regex, choice, grammar };
    structured_output_params::kind type = kind::none;
    std::string spec;                  // the JSON schema (JSON text), the regex or the GBNF grammar
    std::vector<std::string> choices;  // kind::choice: the output is exactly one of these
    // A reasoning model (the server's --reasoning-parser) thinks first: the grammar then
    // applies from the token after `reasoning_end` ("</think>") in the output, or from the
    // first token when the prompt's last marker is `reasoning_end` (the template closed the
    // block: Qwen3's enable_thinking=false). Until then any token may follow, as in vLLM.
    // Empty: constrained from the first token.
    std::string reasoning_start, reasoning_end;
    bool active() const { return type != kind::none; }
};

/// "json", "json_object", "regex", "choice", "grammar"; "" for none (vLLM's key names).
const char* structured_output_kind_name(structured_output_params::kind k);

/// An embedding instead of generated text (vLLM's PoolingParams with its pooling_type):
/// the prompt is prefilled (chunked and prefix-cached like any prompt), the final-norm
/// hidden states of its positions are pooled into one vector, and the request finishes
/// with finish_reason::stop, that vector in output_delta::embedding and no token.
/// Any causal decoder can be asked (Qwen3-Embedding style models use last).
struct pooling_params {
    enum class kind : uint8_t {
        last,  // the last prompt token's hidden state (decoder embedding models)
        mean,  // the mean over every prompt position
        cls,   // the first prompt token's hidden state (BERT's [CLS])
    };
    pooling_params::kind type = kind::last;
    bool normalize = true;  // divide by the L2 norm (vLLM's default for embeddings)
};

/// "LAST", "MEAN", "CLS" (vLLM's pooling_type names).
const char* pooling_kind_name(pooling_params::kind k);

struct sampling_params {
    int32_t n = 1;             // sequences per prompt, sharing the prompt's KV blocks
    float temperature = 1.0f;  // 0 = greedy
    float top_p = 1.0f;
    int32_t top_k = 0;  // 0 or -1 = off
    float min_p = 0.0f;
    std::optional<uint64_t> seed;  // per-request RNG seed; same output whatever the batch
    float presence_penalty = 0.0f;
    float frequency_penalty = 0.0f;
    float repetition_penalty = 1.0f;
    std::vector<std::pair<int32_t, float>> logit_bias;
    int32_t max_tokens = 16;  // -1 = up to the model length
    int32_t min_tokens = 0;
    bool ignore_eos = false;
    std::vector<std::string> stop;
    std::vector<int32_t> stop_token_ids;
    bool include_stop_str_in_output = false;
    bool skip_special_tokens = true;
    bool spaces_between_special_tokens = true;
    int32_t logprobs = -1;  // -1 none; k >= 0: sampled token's logprob + top k (k <= 20)
    int32_t prompt_logprobs = -1;
    // With speculative decoding on (engine_config::speculative_config): false keeps this
    // request out of it (one token per step, never drafted for). Every other field is
    // applied to each verified position exactly as without speculation, so none needs this.
    bool speculative_decoding = true;
    // KV handed between engines (vLLM carries it in SamplingParams.extra_args too, so
    // it travels wherever the request does). Unset: an ordinary request.
    std::optional<kv_transfer_params> kv_transfer;
    // Constrains the output to a schema, regex, choice or grammar; none by default.
    structured_output_params structured_output;
    // Set: the request embeds its prompt instead of generating (see pooling_params); the
    // sampling fields are then ignored, n must be 1 and prompt_logprobs off.
    std::optional<pooling_params> pooling;
    // Extra arguments for plugins' logits processors (vLLM's SamplingParams.extra_args; the
    // server's `vllm_xargs` body field): a JSON object text, empty = none (docs/plugins.md).
    std::string extra_args_json;
};

/// Why a sampling_params cannot be sampled: the offending field (its OpenAI / vLLM
/// name) and what is wrong with it ("must be in (0, 1], got 1.5").
struct sampling_params_error {
    std::string field;
    std::string message;
};

/// The one table of allowed ranges (vLLM's SamplingParams._verify_args), used by the
/// server before a request is queued and by the engine when it is added; nullopt when
/// `p` is fine. Token ids are checked by the engine, which knows the vocabulary.
std::optional<sampling_params_error> check_sampling_params(const sampling_params& p);

/// An image of a chat message: its encoded bytes (PNG, JPEG, WebP or GIF; the engine
/// decodes them) and where it came from, which error messages quote. The server fetches
/// the bytes from the request's image_url; an embedder may fill them directly.
struct image_input {
    std::string data;    // encoded bytes
    std::string source;  // e.g. the URL ("data:image/png;base64,..." shortened), a file name
};

/// One part of a chat message's content, in order (chat templates render an image
/// part where it stands).
struct content_part {
    enum class kind { text, image };
    content_part::kind type = kind::text;
    std::string text;   // type text
    image_input image;  // type image
};

struct chat_message {
    std::string role;
    std::string content;  // the text (text parts joined with '\n', as vLLM joins them)
    std::string name;
    std::string tool_call_id;
    std::string tool_calls_json;  // JSON array as sent by the client, or empty
    // The content's parts in order when it holds an image; empty for text-only content,
    // which `content` then carries alone.
    std::vector<content_part> parts;
};

/// engine::prepare_prompt's result: a prompt's token ids and processed images, opaque here.
struct prepared_prompt;

struct generate_request {
    std::string request_id;                 // empty: the engine assigns one
    std::string prompt;                     // one of prompt, prompt_token_ids, messages; when
    std::vector<int32_t> prompt_token_ids;  // prompt_token_ids is set it is what runs
    std::vector<chat_message> messages;
    std::string tools_json;  // JSON array of tool definitions, or empty
    // A JSON object of extra chat-template variables (vLLM's chat_template_kwargs, e.g.
    // {"enable_thinking": false}), set after the standard ones; empty = none.
    std::string chat_template_kwargs_json;
    bool add_generation_prompt = true;
    // Add the model's BOS/EOS around the encoded text (HF's add_special_tokens). Unset: yes
    // for `prompt`, no for `messages`, whose template already writes BOS (vLLM's defaults).
    std::optional<bool> add_special_tokens;
    // Special tokens written in `prompt` ("<|eot_id|>") become those tokens, as HF tokenizers
    // and vLLM encode; false keeps them literal text (HF's split_special_tokens). vLLM has no
    // request field for this, so the server leaves it on; it is here for embedders.
    bool parse_special_tokens = true;
    sampling_params params;
    int32_t priority = 0;    // lower value runs first (vLLM's convention)
    std::string cache_salt;  // isolates prefix-cache hits between tenants
    // A request that already produced these tokens elsewhere (live migration): it goes on
    // after them as if it had sampled them (max_tokens, penalties and the seeded sampler's
    // position count them), and their text is not streamed again. n must be 1.
    std::vector<int32_t> resume_output_token_ids;
    // Set by engine::prepare_prompt: the prompt as that engine prepared it (ids and
    // processed images), which generate() on the same engine then runs as it is instead
    // of tokenizing and preprocessing again. Stays in this process (not sent to cluster
    // members); another engine ignores it.
    std::shared_ptr<const prepared_prompt> prepared;
};

enum class finish_reason { none, stop, length, abort, error };
const char* finish_reason_name(finish_reason r);  // "stop", "length", "abort", "error"; "" for none

struct top_logprob {
    int32_t token_id = 0;
    std::string text;
    float logprob = 0.0f;
};

struct token_logprob {
    int32_t token_id = 0;
    std::string text;
    float logprob = 0.0f;
    std::vector<top_logprob> top;
};

/// What one sequence of a request produced since the last delta.
struct output_delta {
    std::string request_id;
    int32_t index = 0;               // which of the n sequences
    std::string text;                // new text (UTF-8 complete, stop strings held back)
    std::vector<int32_t> token_ids;  // new tokens
    std::vector<token_logprob> logprobs;
    std::vector<std::optional<token_logprob>> prompt_logprobs;  // first delta only
    finish_reason finish = finish_reason::none;
    std::string stop_reason;  // matched stop string, or stop token id as text
    std::string error;        // set when finish == error
    int32_t num_prompt_tokens = 0;
    int32_t num_output_tokens = 0;          // so far, for this sequence
    std::vector<int32_t> prompt_token_ids;  // first delta only
    double queued_seconds = -1.0;           // first delta: arrival to first scheduling; -1 unknown
    // With finish == error: whose fault it was (the server's status code).
    actorlm::error_kind error_kind = actorlm::error_kind::none;
    // Final delta of a request that asked do_remote_decode: where a consumer pulls its KV
    // (do_remote_prefill set), as vLLM's response field. Unset when the KV was not kept.
    std::optional<kv_transfer_params> kv_transfer;
    // Final delta of a pooling request (sampling_params::pooling): the pooled vector,
    // hidden_size floats; empty for generation.
    std::vector<float> embedding;
    bool finished() const { return finish != finish_reason::none; }
};

class request_stream;

// Mutual TLS between cluster nodes (docs/cluster.md "Mutual TLS"): PEM files of this
// node's certificate (chain), its unencrypted private key and the CA that signs every
// node's certificate. All three or none; with them, every connection the node makes or
// accepts (cluster_listen, workers, cluster_members, a KV store) is TLS and both sides
// must present a certificate that chains to the CA; plaintext peers are refused.
struct tls_config {
    std::string cert_file;
    std::string key_file;
    std::string ca_file;
    bool enabled() const { return !cert_file.empty() || !key_file.empty() || !ca_file.empty(); }
};

/// How far engine::create has come reading the weights of the workers in this process
/// and laying them out for their device (llama.cpp's progress_callback): bytes_done
/// grows to bytes_total. Workers in other processes (`workers`) report in their own.
struct load_progress {
    int64_t bytes_done = 0;
    int64_t bytes_total = 0;
};

struct engine_config {
    std::string model_path;             // GGUF file or Hugging Face directory
    // Plugin shared libraries (docs/plugins.md) loaded, once per process, before the engine
    // is built; those of the ACTORLM_PLUGINS environment variable (':'-separated) too.
    std::vector<std::string> plugins;
    // A GGUF text model's image side: llama.cpp's mmproj file (llama-server's --mmproj).
    // Hugging Face directories carry their own vision tower and take none.
    std::string mmproj;
    std::string served_model_name;      // defaults to the model's name
    std::string chat_template;          // Jinja file path or inline template; empty = the model's
    std::string device = "cpu";         // a registered backend: "cpu", "cuda" (CUDA builds)
    std::vector<std::string> workers;   // "host:port" of remote `actorlm worker`s; empty = local
    int32_t num_threads = 0;            // CPU threads; 0 = all cores
    int64_t kv_cache_memory_bytes = 0;  // 0 = a default fraction of free memory
    int32_t block_size = 16;
    std::string kv_cache_dtype = "auto";  // auto (the device's default), f32, f16, bf16, q8_0 (cpu)
    int32_t max_num_seqs = 256;
    int32_t max_num_batched_tokens = 2048;
    int32_t max_model_len = 0;  // 0 = the model's own
    int32_t long_prefill_token_threshold = 0;
    bool enable_prefix_caching = true;
    std::string scheduling_policy = "fcfs";  // fcfs or priority
    uint64_t seed = 0;                       // sampling seed of requests without their own
    // Vision-language models: the frontend's cache of preprocessed images (vLLM's
    // --mm-processor-cache-gb; 0 disables it) and the scheduler's encoder-output budget in
    // embedding tokens, kept and encoded per step (0: max_num_batched_tokens, as vLLM).
    double mm_processor_cache_gb = 4.0;
    int32_t encoder_cache_size = 0;
    // The encoder store: the encoder-cache actor that keeps encoder outputs for the
    // engine's workers (GiB of outputs), published for other engines at HOST:PORT
    // (encoder_store_listen), or another engine's used instead of one of our own
    // (encoder_store_address): an image one engine encoded, another prefills without
    // running its encoder.
    double encoder_store_gb = 1.0;
    std::string encoder_store_listen;
    std::string encoder_store_address;
    // KV connector (vLLM's --kv-transfer-config), JSON; empty = none. Example:
    // {"kv_connector":"OffloadingConnector","kv_role":"kv_both",
    //  "kv_connector_extra_config":{"disk_path":"/tmp/kv","disk_capacity_bytes":"8GiB"}}
    std::string kv_transfer_config;
    // Publish the device prefix cache's block stored / removed / cleared events to the
    // KV-cache actor's subscribers (vLLM's --kv-events-config enable_kv_cache_events).
    bool enable_kv_cache_events = false;
    // Speculative decoding (vLLM's --speculative-config), JSON; empty = off. The n-gram
    // (prompt lookup) proposer is the one method:
    // {"method":"ngram","num_speculative_tokens":4,"prompt_lookup_max":4,"prompt_lookup_min":2}
    std::string speculative_config;
    // Async scheduling (vLLM's --async-scheduling): the scheduler sends step N+1 before
    // step N's tokens are back, so the worker finds its next step queued instead of
    // waiting for the scheduler between steps. Outputs are the same as without it. One
    // pipeline stage; not with speculative decoding or a KV connector (refused).
    bool async_scheduling = false;
    // The cluster (docs/cluster.md). "HOST:PORT" to publish this engine as a cluster
    // member (requests, stats and KV events reachable by a router); empty = not published.
    std::string cluster_listen;
    // A router instead of an engine: "HOST:PORT" of cluster members to send requests to
    // (the model at model_path gives the tokenizer and chat template; no weights run here).
    std::vector<std::string> cluster_members;
    // Prefill/decode disaggregation instead of replicas: a request is prefilled on one of
    // these KV producers, then decoded on one of these consumers, which pulls its KV
    // (both sets run --kv-transfer-config PeerConnector; docs/cluster.md).
    std::vector<std::string> prefill_members;
    std::vector<std::string> decode_members;
    // Prompts shorter than this go straight to a decode member (llm-d's P/D threshold):
    // their prefill costs less than the extra hop. 0 = every prompt is disaggregated.
    int32_t pd_prompt_threshold = 0;
    // Automatic rebalancing: when one member runs more than this many requests beyond
    // another (of this router's), one moves by live migration. 0 = off.
    int32_t rebalance_threshold = 0;
    std::string routing_policy = "round_robin";  // round_robin, least_loaded, prefix_aware
    tls_config tls;  // empty = plaintext between nodes
    // Called while engine::create loads (see load_progress), from the loading thread,
    // one call at a time; must not call into the engine. Empty: nothing reported.
    std::function<void(const load_progress&)> on_load_progress;
};

struct engine_stats {
    int64_t num_requests_running = 0;
    int64_t num_requests_waiting = 0;
    double kv_cache_usage = 0.0;  // 0..1
    // The KV pool's bytes, all stages: allocated, and in memory now (a CPU pool's pages
    // are faulted in as blocks are first written; a GPU pool is resident as a whole).
    int64_t kv_cache_reserved_bytes = 0;
    int64_t kv_cache_resident_bytes = 0;
    int64_t prompt_tokens_total = 0;
    int64_t generation_tokens_total = 0;
    int64_t prefix_cache_queries_total = 0;
    int64_t prefix_cache_hits_total = 0;
    int64_t num_preemptions_total = 0;
    // KV connector (external prefix cache) counters; zeros without a connector.
    int64_t external_prefix_cache_queries_total = 0;  // tokens
    int64_t external_prefix_cache_hits_total = 0;     // tokens
    int64_t kv_connector_blocks_loaded_total = 0;
    int64_t kv_connector_bytes_loaded_total = 0;
    int64_t kv_connector_blocks_saved_total = 0;
    int64_t kv_connector_bytes_saved_total = 0;
    int64_t kv_connector_load_errors_total = 0;
    int64_t kv_connector_save_errors_total = 0;
    double kv_connector_load_seconds_total = 0.0;
    double kv_connector_save_seconds_total = 0.0;
    int64_t kv_connector_saves_skipped_total = 0;  // saving stopped (disk full) or over capacity
    int64_t kv_connector_evictions_total = 0;      // blocks the tier's LRU dropped
    int64_t kv_connector_blocks_stored = 0;        // blocks the tier holds now
    int64_t kv_connector_bytes_stored = 0;
    int64_t num_requests_waiting_for_remote_kvs = 0;  // of num_requests_waiting
    // Vision-language models: images looked up in the frontend's processor cache and
    // found there; encoder inputs the scheduler looked up in its encoder cache and found.
    int64_t mm_processor_cache_queries_total = 0;
    int64_t mm_processor_cache_hits_total = 0;
    int64_t mm_images_processed_total = 0;  // decoded and preprocessed (not from the cache)
    int64_t encoder_cache_queries_total = 0;
    int64_t encoder_cache_hits_total = 0;
    // Speculative decoding (vLLM's spec_decode counters): decode steps of a request that
    // carried drafts, draft tokens verified, drafts accepted, and accepted drafts by their
    // position in the draft (index 0 = the first draft token).
    int64_t spec_decode_num_drafts_total = 0;
    int64_t spec_decode_num_draft_tokens_total = 0;
    int64_t spec_decode_num_accepted_tokens_total = 0;
    std::vector<int64_t> spec_decode_num_accepted_tokens_per_pos;
    // Engine steps answered; the seconds the (first-stage) worker spent running them; and
    // the seconds it waited between two steps while the engine had work (the gap that
    // async scheduling closes: Δwait / Δsteps is the mean gap). Zeros for llm_engine.
    int64_t engine_steps_total = 0;
    double worker_busy_seconds_total = 0.0;
    double worker_wait_seconds_total = 0.0;
    bool healthy = true;
    std::string health_message;
};

struct model_info {
    std::string name;
    int32_t max_model_len = 0;
    int32_t vocab_size = 0;
    // Width of the model's hidden states: the length of a pooling request's embedding.
    int32_t hidden_size = 0;
    // The pooling the model declares (sentence-transformers' 1_Pooling and Normalize
    // modules, GGUF <arch>.pooling_type), what /v1/embeddings applies. Unset: none declared,
    // the server pools LAST (decoder embedding models).
    std::optional<pooling_params> default_pooling;
    // An encoder (BERT): it embeds only; a generation request is refused.
    bool embedding_only = false;
    // The model takes image content parts: a vision-language model (LLaVA, Idefics3) whose
    // worker runs in the engine's process. The server refuses images to other models
    // before fetching them.
    bool supports_image_input = false;
};

/// One member of a router (engine_config::cluster_members, prefill_members,
/// decode_members, or added while it runs).
struct cluster_member_info {
    std::string address;          // HOST:PORT of its --cluster-listen
    std::string role;             // "replica", "prefill" or "decode"
    bool connected = false;       // reachable now
    bool healthy = false;         // connected and its last stats said healthy
    int64_t num_requests_running = 0;
    int64_t num_requests_waiting = 0;
};

class engine {
public:
    /// Loads the model and starts the engine; nullptr with *error set on failure.
    static std::unique_ptr<engine> create(const engine_config& cfg, std::string* error);
    ~engine();

    /// Submits a request; iterate the returned stream for output deltas.
    request_stream generate(generate_request req);
    /// Submits a request; `on_delta` runs on an engine thread for every delta
    /// (the last one has finished() true). Returns the request id.
    std::string generate(generate_request req, std::function<void(const output_delta&)> on_delta);
    /// Aborts a request; its remaining delta reports finish_reason::abort.
    void abort(const std::string& request_id);

    engine_stats stats() const;
    /// Forgets every cached prefix block of the device KV cache (vLLM's
    /// reset_prefix_cache), e.g. before a benchmark. False with *error, changing
    /// nothing, while any request holds blocks.
    bool reset_prefix_cache(std::string* error);
    model_info info() const;

    /// A router's members (empty for an engine that is not a router).
    std::vector<cluster_member_info> cluster_members() const;
    /// Adds a member to a running router (role "replica" for a replica router, "prefill"
    /// or "decode" for a disaggregated one); it gets requests once connected. False with
    /// *error, changing nothing, when this is no router, the member is unreachable, serves
    /// another model, or is a member already.
    bool add_cluster_member(const std::string& address, const std::string& role,
                            std::string* error);
    /// Removes a member: it gets no new requests; the ones it runs finish there.
    bool remove_cluster_member(const std::string& address, std::string* error);
    /// Live migration on a router: moves the running requests of member `from` (all, or
    /// only `request_id`) to member `to`, with their KV (pulled when both run
    /// PeerConnector, recomputed otherwise), generated tokens and sampler state; their
    /// streams go on with no gap or repeat. Returns how many were asked to move, or -1
    /// with *error (no router, unknown member, a request that is not there).
    int32_t migrate_requests(const std::string& from, const std::string& to,
                             const std::string& request_id, std::string* error);

    /// Tokenizer access for /tokenize, /detokenize and chat rendering. tokenize() parses
    /// special tokens written in `text`, as HF tokenizers do.
    bool tokenize(const std::string& text, bool add_special, std::vector<int32_t>* ids,
                  std::string* error) const;
    /// The prompt token ids generate() would run for `req` (its prompt, token ids or
    /// messages, with its add_special_tokens / parse_special_tokens); false with *error
    /// set when generate() would reject the prompt (no template, bad id, empty prompt).
    bool tokenize_prompt(const generate_request& req, std::vector<int32_t>* ids,
                         std::string* error) const;
    /// Prepares `req` for generate() once: sets prompt_token_ids (what tokenize_prompt
    /// gives) and `prepared` (those ids with the request's processed images), so a caller
    /// that must see the prompt's length first (the server's context check) does not make
    /// generate() tokenize, decode and resize the images again. Its image lookups count in
    /// the processor cache's statistics as generate()'s would. False with *error as
    /// tokenize_prompt.
    bool prepare_prompt(generate_request& req, std::string* error) const;
    bool detokenize(const std::vector<int32_t>& ids, std::string* text, std::string* error) const;
    bool apply_chat_template(const std::vector<chat_message>& messages,
                             const std::string& tools_json, bool add_generation_prompt,
                             std::string* prompt, std::string* error) const;

    struct impl;

private:
    explicit engine(std::unique_ptr<impl> p);
    std::unique_ptr<impl> impl_;
};

/// A blocking iterator over one request's deltas (all n sequences interleaved).
class request_stream {
public:
    request_stream();
    ~request_stream();
    request_stream(request_stream&&) noexcept;
    request_stream& operator=(request_stream&&) noexcept;

    const std::string& request_id() const;
    /// Blocks for the next delta; false once every sequence has finished.
    bool next(output_delta& out);
    void abort();

    struct state;

private:
    friend class engine;
    std::shared_ptr<state> state_;
};

}  // namespace actorlm
