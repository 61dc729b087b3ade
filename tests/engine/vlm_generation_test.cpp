// Images through the engine core: a LLaVA or Idefics3 directory's prompt with image
// placeholders runs through scheduler + model_runner + image_encoder and gives what
// transformers gives for the same ids and pictures (references from
// tools/make-vlm-references.py in tests/data/mm/models/<family>/vlm_logits.json): the
// 20 most likely first tokens' log-probabilities within 1e-3 and 16 greedy ids exact —
// in one step, in chunks that cut through the image, and again from the encoder and
// prefix caches. The forward pass with the tower's rows written over the placeholder
// embeddings gives transformers' last-position logits over the whole vocabulary.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include <simdjson.h>

#include "backends/cpu/cpu_executor.hpp"
#include "core/engine_loop.hpp"
#include "core/kv_invariants.hpp"
#include "model/model_loader.hpp"
#include "multimodal/encoder_input.hpp"
#include "multimodal/image_encoder.hpp"
#include "multimodal/image_processor_prompt.hpp"
#include "multimodal/vision_language.hpp"
#include "forward_driver.hpp"
#include "support/mm_references.hpp"

using namespace actorlm;
using namespace actorlm::core;

namespace vlm_generation_test {

struct picture {
    int width = 0;
    int height = 0;
    uint32_t seed = 0;
    int64_t num_image_tokens = 0;  // the HF processor's count
};

struct vlm_case {
    std::string name;
    std::vector<picture> pictures;
    std::vector<int32_t> ids;
    std::vector<double> last_logits;
    std::vector<int32_t> greedy_ids;
    bool no_image_splitting = false;  // image_processor_kwargs: do_image_splitting false
};

struct vlm_reference {
    std::map<std::string, int32_t> token_ids;  // spelling -> id in the tiny vocabulary
    std::vector<vlm_case> cases;
};

vlm_reference read_reference(const std::string& family) {
    std::ifstream in(test::mm_model_dir(family) + "/vlm_logits.json");
    REQUIRE(in);
    std::stringstream text;
    text << in.rdbuf();
    const std::string s = text.str();
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    REQUIRE_FALSE(parser.parse(s).get(root));
    vlm_reference r;
    // The tiny checkpoints have no tokenizer: the script names its fixed ids.
    const auto ids = root["token_ids"];
    r.token_ids["<image>"] = static_cast<int32_t>(int64_t(ids["image"]));
    r.token_ids["<fake_token_around_image>"] =
        static_cast<int32_t>(int64_t(ids["fake_token_around_image"]));
    for (auto c : root["cases"].get_array()) {
        vlm_case vc;
        vc.name = std::string(std::string_view(c["name"]));
        for (auto p : c["images"].get_array())
            vc.pictures.push_back({static_cast<int>(int64_t(p["width"])),
                                   static_cast<int>(int64_t(p["height"])),
                                   static_cast<uint32_t>(int64_t(p["seed"])),
                                   int64_t(p["num_image_tokens"])});
        bool splitting = true;
        if (!c["image_processor_kwargs"]["do_image_splitting"].get(splitting))
            vc.no_image_splitting = !splitting;
        for (int64_t v : test::json_ints(c["input_ids"])) vc.ids.push_back(static_cast<int32_t>(v));
        for (auto v : c["last_logits"].get_array()) vc.last_logits.push_back(double(v));
        for (int64_t v : test::json_ints(c["greedy_ids"]))
            vc.greedy_ids.push_back(static_cast<int32_t>(v));
        r.cases.push_back(std::move(vc));
    }
    return r;
}

/// The case's images as the engine's frontend would hand them on: processed, with their
/// placeholder ranges found in the ids.
std::vector<mm_feature> features_of(const vlm_case& c, const multimodal::vision_language_model& vlm,
                                    const vlm_reference& ref) {
    multimodal::image_processor_config config = vlm.processor;
    if (c.no_image_splitting) std::get<multimodal::idefics3_image_config>(config).do_image_splitting = false;
    std::vector<multimodal::processed_image> images;
    for (const picture& p : c.pictures) {
        auto img =
            multimodal::preprocess_image(config, test::formula_image(p.width, p.height, p.seed));
        REQUIRE_MESSAGE(img.ok(), (img.ok() ? "" : img.message()));
        CHECK(img->num_image_tokens == p.num_image_tokens);
        images.push_back(std::move(img).value());
    }
    auto lookup = [&ref](std::string_view t) {
        auto it = ref.token_ids.find(std::string(t));
        return it == ref.token_ids.end() ? -1 : it->second;
    };
    auto ranges = multimodal::find_placeholder_ranges(vlm.processor, c.ids, images, lookup);
    REQUIRE_MESSAGE(ranges.ok(), (ranges.ok() ? "" : ranges.message()));
    std::vector<mm_feature> out;
    for (size_t i = 0; i < images.size(); ++i) {
        auto input = std::make_shared<multimodal::encoder_input>();
        input->image = std::make_shared<const multimodal::processed_image>(std::move(images[i]));
        input->is_embed = (*ranges)[i].is_embed;
        const picture& p = c.pictures[i];
        out.push_back(mm_feature{"picture-" + std::to_string(p.width) + "x" +
                                     std::to_string(p.height) + "-" + std::to_string(p.seed),
                                 static_cast<int32_t>((*ranges)[i].offset),
                                 static_cast<int32_t>((*ranges)[i].length), std::move(input)});
    }
    return out;
}

/// log_softmax of the reference logits.
std::vector<double> log_probs(const std::vector<double>& logits) {
    double top = logits[0];
    for (double v : logits) top = std::max(top, v);
    double sum = 0.0;
    for (double v : logits) sum += std::exp(v - top);
    const double lse = top + std::log(sum);
    std::vector<double> out;
    for (double v : logits) out.push_back(v - lse);
    return out;
}

struct run_result {
    std::vector<int32_t> ids;
    position_logprobs first;  // the first sampled token's logprobs (top 20)
};

/// Runs the requests to the end; one result per request id.
std::map<std::string, run_result> run(engine_loop& loop) {
    std::map<std::string, run_result> got;
    for (int step = 0; step < 2000 && loop.has_unfinished_requests(); ++step) {
        for (auto& o : loop.step()) {
            REQUIRE_MESSAGE(o.status != request_status::finished_error, o.stop_reason);
            auto& r = got[o.req_id];
            if (r.ids.empty() && !o.logprobs.empty()) r.first = o.logprobs.front();
            r.ids.insert(r.ids.end(), o.new_token_ids.begin(), o.new_token_ids.end());
        }
        auto inv = check_kv_invariants(loop.sched());
        REQUIRE_MESSAGE(inv.ok(), inv.message());
    }
    return got;
}

request_spec greedy_request(const std::string& id, const vlm_case& c,
                            std::vector<mm_feature> features) {
    request_spec s;
    s.req_id = id;
    s.prompt_token_ids = c.ids;
    s.params.temperature = 0.0f;
    s.params.max_tokens = static_cast<int32_t>(c.greedy_ids.size());
    s.params.ignore_eos = true;
    s.params.logprobs = 20;
    s.mm_features = std::move(features);
    return s;
}

void check_first_logprobs(const position_logprobs& got, const std::vector<double>& want) {
    REQUIRE(got.token_ids.size() == got.logprobs.size());
    REQUIRE(got.token_ids.size() >= 20);
    double worst = 0.0;
    for (size_t k = 0; k < got.token_ids.size(); ++k)
        worst = std::max(worst, std::abs(double(got.logprobs[k]) -
                                         want[static_cast<size_t>(got.token_ids[k])]));
    CHECK(worst < 1e-3);
}

struct engine_parts {
    loaded_model model;
    std::unique_ptr<cpu_executor> exec;
};

engine_parts load_parts(const std::string& family, int32_t num_blocks) {
    auto m = load_hf_model(test::mm_model_dir(family));
    REQUIRE_MESSAGE(m.ok(), (m.ok() ? "" : m.message()));
    REQUIRE(m->vision != nullptr);
    cpu_executor_options opt;
    opt.num_threads = 1;
    auto ex = cpu_executor::create(m->config, m->weights, {num_blocks, 8, dtype::f32}, opt);
    REQUIRE_MESSAGE(ex.ok(), (ex.ok() ? "" : ex.message()));
    return {std::move(m).value(), std::move(ex).value()};
}

}  // namespace vlm_generation_test

