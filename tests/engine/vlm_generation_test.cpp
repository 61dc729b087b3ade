// Images through the engine core: a LLaVA, Idefics3 or Qwen2.5-VL directory's prompt with
// image placeholders runs through scheduler + model_runner + image_encoder and gives what
// transformers gives for the same ids and pictures (references from
// tools/make-vlm-references.py and tools/make-qwen25vl-references.py in
// tests/data/mm/models/<family>/vlm_logits.json): the 20 most likely first tokens'
// log-probabilities within 1e-3 and 16 greedy ids exact — in one step, in chunks that cut
// through the image, and again from the encoder and prefix caches. The forward pass with
// the tower's rows written over the placeholder embeddings gives transformers'
// last-position logits over the whole vocabulary. Qwen2.5-VL's M-RoPE positions equal
// transformers' get_rope_index, and its last decode step's log-probabilities (positions
// index + rope delta) match too.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <sstream>

#include <simdjson.h>

#include "backends/cpu/cpu_executor.hpp"
#include "core/engine_loop.hpp"
#include "core/kv_invariants.hpp"
#include "core/mrope_positions.hpp"
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
    // Qwen2.5-VL: get_rope_index's positions ([tokens][3]) and delta, and the logits of the
    // last greedy step (prompt + 15 generated tokens); empty for the other families.
    std::vector<int32_t> mrope_positions;
    int32_t mrope_delta = 0;
    std::vector<double> last_step_logits;
};

struct vlm_reference {
    std::map<std::string, int32_t> token_ids;  // spelling -> id in the tiny vocabulary
    std::vector<vlm_case> cases;
};

vlm_reference read_reference(const std::string& family) {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    REQUIRE_FALSE(parser.load(test::mm_model_dir(family) + "/vlm_logits.json").get(root));
    vlm_reference r;
    // The tiny checkpoints have no tokenizer: the script names its fixed ids.
    const auto ids = root["token_ids"];
    for (const auto& [key, spelling] :
         {std::pair{"image", "<image>"}, {"fake_token_around_image", "<fake_token_around_image>"},
          {"image_pad", "<|image_pad|>"}, {"vision_start", "<|vision_start|>"},
          {"vision_end", "<|vision_end|>"}}) {
        int64_t id = 0;
        if (!ids[key].get(id)) r.token_ids[spelling] = static_cast<int32_t>(id);
    }
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
        simdjson::dom::array positions;
        if (!c["mrope_positions"].get(positions)) {
            for (simdjson::dom::element p : positions)
                for (int64_t v : test::json_ints(simdjson::dom::element(p)))
                    vc.mrope_positions.push_back(static_cast<int32_t>(v));
            vc.mrope_delta = static_cast<int32_t>(int64_t(c["mrope_delta"]));
            for (auto v : c["last_step_logits"].get_array())
                vc.last_step_logits.push_back(double(v));
        }
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
    position_logprobs last;   // the last one's
};

