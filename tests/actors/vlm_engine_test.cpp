// A vision-language model served by the actor engine: a tiny LLaVA directory with a real
// tokenizer and chat template (tests/data/mm/models/llava_stories, references from
// tools/make-vlm-references.py) takes chat messages with PNG images and gives what
// transformers' LlavaProcessor + LlavaForConditionalGeneration give: the same prompt ids
// (template, marker expansion, tokenizer) and the same 16 greedy tokens, one turn and two
// turns with two images. Repeats hit the processor cache, other text before a known image
// hits the encoder cache, and bad images are invalid requests naming the image. A second
// engine prefills a picture the first encoded, from the first engine's published encoder
// store (through the middleman), without running its encoder. The same model as a GGUF
// with llama.cpp's mmproj serves the same chats.
#include <doctest/doctest.h>


#include <simdjson.h>

#include "actors/encoder_cache_actor.hpp"
#include "actors/node_tls.hpp"
#include "actors/runtime_config.hpp"
#include "engine_fixture.hpp"
#include "support/mm_references.hpp"
#include "worker_process.hpp"
#include "support/png_writer.hpp"

using namespace actorlm;

namespace vlm_engine_test {

struct chat_case {
    std::string name;
    std::vector<chat_message> messages;
    std::vector<int32_t> input_ids;
    std::vector<int32_t> greedy_ids;
};

content_part image_part(int width, int height, uint32_t seed) {
    content_part p;
    p.type = content_part::kind::image;
    p.image.data = test::encode_png(test::formula_image(width, height, seed));
    p.image.source = "picture " + std::to_string(width) + "x" + std::to_string(height);
    return p;
}

/// The reference's messages as the server's parser builds them: `content` the text parts
/// joined, `parts` in order when the message holds an image.
std::vector<chat_case> read_cases() {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    REQUIRE_FALSE(parser.load(test::mm_model_dir("llava_stories") + "/chat_reference.json")
                      .get(root));
    std::vector<chat_case> out;
    for (auto c : root["cases"].get_array()) {
        chat_case cc;
        cc.name = std::string(std::string_view(c["name"]));
        std::vector<simdjson::dom::element> pictures;
        for (auto p : c["images"].get_array()) pictures.push_back(p);
        size_t next_picture = 0;
        for (auto m : c["messages"].get_array()) {
            chat_message msg;
            msg.role = std::string(std::string_view(m["role"]));
            bool has_image = false;
            std::vector<content_part> parts;
            for (auto part : m["content"].get_array()) {
                const std::string_view type = part["type"];
                if (type == "image") {
                    REQUIRE(next_picture < pictures.size());
                    auto pic = pictures[next_picture++];
                    parts.push_back(image_part(static_cast<int>(int64_t(pic["width"])),
                                               static_cast<int>(int64_t(pic["height"])),
                                               static_cast<uint32_t>(int64_t(pic["seed"]))));
                    has_image = true;
                } else {
                    content_part t;
                    t.text = std::string(std::string_view(part["text"]));
                    if (!msg.content.empty()) msg.content += "\n";
                    msg.content += t.text;
                    parts.push_back(std::move(t));
                }
            }
            if (has_image) msg.parts = std::move(parts);
            cc.messages.push_back(std::move(msg));
        }
        for (int64_t v : test::json_ints(c["input_ids"])) cc.input_ids.push_back(int32_t(v));
        for (int64_t v : test::json_ints(c["greedy_ids"])) cc.greedy_ids.push_back(int32_t(v));
        out.push_back(std::move(cc));
    }
    return out;
}

engine_config vlm_config() {
    engine_config cfg;
    cfg.model_path = test::mm_model_dir("llava_stories");
    cfg.num_threads = 1;
    cfg.kv_cache_memory_bytes = 4 << 20;
    cfg.max_num_seqs = 8;
    return cfg;
}

/// Two engines' configurations: the first publishes its encoder store on test port `slot`,
/// the second uses that store instead of its own.
std::pair<engine_config, engine_config> store_sharing_configs(int slot) {
    const std::string address = "127.0.0.1:" + std::to_string(test::test_port(slot));
    std::pair<engine_config, engine_config> cfgs{vlm_config(), vlm_config()};
    cfgs.first.encoder_store_listen = address;
    cfgs.second.encoder_store_address = address;
    return cfgs;
}

/// engine::create's error for a configuration that must not start.
std::string startup_error(const engine_config& cfg) {
    std::string err;
    auto eng = engine::create(cfg, &err);
    CHECK(eng == nullptr);
    return err;
}

generate_request greedy_chat(const chat_case& c) {
    generate_request r;
    r.messages = c.messages;
    r.params.temperature = 0.0f;
    r.params.max_tokens = static_cast<int32_t>(c.greedy_ids.size());
    r.params.ignore_eos = true;
    return r;
}

}  // namespace vlm_engine_test

using namespace vlm_engine_test;