using namespace vlm_generation_test;

TEST_CASE("vlm: image prompts give transformers' logits and greedy ids, whole or in chunks") {
    for (const std::string family : {"llava", "idefics3"}) {
        CAPTURE(family);
        const vlm_reference ref = read_reference(family);
        REQUIRE_FALSE(ref.cases.empty());
        for (const vlm_case& c : ref.cases) {
            CAPTURE(c.name);
            const std::vector<double> want = log_probs(c.last_logits);
            // One step per prompt, then steps of 8 tokens that split the images' ranges
            // (the encoder budget still takes a whole image).
            for (const int32_t step_tokens : {2048, 8}) {
                CAPTURE(step_tokens);
                engine_parts parts = load_parts(family, 128);
                scheduler_config cfg;
                cfg.num_blocks = 128;
                cfg.block_size = 8;
                cfg.max_model_len = 1024;
                cfg.max_num_batched_tokens = step_tokens;
                cfg.max_num_encoder_input_tokens = 1024;
                cfg.encoder_cache_size = 1024;
                cfg.vocab_size = static_cast<int32_t>(parts.model.config.vocab_size);
                auto loop = engine_loop::create(cfg, *parts.exec);
                REQUIRE(loop.ok());
                auto encoder = std::make_shared<multimodal::image_encoder>(
                    parts.model.vision->tower, 1);
                (*loop)->runner().set_image_encoder(encoder);
                REQUIRE((*loop)
                            ->add_request(greedy_request("first", c,
                                                         features_of(c, *parts.model.vision, ref)))
                            .ok());
                auto got = run(**loop);
                CHECK(got["first"].ids == c.greedy_ids);
                check_first_logprobs(got["first"].first, want);
                CHECK(encoder->num_encoded() == static_cast<int64_t>(c.pictures.size()));

                // The same prompt and pictures again: the KV blocks are found (a prefix hit
                // covering an image skips its encoder), the tokens are the same.
                const auto before = (*loop)->sched().stats();
                REQUIRE((*loop)
                            ->add_request(greedy_request("again", c,
                                                         features_of(c, *parts.model.vision, ref)))
                            .ok());
                auto again = run(**loop);
                CHECK(again["again"].ids == c.greedy_ids);
                CHECK((*loop)->sched().stats().prefix_cache.hits > before.prefix_cache.hits);
                CHECK(encoder->num_encoded() == static_cast<int64_t>(c.pictures.size()));

                // Other text before the same pictures: no KV to share, but every encoder
                // output is still cached (released, not evicted), so the encoder stays idle.
                vlm_case other = c;
                other.ids[1] = other.ids[1] == 17 ? 18 : 17;
                const auto mid = (*loop)->sched().stats();
                REQUIRE((*loop)
                            ->add_request(greedy_request(
                                "other", other, features_of(other, *parts.model.vision, ref)))
                            .ok());
                auto third = run(**loop);
                CHECK(third["other"].ids.size() == c.greedy_ids.size());
                const auto after = (*loop)->sched().stats();
                CHECK(after.encoder_cache_hits - mid.encoder_cache_hits ==
                      static_cast<int64_t>(c.pictures.size()));
                CHECK(encoder->num_encoded() == static_cast<int64_t>(c.pictures.size()));
            }
        }
    }
}