/// Runs the requests to the end; one result per request id.
std::map<std::string, run_result> run(engine_loop& loop) {
    std::map<std::string, run_result> got;
    for (int step = 0; step < 2000 && loop.has_unfinished_requests(); ++step) {
        for (auto& o : loop.step()) {
            REQUIRE_MESSAGE(o.status != request_status::finished_error, o.stop_reason);
            auto& r = got[o.req_id];
            if (r.ids.empty() && !o.logprobs.empty()) r.first = o.logprobs.front();
            if (!o.logprobs.empty()) r.last = o.logprobs.back();
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

/// The largest difference of the reported top log-probabilities from the reference's.
double check_logprobs(const position_logprobs& got, const std::vector<double>& want) {
    REQUIRE(got.token_ids.size() == got.logprobs.size());
    REQUIRE(got.token_ids.size() >= 20);
    double worst = 0.0;
    for (size_t k = 0; k < got.token_ids.size(); ++k)
        worst = std::max(worst, std::abs(double(got.logprobs[k]) -
                                         want[static_cast<size_t>(got.token_ids[k])]));
    CHECK(worst < 1e-3);
    return worst;
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
    for (const std::string family : {"llava", "idefics3", "qwen25vl"}) {
        CAPTURE(family);
        const vlm_reference ref = read_reference(family);
        REQUIRE_FALSE(ref.cases.empty());
        double worst = 0.0;
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
                worst = std::max(worst, check_logprobs(got["first"].first, want));
                if (!c.last_step_logits.empty())
                    worst = std::max(worst, check_logprobs(got["first"].last,
                                                           log_probs(c.last_step_logits)));
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
                if (!c.last_step_logits.empty())
                    worst = std::max(worst, check_logprobs(again["again"].last,
                                                           log_probs(c.last_step_logits)));
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
        MESSAGE(family << ": largest top-20 log-probability difference " << worst);
    }
}

TEST_CASE("vlm: the tower's rows over the placeholder embeddings give transformers' logits") {
    for (const std::string family : {"llava", "idefics3", "qwen25vl"}) {
        CAPTURE(family);
        const vlm_reference ref = read_reference(family);
        engine_parts parts = load_parts(family, 64);
        double worst_family = 0.0, worst_decode = 0.0;
        for (const vlm_case& c : ref.cases) {
            CAPTURE(c.name);
            const auto features = features_of(c, *parts.model.vision, ref);
            multimodal::image_encoder encoder(parts.model.vision->tower, 1);
            // Qwen2.5-VL: the prompt and its 15 first greedy tokens, whose logits at the end
            // check the decode positions (index + rope delta); the others: the prompt.
            const bool mrope = !c.mrope_positions.empty();
            std::vector<int32_t> ids = c.ids;
            if (mrope) ids.insert(ids.end(), c.greedy_ids.begin(), c.greedy_ids.end() - 1);
            test::test_sequence seq;
            seq.tokens = ids;
            test::block_allocator alloc(64, 8);
            forward_batch b = test::make_batch({{&seq, static_cast<int32_t>(ids.size())}}, 8,
                                               alloc, false);
            if (mrope) {
                auto positions =
                    compute_mrope_positions(static_cast<int32_t>(c.ids.size()), features);
                REQUIRE_MESSAGE(positions.ok(), (positions.ok() ? "" : positions.message()));
                CHECK(positions->positions == c.mrope_positions);
                CHECK(positions->delta == c.mrope_delta);
                for (int32_t p = 0; p < static_cast<int32_t>(ids.size()); ++p)
                    positions->append(p, b.mrope_positions);
                // logits at the prompt's last position and at the sequence's end
                b.logits_indices = {static_cast<int32_t>(c.ids.size()) - 1,
                                    static_cast<int32_t>(ids.size()) - 1};
            }
            std::vector<std::shared_ptr<const multimodal::vision_features>> rows;
            for (const mm_feature& f : features) {
                auto out = encoder.encode(*f.data);
                REQUIRE_MESSAGE(out.ok(), (out.ok() ? "" : out.message()));
                rows.push_back(*out);
                int64_t row = 0;
                for (int32_t p = f.offset; p < f.end(); ++p) {
                    const auto& is_embed = f.data->is_embed;
                    if (!is_embed.empty() && !is_embed[static_cast<size_t>(p - f.offset)]) continue;
                    b.embedding_overrides.push_back(
                        {p, rows.back()->data.data() + row * rows.back()->dim});
                    ++row;
                }
                CHECK(row == f.data->image->num_image_tokens);
            }
            std::vector<float> logits;
            REQUIRE(parts.exec->forward(b, logits).ok());
            const size_t vocab = c.last_logits.size();
            REQUIRE(logits.size() == vocab * (mrope ? 2 : 1));
            double worst = 0.0;
            for (size_t v = 0; v < vocab; ++v)
                worst = std::max(worst, std::abs(logits[v] - c.last_logits[v]));
            CHECK(worst < 1e-3);
            worst_family = std::max(worst_family, worst);
            if (mrope) {
                double decode = 0.0;
                for (size_t v = 0; v < vocab; ++v)
                    decode = std::max(decode, std::abs(logits[vocab + v] - c.last_step_logits[v]));
                CHECK(decode < 1e-3);
                worst_decode = std::max(worst_decode, decode);
            }
        }
        std::ostringstream msg;
        msg << family << ": largest logit difference " << worst_family;
        if (family == "qwen25vl") msg << ", after 15 decode tokens " << worst_decode;
        MESSAGE(msg.str());
    }
}

TEST_CASE("vlm: a Qwen2.5-VL prompt's M-RoPE positions follow the merged grid of each image") {
    // 3 text tokens, a 2 x 3 merged image (grid 1 x 4 x 6, merge 2), 2 text tokens, a 1 x 2
    // image, 1 text token: get_rope_index's rule written out.
    auto image = [](int64_t h, int64_t w) {
        auto in = std::make_shared<multimodal::encoder_input>();
        auto img = std::make_shared<multimodal::processed_image>();
        img->grid_thw = {1, h, w};
        img->merge_size = 2;
        img->num_image_tokens = h * w / 4;
        in->image = img;
        return std::shared_ptr<const multimodal::encoder_input>(in);
    };
    const std::vector<mm_feature> features = {{"a", 3, 6, image(4, 6)}, {"b", 11, 2, image(2, 4)}};
    auto p = compute_mrope_positions(14, features);
    REQUIRE_MESSAGE(p.ok(), (p.ok() ? "" : p.message()));
    const std::vector<int32_t> want = {
        0, 0, 0,  1, 1, 1,  2, 2, 2,                            // text
        3, 3, 3,  3, 3, 4,  3, 3, 5,  3, 4, 3,  3, 4, 4,  3, 4, 5,  // image a: rows 0-1, cols 0-2
        6, 6, 6,  7, 7, 7,                                      // text continues at 3 + max(2, 3)
        8, 8, 8,  8, 8, 9,                                      // image b: 1 x 2
        10, 10, 10};                                            // text at 8 + 2
    CHECK(p->positions == want);
    CHECK(p->delta == 11 - 14);
    std::vector<int32_t> decode;
    p->append(14, decode);
    CHECK(decode == std::vector<int32_t>{11, 11, 11});
    // a range that is not the image's merged grid, and an image without its processed input
    const std::vector<mm_feature> wrong = {{"a", 3, 5, image(4, 6)}};
    auto e = compute_mrope_positions(14, wrong);
    REQUIRE_FALSE(e.ok());
    CHECK(e.message().find("5 placeholder tokens") != std::string::npos);
    const std::vector<mm_feature> bare = {{"a", 3, 6, nullptr}};
    CHECK(compute_mrope_positions(14, bare).message().find("without its processed image") !=
          std::string::npos);
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