TEST_CASE("vlm engine: chats with images give transformers' prompt ids and greedy tokens") {
    const auto cases = read_cases();
    REQUIRE(cases.size() == 2);
    auto eng = test::start_engine(vlm_config());
    CHECK(eng->info().supports_image_input);
    for (const chat_case& c : cases) {
        CAPTURE(c.name);
        std::vector<int32_t> ids;
        std::string err;
        REQUIRE_MESSAGE(eng->tokenize_prompt(greedy_chat(c), &ids, &err), err);
        CHECK(ids == c.input_ids);
        auto stream = eng->generate(greedy_chat(c));
        const auto got = test::collect(stream);
        REQUIRE_MESSAGE(got.finish[0] == finish_reason::length, got.errors[0]);
        CHECK(got.tokens[0] == c.greedy_ids);
    }
    // The one-turn chat again: its image comes from the processor cache, its KV from the
    // prefix cache (which covers the image, so the encoder is not even asked).
    const engine_stats before = eng->stats();
    auto again = eng->generate(greedy_chat(cases[0]));
    const auto got = test::collect(again);
    CHECK(got.tokens[0] == cases[0].greedy_ids);
    const engine_stats after = eng->stats();
    CHECK(after.mm_processor_cache_hits_total - before.mm_processor_cache_hits_total == 1);
    CHECK(after.prefix_cache_hits_total > before.prefix_cache_hits_total);

    // Other words before the same picture: no KV to share, but its encoder output is
    // cached.
    chat_case other = cases[0];
    other.messages[0].parts.insert(other.messages[0].parts.begin(), content_part{});
    other.messages[0].parts.front().text = "Look:";
    auto third = eng->generate(greedy_chat(other));
    const auto got3 = test::collect(third);
    REQUIRE_MESSAGE(got3.finish[0] == finish_reason::length, got3.errors[0]);
    const engine_stats last = eng->stats();
    CHECK(last.encoder_cache_hits_total - after.encoder_cache_hits_total == 1);
}

TEST_CASE("vlm engine: a bad image is an invalid request naming it, and text still works") {
    auto eng = test::start_engine(vlm_config());
    generate_request r;
    chat_message m;
    m.role = "user";
    m.content = "Once upon a time";
    content_part bad;
    bad.type = content_part::kind::image;
    bad.image.data = "\x89PNG\r\n\x1a\n truncated";
    bad.image.source = "broken.png";
    content_part text;
    text.text = m.content;
    m.parts = {bad, text};
    r.messages = {m};
    r.params.max_tokens = 4;
    auto stream = eng->generate(r);
    const auto got = test::collect(stream);
    CHECK(got.finish[0] == finish_reason::error);
    CHECK(got.invalid[0] == 1);
    CHECK(got.errors[0].find("image 1 (broken.png)") != std::string::npos);

    // A chat without images on the same model: its text model alone.
    generate_request plain;
    chat_message pm;
    pm.role = "user";
    pm.content = "Once upon a time";
    plain.messages = {pm};
    plain.params.max_tokens = 4;
    plain.params.ignore_eos = true;
    auto s2 = eng->generate(plain);
    const auto got2 = test::collect(s2);
    CHECK(got2.finish[0] == finish_reason::length);
    CHECK(got2.tokens[0].size() == 4);
}

TEST_CASE("vlm engine: a second engine takes an image's encoder output from the first's store") {
    const auto cases = read_cases();
    const auto [first_cfg, second_cfg] = store_sharing_configs(0);
    auto first = test::start_engine(first_cfg);
    auto s1 = first->generate(greedy_chat(cases[0]));
    REQUIRE(test::collect(s1).tokens[0] == cases[0].greedy_ids);

    auto second = test::start_engine(second_cfg);
    auto s2 = second->generate(greedy_chat(cases[0]));
    const auto got = test::collect(s2);
    REQUIRE_MESSAGE(got.finish[0] == finish_reason::length, got.errors[0]);
    CHECK(got.tokens[0] == cases[0].greedy_ids);

    // The store itself: the first engine's lookup missed and it stored the output; the
    // second engine's lookup found it (its encoder never ran: the hit is the only way
    // it had the rows).
    actors::runtime_config cfg;
    caf::actor_system sys{cfg};
    auto store = actors::connect_node<actors::encoder_cache_actor>(
        sys, "127.0.0.1", test::test_port(0));
    REQUIRE(store);
    caf::scoped_actor self{sys, true};
    int64_t lookups = -1;
    int64_t hits = -1;
    int64_t entries = -1;
    self->request(*store, std::chrono::seconds(5), actors::stats_atom_v)
        .receive(
            [&](int64_t l, int64_t h, int64_t e, int64_t) {
                lookups = l;
                hits = h;
                entries = e;
            },
            [](caf::error&) { FAIL("the encoder store did not answer"); });
    CHECK(lookups == 2);
    CHECK(hits == 1);
    CHECK(entries == 1);
}

TEST_CASE("vlm engine: an unreachable encoder store is a start-up error naming it") {
    engine_config cfg = vlm_config();
    cfg.encoder_store_address = "127.0.0.1:" + std::to_string(test::test_port(1));
    CHECK(startup_error(cfg).find("cannot reach the encoder store at 127.0.0.1:") !=
          std::string::npos);
}

