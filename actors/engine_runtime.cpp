// engine_runtime implementation: startup (model, tokenizer, KV sizing, workers,
// actors) and the thread-safe entry points the facade forwards to.
#include "actors/engine_runtime.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "core/kv_cache_sizing.hpp"
#include "core/prompt_builder.hpp"
#include "model/executor_factory.hpp"
#include "actors/worker_actor.hpp"

namespace actorlm::actors {

namespace {

constexpr double k_default_kv_memory_fraction = 0.2;
constexpr size_t k_encoder_cache_entries = 64;

core::scheduler_config scheduler_config_for(const engine_config& cfg, const model_config& mc,
                                            int32_t max_model_len, int32_t num_blocks) {
    core::scheduler_config sc;
    sc.num_blocks = num_blocks;
    sc.block_size = cfg.block_size;
    sc.max_model_len = max_model_len;
    sc.max_num_seqs = cfg.max_num_seqs;
    sc.max_num_batched_tokens = cfg.max_num_batched_tokens;
    sc.long_prefill_token_threshold = cfg.long_prefill_token_threshold;
    sc.enable_prefix_caching = cfg.enable_prefix_caching;
    sc.policy = cfg.scheduling_policy == "priority" ? core::scheduling_policy::priority
                                                     : core::scheduling_policy::fcfs;
    sc.vocab_size = mc.vocab_size;
    return sc;
}

/// Splits `num_layers` into `n` contiguous stages as evenly as possible.
std::vector<std::pair<int64_t, int64_t>> split_layers(int64_t num_layers, size_t n) {
    std::vector<std::pair<int64_t, int64_t>> out;
    int64_t begin = 0;
    for (size_t i = 0; i < n; ++i) {
        int64_t len = num_layers / static_cast<int64_t>(n) +
                      (static_cast<int64_t>(i) < num_layers % static_cast<int64_t>(n) ? 1 : 0);
        out.emplace_back(begin, begin + len);
        begin += len;
    }
    return out;
}

}  // namespace

std::unique_ptr<engine_runtime> engine_runtime::create(const engine_config& cfg,
                                                       std::string* error) {
    auto fail = [&](const std::string& msg) -> std::unique_ptr<engine_runtime> {
        if (error) *error = msg;
        return nullptr;
    };
    if (cfg.model_path.empty()) return fail("no model given (model_path is empty)");
    if (cfg.block_size <= 0 || cfg.block_size > 1024)
        return fail("block_size must be in 1..1024, got " + std::to_string(cfg.block_size));
    if (cfg.max_num_seqs <= 0) return fail("max_num_seqs must be positive");
    if (cfg.scheduling_policy != "fcfs" && cfg.scheduling_policy != "priority")
        return fail("scheduling_policy must be fcfs or priority, got '" + cfg.scheduling_policy + "'");

    std::unique_ptr<engine_runtime> rt(new engine_runtime());
    auto model = load_model(cfg.model_path);
    if (!model) return fail(model.message());
    rt->model_ = std::make_shared<const loaded_model>(std::move(model.value()));
    const model_config& mc = rt->model_->config;

    auto tok = load_tokenizer_for_model(cfg.model_path);
    if (!tok) return fail("tokenizer: " + tok.message());
    rt->tok_ = std::shared_ptr<const tokenizer>(std::move(tok.value()));
    std::string template_text = rt->tok_->chat_template();
    if (!cfg.chat_template.empty()) {
        // A path to a .jinja file, or the template itself (vllm serve --chat-template).
        std::ifstream in(cfg.chat_template, std::ios::binary);
        if (in) {
            template_text.assign(std::istreambuf_iterator<char>(in), {});
        } else if (cfg.chat_template.find("{{") != std::string::npos ||
                   cfg.chat_template.find("{%") != std::string::npos) {
            template_text = cfg.chat_template;
        } else {
            return fail("chat template '" + cfg.chat_template + "' is neither a readable file "
                        "nor a Jinja template");
        }
    }
    if (!template_text.empty()) {
        auto chat = chat_template::parse(template_text);
        if (chat) rt->chat_ = std::make_shared<const chat_template>(std::move(chat.value()));
        else if (!cfg.chat_template.empty()) return fail("chat template: " + chat.message());
        else rt->chat_error_ = chat.message();
    }

    int32_t max_model_len = static_cast<int32_t>(mc.max_position);
    if (cfg.max_model_len > 0) {
        if (cfg.max_model_len > mc.max_position)
            return fail("max_model_len " + std::to_string(cfg.max_model_len) +
                        " exceeds the model's context length " + std::to_string(mc.max_position));
        max_model_len = cfg.max_model_len;
    }
    auto kv_type = resolve_kv_dtype(cfg.kv_cache_dtype, rt->model_->weights);
    if (!kv_type) return fail(kv_type.message());
    auto blocks = cfg.kv_cache_memory_bytes > 0
                      ? core::kv_blocks_for_budget(mc, cfg.block_size, kv_type.value(),
                                                   cfg.kv_cache_memory_bytes)
                      : core::kv_blocks_for_free_memory(mc, cfg.block_size, kv_type.value(),
                                                        k_default_kv_memory_fraction);
    if (!blocks) return fail("KV cache: " + blocks.message());
    // More blocks than max_num_seqs full-length sequences can use would only waste memory.
    const int64_t useful = static_cast<int64_t>(cfg.max_num_seqs) *
                               ((max_model_len + cfg.block_size - 1) / cfg.block_size) + 1;
    const int32_t num_blocks =
        static_cast<int32_t>(std::min<int64_t>(blocks.value(), useful));

    rt->cfg_ = std::make_unique<runtime_config>();
    rt->sys_ = std::make_unique<caf::actor_system>(*rt->cfg_);
    auto& sys = *rt->sys_;

    // Workers: one local stage, or one remote stage per --worker.
    std::vector<worker_address> addresses;
    if (cfg.workers.empty()) {
        rt->workers_.push_back(spawn_worker(sys, rt->model_, cfg.device));
    } else {
        rt->remote_workers_ = true;
        for (const auto& w : cfg.workers) {
            worker_address a;
            std::string err;
            if (!parse_worker_address(w, &a, &err)) return fail(err);
            auto handle = sys.middleman().remote_actor<worker_actor>(a.host, a.port);
            if (!handle)
                return fail("cannot reach worker " + w + ": " + sys.render(handle.error()));
            rt->workers_.push_back(*handle);
            addresses.push_back(a);
        }
    }
    if (static_cast<int64_t>(rt->workers_.size()) > mc.num_layers)
        return fail("more workers than model layers");
    std::vector<worker_setup> setups;
    auto ranges = split_layers(mc.num_layers, rt->workers_.size());
    const int32_t threads = cfg.num_threads > 0
                                ? cfg.num_threads
                                : static_cast<int32_t>(std::thread::hardware_concurrency());
    for (size_t i = 0; i < rt->workers_.size(); ++i) {
        worker_setup s;
        s.stage_index = static_cast<int32_t>(i);
        s.num_stages = static_cast<int32_t>(rt->workers_.size());
        s.first_layer = ranges[i].first;
        s.last_layer = ranges[i].second;
        s.num_blocks = num_blocks;
        s.block_size = cfg.block_size;
        s.kv_dtype = kv_type.value() == dtype::f16 ? "f16" : "f32";
        s.num_threads = threads;
        setups.push_back(s);
    }
    scheduler_actor_config sac;
    sac.sched = scheduler_config_for(cfg, mc, max_model_len, num_blocks);
    sac.stages = setups;
    if (auto err = setup_workers(sys, rt->workers_, setups, sac.setup_timeout); !err.empty())
        return fail(err);

    rt->kv_ = spawn_kv_cache_actor(sys, num_blocks);
    rt->encoder_cache_ = spawn_encoder_cache_actor(sys, k_encoder_cache_entries);
    if (rt->remote_workers_) rt->connector_ = spawn_connector(sys, addresses);
    rt->scheduler_ = spawn_scheduler(sys, sac, rt->workers_, rt->kv_, rt->connector_,
                                     rt->remote_workers_ ? scheduler_threading::scheduled
                                                         : scheduler_threading::detached);
    detokenizer_config dc;
    dc.eos_token_ids = mc.eos_token_ids;
    for (int32_t id : rt->tok_->eos_ids())
        if (std::find(dc.eos_token_ids.begin(), dc.eos_token_ids.end(), id) ==
            dc.eos_token_ids.end())
            dc.eos_token_ids.push_back(id);
    dc.max_model_len = max_model_len;
    rt->detokenizer_ = spawn_detokenizer(sys, rt->tok_, rt->chat_, dc, rt->scheduler_);
    rt->frontend_ = spawn_frontend(sys, rt->detokenizer_);

    // Default served name: the file's stem or the directory's name ("stories260K"), which
    // is what clients see in /v1/models; GGUF general.name is often just "llama".
    rt->info_.name = cfg.served_model_name;
    if (rt->info_.name.empty()) {
        std::filesystem::path p(cfg.model_path);
        if (p.filename().empty()) p = p.parent_path();
        rt->info_.name = std::filesystem::is_directory(p) ? p.filename().string() : p.stem().string();
    }
    if (rt->info_.name.empty()) rt->info_.name = mc.name;
    rt->info_.max_model_len = max_model_len;
    rt->info_.vocab_size = static_cast<int32_t>(mc.vocab_size);
    return rt;
}

engine_runtime::~engine_runtime() {
    if (!sys_) return;
    auto stop = [](const auto& h) {
        if (h) caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
    };
    stop(frontend_);
    stop(detokenizer_);
    stop(scheduler_);
    stop(kv_);
    stop(encoder_cache_);
    stop(connector_);
    if (!remote_workers_)
        for (const auto& w : workers_) stop(w);
    workers_.clear();
    frontend_ = nullptr;
    detokenizer_ = nullptr;
    scheduler_ = nullptr;
    kv_ = nullptr;
    encoder_cache_ = nullptr;
    connector_ = nullptr;
    sys_.reset();
}

std::string engine_runtime::submit(generate_request req, delta_callback on_delta) {
    if (req.request_id.empty())
        req.request_id = "req-" + std::to_string(next_id_.fetch_add(1));
    std::string id = req.request_id;
    caf::anon_send(frontend_, submit_atom_v, submission{std::move(req), std::move(on_delta)});
    return id;
}

void engine_runtime::abort(const std::string& request_id) {
    caf::anon_send(frontend_, abort_atom_v, request_id);
}

engine_stats engine_runtime::stats() const {
    engine_stats out;
    caf::scoped_actor self{*sys_, true};
    self->request(scheduler_, std::chrono::seconds(5), stats_atom_v)
        .receive([&](engine_stats& s) { out = std::move(s); },
                 [&](caf::error& err) {
                     out.healthy = false;
                     out.health_message = "scheduler did not answer: " + sys_->render(err);
                 });
    return out;
}

kv_step_report engine_runtime::kv_report() const {
    kv_step_report out;
    caf::scoped_actor self{*sys_, true};
    self->request(kv_, std::chrono::seconds(5), stats_atom_v)
        .receive([&](kv_step_report& r) { out = r; }, [](caf::error&) {});
    return out;
}

}  // namespace actorlm::actors
