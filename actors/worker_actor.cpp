// worker actor implementation: setup builds the stage executor and a
// model_runner; each step applies the scheduler_output delta and runs the
// stage. Activations travel as raw bytes (std::vector<char> is memcpy'd by
// CAF's serializer; vector<float> would be packed element by element).
#include "actors/worker_actor.hpp"

#include <chrono>
#include <cstring>

#include "core/model_runner.hpp"
#include "multimodal/image_encoder.hpp"
#include "multimodal/vision_language.hpp"
#include "backends/backend.hpp"
#include "structured/grammar_compiler.hpp"
#include "tokenizer/tokenizer.hpp"

namespace actorlm::actors {

namespace {

struct worker_state {
    worker_state() = default;  // not an aggregate: CAF probes State(self)
    // The connector's tier is shared with the scheduler and may outlive this
    // worker: its loads into our cache must end before the executor frees it.
    ~worker_state() {
        if (connector) connector->shutdown();
    }
    worker_state(const worker_state&) = delete;
    worker_state& operator=(const worker_state&) = delete;
    executor_builder build;
    std::string device;
    std::unique_ptr<model_executor> exec;
    std::unique_ptr<core::model_runner> runner;
    std::shared_ptr<kv::kv_connector_worker> connector;  // kept across setups
    /// A vision-language model's tower (first stage only), kept across setups.
    std::shared_ptr<const multimodal::vision_model> vision;
    std::shared_ptr<multimodal::encoder_output_store> encoder_store;
    std::shared_ptr<structured::grammar_compiler> grammars;  // kept across setups
    worker_setup setup;
    // When the pool's resident bytes are measured next (mincore over the whole pool:
    // once a second at most, not every step).
    std::chrono::steady_clock::time_point next_residency_check{};
    // When its last step ended (unset before the first): the idle gap before a step.
    std::optional<std::chrono::steady_clock::time_point> last_step_end;
    static inline const char* name = "actorlm.worker";
};

caf::error worker_error(engine_errc code, const std::string& msg) {
    return caf::make_error(code, msg);
}

/// Registers the connector's worker side with the executor's cache and the runner.
status attach_connector(worker_state& st) {
    if (!st.connector) return {};
    kv_block_io* caches = st.exec->kv_blocks();
    if (caches == nullptr)
        return make_error("backend '%s' offers KV connectors no block access to its cache",
                          st.device.c_str());
    ACTORLM_TRY(st.connector->register_kv_caches(*caches));
    st.runner->set_kv_connector(st.connector);
    return {};
}

worker_actor::behavior_type worker_impl(worker_actor::stateful_pointer<worker_state> self,
                                        executor_builder build, std::string device,
                                        std::shared_ptr<const multimodal::vision_model> vision,
                                        std::shared_ptr<multimodal::encoder_output_store> store,
                                        std::shared_ptr<structured::grammar_compiler> grammars) {
    self->state.grammars = std::move(grammars);
    self->state.build = std::move(build);
    self->state.device = std::move(device);
    self->state.vision = std::move(vision);
    self->state.encoder_store = std::move(store);
    return {
        [self](setup_atom, const worker_setup& setup) -> caf::result<worker_info> {
            auto& st = self->state;
            if (st.connector) st.connector->shutdown();  // no load into the old cache
            st.runner.reset();  // the runner references the executor: drop it first
            st.exec.reset();
            auto exec = st.build(setup);
            if (!exec) return worker_error(engine_errc::bad_setup, exec.message());
            st.exec = std::move(exec.value());
            st.runner = std::make_unique<core::model_runner>(*st.exec, setup.seed);
            if (st.grammars) st.runner->set_grammar_compiler(st.grammars);
            if (st.vision && setup.stage_index == 0) {
                st.runner->set_image_encoder(
                    std::make_shared<multimodal::image_encoder>(st.vision, setup.num_threads));
                if (st.encoder_store) st.runner->set_encoder_store(st.encoder_store);
            }
            if (auto att = attach_connector(st); !att)
                return worker_error(engine_errc::bad_setup, att.message());
            st.setup = setup;
            const model_config& cfg = st.exec->config();
            worker_info info;
            info.model_name = cfg.name;
            info.num_layers = cfg.num_layers;
            info.hidden_size = cfg.hidden_size;
            info.vocab_size = cfg.vocab_size;
            info.kv_cache_bytes = static_cast<int64_t>(st.exec->kv_cache_bytes());
            info.num_blocks = st.exec->kv_spec().num_blocks;
            info.device = st.device;
            info.returns_hidden_states = st.exec->returns_hidden_states();
            if (const kv_block_io* io = st.exec->kv_blocks()) {
                info.kv_block_layer_bytes = static_cast<int64_t>(io->block_layer_bytes());
                info.num_kv_layers = io->num_kv_layers();
            }
            return info;
        },
        [self](kv_atom, kv_connector_install& install) -> caf::result<bool> {
            auto& st = self->state;
            if (!st.runner) return worker_error(engine_errc::bad_setup, "worker is not set up");
            st.connector = std::move(install.worker);
            if (auto att = attach_connector(st); !att) {
                st.connector.reset();
                return worker_error(engine_errc::bad_setup, att.message());
            }
            return true;
        },
        [self](step_atom, const core::scheduler_output& so,
               const std::vector<char>& hidden_in) -> caf::result<stage_result> {
            auto& st = self->state;
            if (!st.runner) return worker_error(engine_errc::bad_setup, "worker is not set up");
            const auto started = std::chrono::steady_clock::now();
            const size_t hidden_bytes = static_cast<size_t>(so.total_num_scheduled_tokens) *
                                        static_cast<size_t>(st.exec->config().hidden_size) *
                                        sizeof(float);
            const bool first_stage = st.setup.stage_index == 0;
            if (!first_stage && hidden_in.size() != hidden_bytes)
                return worker_error(engine_errc::worker_failed,
                                    "stage " + std::to_string(st.setup.stage_index) + " expected " +
                                        std::to_string(hidden_bytes) + " activation bytes, got " +
                                        std::to_string(hidden_in.size()));
            // vector<char> storage is only byte-aligned; copy into floats.
            std::vector<float> hidden;
            if (!first_stage) {
                hidden.resize(hidden_in.size() / sizeof(float));
                std::memcpy(hidden.data(), hidden_in.data(), hidden_in.size());
            }
            auto out = st.runner->execute_stage(so, first_stage ? nullptr : hidden.data());
            if (!out) return worker_error(engine_errc::worker_failed, out.message());
            stage_result res;
            res.output = std::move(out->output);
            if (const auto now = std::chrono::steady_clock::now(); now >= st.next_residency_check) {
                res.kv_resident_bytes = static_cast<int64_t>(st.exec->kv_cache_resident_bytes());
                st.next_residency_check = now + std::chrono::seconds(1);
            }
            if (!out->hidden.empty()) {
                res.hidden.resize(out->hidden.size() * sizeof(float));
                std::memcpy(res.hidden.data(), out->hidden.data(), res.hidden.size());
            }
            const auto ended = std::chrono::steady_clock::now();
            res.busy_seconds = std::chrono::duration<double>(ended - started).count();
            if (st.last_step_end)
                res.idle_before_seconds =
                    std::chrono::duration<double>(started - *st.last_step_end).count();
            st.last_step_end = ended;
            return res;
        },
    };
}

}  // namespace

worker_actor spawn_worker(caf::actor_system& sys, executor_builder build, std::string device,
                          std::shared_ptr<const multimodal::vision_model> vision,
                          std::shared_ptr<multimodal::encoder_output_store> encoder_store,
                          std::shared_ptr<structured::grammar_compiler> grammars) {
    return sys.spawn<caf::detached>(worker_impl, std::move(build), std::move(device),
                                    std::move(vision), std::move(encoder_store),
                                    std::move(grammars));
}

worker_actor spawn_worker(caf::actor_system& sys, std::shared_ptr<const loaded_model> model,
                          std::string device,
                          std::shared_ptr<multimodal::encoder_output_store> encoder_store,
                          std::function<void(const load_progress&)> on_load_progress) {
    auto build = [model, device, on_load_progress](
                     const worker_setup& setup) -> result<std::unique_ptr<model_executor>> {
        executor_request req;
        req.device = device;
        req.first_layer = setup.first_layer;
        req.last_layer = setup.last_layer;
        req.num_blocks = setup.num_blocks;
        req.kv_cache_memory_bytes = setup.kv_cache_memory_bytes;
        req.max_num_blocks = setup.max_num_blocks;
        req.block_size = setup.block_size;
        req.kv_cache_dtype = setup.kv_cache_dtype;
        req.hybrid_kv_groups = setup.hybrid_kv_groups;
        req.num_threads = setup.num_threads;
        req.on_load_progress = on_load_progress;
        return make_executor(*model, req);
    };
    auto vision = model->vision ? model->vision->tower : nullptr;
    // The model's own tokenizer, read when the first structured request arrives (a worker
    // in another process has no other copy of it).
    auto grammars = std::make_shared<structured::grammar_compiler>(
        [model]() -> result<std::shared_ptr<const structured::token_vocabulary>> {
            auto tok = model->gguf ? tokenizer::from_gguf(*model->gguf)
                                   : load_tokenizer_for_model(model->hf_dir);
            if (!tok) return make_error("structured outputs: %s", tok.message().c_str());
            return structured::token_vocabulary::from_tokenizer(**tok);
        });
    return spawn_worker(sys, std::move(build), std::move(device), std::move(vision),
                        std::move(encoder_store), std::move(grammars));
}

}  // namespace actorlm::actors