// llama-server's form of the same model: the text model as a GGUF written by llama.cpp's
// convert_hf_to_gguf.py (tokenizer and chat template inside) and the tower as the mmproj
// its legacy LLaVA converter writes (tools/make-mmproj-references.sh). Prompt ids are
// llama.cpp's own tokenizer's on that GGUF (llama_cpp_prompt_ids.json); where they equal
// transformers' (one_turn), the greedy tokens do too, though the legacy converter rounds
// the patch embedding and the projector to f16.
TEST_CASE("vlm engine: a GGUF text model with llama.cpp's mmproj serves the same chats") {
    const auto cases = read_cases();
    const std::string dir = test::mm_model_dir("llava_stories_gguf");
    simdjson::dom::parser parser;
    simdjson::dom::element llama_cpp;
    REQUIRE_FALSE(parser.load(dir + "/llama_cpp_prompt_ids.json").get(llama_cpp));

    engine_config cfg = vlm_config();
    cfg.model_path = dir + "/llava_stories-f32.gguf";
    cfg.mmproj = dir + "/mmproj-llava_stories-f32.gguf";
    auto eng = test::start_engine(cfg);
    CHECK(eng->info().supports_image_input);
    int same_as_transformers = 0;
    for (const chat_case& c : cases) {
        CAPTURE(c.name);
        std::vector<int32_t> expected;
        for (int64_t v : test::json_ints(llama_cpp["cases"][c.name])) expected.push_back(int32_t(v));
        std::vector<int32_t> ids;
        std::string err;
        REQUIRE_MESSAGE(eng->tokenize_prompt(greedy_chat(c), &ids, &err), err);
        CHECK(ids == expected);
        auto stream = eng->generate(greedy_chat(c));
        const auto got = test::collect(stream);
        REQUIRE_MESSAGE(got.finish[0] == finish_reason::length, got.errors[0]);
        if (expected == c.input_ids) {
            CHECK(got.tokens[0] == c.greedy_ids);
            ++same_as_transformers;
        }
    }
    CHECK(same_as_transformers == 1);
    // A repeat is served from the caches as with the directory.
    const engine_stats before = eng->stats();
    auto again = eng->generate(greedy_chat(cases[0]));
    CHECK(test::collect(again).tokens[0] == cases[0].greedy_ids);
    CHECK(eng->stats().mm_processor_cache_hits_total - before.mm_processor_cache_hits_total == 1);
}

TEST_CASE("vlm engine: --mmproj beside a Hugging Face directory is a start-up error") {
    engine_config cfg = vlm_config();
    cfg.mmproj = test::mm_model_dir("llava_stories_gguf") + "/mmproj-llava_stories-f32.gguf";
    CHECK(startup_error(cfg).find("is a Hugging Face directory") != std::string::npos);
}

// The server prepares each prompt for its context check (engine::prepare_prompt); the
// engine then runs that prompt as it is. With the processor cache off, every preparation
// decodes and resizes, so the counter shows each image is processed once, not twice.
TEST_CASE("vlm engine: a prompt prepared for the context check is not prepared again") {
    const auto cases = read_cases();
    engine_config cfg = vlm_config();
    cfg.mm_processor_cache_gb = 0;
    auto eng = test::start_engine(cfg);
    const engine_stats start = eng->stats();

    generate_request r = greedy_chat(cases[0]);
    std::string err;
    REQUIRE_MESSAGE(eng->prepare_prompt(r, &err), err);
    CHECK(r.prompt_token_ids == cases[0].input_ids);
    REQUIRE(r.prepared);
    CHECK(eng->stats().mm_images_processed_total - start.mm_images_processed_total == 1);
    auto prepared_run = eng->generate(r);
    CHECK(test::collect(prepared_run).tokens[0] == cases[0].greedy_ids);
    CHECK(eng->stats().mm_images_processed_total - start.mm_images_processed_total == 1);

    // Unprepared, generate() does the work itself, once.
    auto plain_run = eng->generate(greedy_chat(cases[0]));
    CHECK(test::collect(plain_run).tokens[0] == cases[0].greedy_ids);
    CHECK(eng->stats().mm_images_processed_total - start.mm_images_processed_total == 2);

    // Another engine does not take this engine's preparation: it prepares its own.
    auto other = test::start_engine(cfg);
    auto other_run = other->generate(r);
    CHECK(test::collect(other_run).tokens[0] == cases[0].greedy_ids);
    CHECK(other->stats().mm_images_processed_total == 1);
}

TEST_CASE("vlm engine: when the shared encoder store goes away, images are encoded locally") {
    const auto cases = read_cases();
    const auto [first_cfg, second_cfg] = store_sharing_configs(2);
    auto first = test::start_engine(first_cfg);
    auto second = test::start_engine(second_cfg);
    first.reset();  // the store's engine stops: lookups go unanswered (or fail at once)

    // Same answer as the reference: the worker encodes the picture itself.
    auto run = second->generate(greedy_chat(cases[0]));
    const auto got = test::collect(run);
    REQUIRE_MESSAGE(got.finish[0] == finish_reason::length, got.errors[0]);
    CHECK(got.tokens[0] == cases[0].greedy_ids);
}