TEST_CASE("vlm: the tower's rows over the placeholder embeddings give transformers' logits") {
    for (const std::string family : {"llava", "idefics3"}) {
        CAPTURE(family);
        const vlm_reference ref = read_reference(family);
        const vlm_case& c = ref.cases.front();
        engine_parts parts = load_parts(family, 64);
        const auto features = features_of(c, *parts.model.vision, ref);
        multimodal::image_encoder encoder(parts.model.vision->tower, 1);
        test::test_sequence seq;
        seq.tokens = c.ids;
        test::block_allocator alloc(64, 8);
        forward_batch b = test::make_batch({{&seq, static_cast<int32_t>(c.ids.size())}}, 8, alloc,
                                           false);
        std::vector<std::shared_ptr<const multimodal::vision_features>> rows;
        for (const mm_feature& f : features) {
            auto out = encoder.encode(*f.data);
            REQUIRE_MESSAGE(out.ok(), (out.ok() ? "" : out.message()));
            rows.push_back(*out);
            int64_t row = 0;
            for (int32_t p = f.offset; p < f.end(); ++p) {
                const auto& is_embed = f.data->is_embed;
                if (!is_embed.empty() && !is_embed[static_cast<size_t>(p - f.offset)]) continue;
                b.embedding_overrides.push_back({p, rows.back()->data.data() + row * rows.back()->dim});
                ++row;
            }
            CHECK(row == f.data->image->num_image_tokens);
        }
        std::vector<float> logits;
        REQUIRE(parts.exec->forward(b, logits).ok());
        REQUIRE(logits.size() == c.last_logits.size());
        double worst = 0.0;
        for (size_t v = 0; v < logits.size(); ++v)
            worst = std::max(worst, std::abs(logits[v] - c.last_logits[v]));
        CHECK(worst < 1e-3);
        MESSAGE(family << ": largest logit difference " << worst);
    }
}

TEST_CASE("vlm: a worker without an image encoder or without the pixels names the problem") {
    const vlm_reference ref = read_reference("llava");
    const vlm_case& c = ref.cases.front();
    engine_parts parts = load_parts("llava", 64);
    scheduler_config cfg;
    cfg.num_blocks = 64;
    cfg.block_size = 8;
    cfg.max_model_len = 512;
    cfg.vocab_size = static_cast<int32_t>(parts.model.config.vocab_size);
    {
        auto loop = engine_loop::create(cfg, *parts.exec);
        REQUIRE(loop.ok());
        REQUIRE((*loop)->add_request(greedy_request("x", c, features_of(c, *parts.model.vision, ref))).ok());
        auto outs = (*loop)->step();
        REQUIRE(outs.size() == 1);
        CHECK(outs[0].status == request_status::finished_error);
        CHECK(outs[0].stop_reason.find("no image encoder") != std::string::npos);
    }
    {
        auto loop = engine_loop::create(cfg, *parts.exec);
        REQUIRE(loop.ok());
        (*loop)->runner().set_image_encoder(
            std::make_shared<multimodal::image_encoder>(parts.model.vision->tower, 1));
        auto features = features_of(c, *parts.model.vision, ref);
        for (auto& f : features) f.data = nullptr;  // what a remote worker receives
        REQUIRE((*loop)->add_request(greedy_request("y", c, std::move(features))).ok());
        auto outs = (*loop)->step();
        REQUIRE(outs.size() == 1);
        CHECK(outs[0].status == request_status::finished_error);
        CHECK(outs[0].stop_reason.find("without its pixel values") != std::string::npos);
    }
}
