// The scheduler's side of multimodal inputs (vLLM's EncoderCacheManager and
// _try_schedule_encoder_inputs), without a model: an image is encoded whole in the
// step that first reaches its placeholders; a chunk never reaches into an image whose
// output cannot be made this step (encoder budget or cache room); a second request
// with the same image finds the output cached; outputs are released once their
// placeholders are in the KV cache and evicted lazily, and the workers are told; the
// image hashes enter the block hashes, so equal text with different images never
// shares KV.
#include <doctest/doctest.h>

#include <algorithm>

#include "core/encoder_cache_manager.hpp"
#include "scheduler_factories.hpp"

using namespace actorlm;
using namespace actorlm::core;
using namespace actorlm::test;

namespace encoder_test {

/// A prompt of `n` tokens with images at the given (offset, length, hash).
request_spec spec_with_images(std::string id, int32_t n, std::vector<mm_feature> images,
                              int32_t max_tokens = 2) {
    request_spec s = make_spec(std::move(id), iota_tokens(n, 100), max_tokens);
    for (const auto& f : images)
        for (int32_t p = f.offset; p < std::min(f.end(), n); ++p)  // bad ranges may overrun
            s.prompt_token_ids[static_cast<size_t>(p)] = 5;  // the placeholder token
    s.mm_features = std::move(images);
    return s;
}

std::vector<int32_t> encoded(const scheduler_output& so, const std::string& id) {
    auto it = so.scheduled_encoder_inputs.find(id);
    return it == so.scheduled_encoder_inputs.end() ? std::vector<int32_t>{} : it->second;
}

}  // namespace encoder_test

using namespace encoder_test;

TEST_CASE("encoder scheduling: an image is encoded whole in the step that reaches it") {
    auto cfg = small_config(64);
    cfg.max_num_batched_tokens = 40;
    auto s = make_scheduler(cfg);
    // Image A at [10, 30), image B at [60, 80) of a 100-token prompt.
    REQUIRE(s->add_request(
                 spec_with_images("r", 100, {{"img-a", 10, 20}, {"img-b", 60, 20}}))
                .ok());
    scheduler_output so;
    step(*s, &so);  // tokens [0, 40): reaches A, not B
    CHECK(so.num_scheduled_tokens("r") == 40);
    CHECK(encoded(so, "r") == std::vector<int32_t>{0});
    REQUIRE(so.scheduled_new_reqs.size() == 1);
    CHECK(so.scheduled_new_reqs[0].mm_features.size() == 2);
    step(*s, &so);  // [40, 80): B whole, though the chunk ends at its end
    CHECK(encoded(so, "r") == std::vector<int32_t>{1});
    step(*s, &so);  // [80, 100): nothing left to encode
    CHECK(so.scheduled_encoder_inputs.empty());
    CHECK(s->encoder_cache().num_queries() == 2);
}

TEST_CASE("encoder scheduling: a chunk stops before an image the encoder budget cannot take") {
    auto cfg = small_config(64);
    cfg.max_num_batched_tokens = 100;
    cfg.max_num_encoder_input_tokens = 30;
    auto s = make_scheduler(cfg);
    REQUIRE(s->add_request(
                 spec_with_images("r", 90, {{"img-a", 10, 20}, {"img-b", 50, 20}}))
                .ok());
    scheduler_output so;
    step(*s, &so);  // A takes 20 of the 30: B must wait; the step ends at B's start
    CHECK(so.num_scheduled_tokens("r") == 50);
    CHECK(encoded(so, "r") == std::vector<int32_t>{0});
    step(*s, &so);
    CHECK(encoded(so, "r") == std::vector<int32_t>{1});
    CHECK(so.num_scheduled_tokens("r") == 40);
    // An image larger than the budget could never run: refused on admission.
    auto big = s->add_request(spec_with_images("big", 60, {{"img-c", 0, 31}}));
    REQUIRE_FALSE(big.ok());
    CHECK(big.message().find("31 embedding tokens") != std::string::npos);
}

TEST_CASE("encoder scheduling: the same image again hits the encoder cache") {
    auto s = make_scheduler(small_config(64));
    REQUIRE(s->add_request(spec_with_images("a", 40, {{"img", 4, 20}})).ok());
    scheduler_output so;
    step(*s, &so);
    CHECK(encoded(so, "a") == std::vector<int32_t>{0});
    // Other text around it, so the prefix cache does not serve the placeholders.
    auto b = spec_with_images("b", 40, {{"img", 8, 20}});
    for (auto& t : b.prompt_token_ids)
        if (t != 5) t += 1000;
    REQUIRE(s->add_request(b).ok());
    step(*s, &so);
    CHECK(so.num_scheduled_tokens("b") == 40);
    CHECK(encoded(so, "b").empty());  // cached: not encoded again
    CHECK(s->encoder_cache().num_hits() == 1);
}

TEST_CASE("encoder scheduling: two requests with one image in the same step encode it once") {
    auto s = make_scheduler(small_config(64));
    REQUIRE(s->add_request(spec_with_images("a", 40, {{"img", 4, 20}})).ok());
    auto b = spec_with_images("b", 40, {{"img", 8, 20}});
    for (auto& t : b.prompt_token_ids)
        if (t != 5) t += 1000;
    REQUIRE(s->add_request(b).ok());
    scheduler_output so;
    step(*s, &so);
    // Both list it (the worker encodes each hash once); the room is taken once.
    CHECK(encoded(so, "a") == std::vector<int32_t>{0});
    CHECK(encoded(so, "b") == std::vector<int32_t>{0});
    CHECK(s->encoder_cache().num_free_slots() == s->encoder_cache().cache_size() - 20);
}

TEST_CASE("encoder scheduling: outputs are freed once in the KV cache, evicted lazily, and the "
          "workers are told") {
    auto cfg = small_config(64);
    cfg.encoder_cache_size = 40;  // room for two images of 20
    auto s = make_scheduler(cfg);
    REQUIRE(s->add_request(spec_with_images("a", 30, {{"img-a", 2, 20}}, 1)).ok());
    scheduler_output so;
    step(*s, &so);  // prefill, samples its one token, finishes
    CHECK(s->encoder_cache().num_freeable_slots() == 40);  // unreferenced, still cached
    CHECK(s->encoder_cache().num_free_slots() == 20);
    REQUIRE(s->add_request(spec_with_images("b", 30, {{"img-b", 2, 20}}, 1)).ok());
    step(*s, &so);
    CHECK(so.free_encoder_mm_hashes.empty());  // there was room: nothing evicted
    REQUIRE(s->add_request(spec_with_images("c", 30, {{"img-c", 2, 20}}, 1)).ok());
    step(*s, &so);
    CHECK(encoded(so, "c") == std::vector<int32_t>{0});
    // img-a, released first, made room; its hash goes to the workers.
    CHECK(so.free_encoder_mm_hashes == std::vector<std::string>{"img-a"});
}

TEST_CASE("encoder scheduling: a referenced output is never evicted, the step waits instead") {
    auto cfg = small_config(64);
    cfg.max_num_batched_tokens = 30;
    cfg.encoder_cache_size = 30;
    auto s = make_scheduler(cfg);
    // a: image at [0, 20), prompt 60 long: its output stays referenced over 2 steps.
    REQUIRE(s->add_request(spec_with_images("a", 60, {{"img-a", 0, 20}})).ok());
    REQUIRE(s->add_request(spec_with_images("b", 40, {{"img-b", 0, 20}})).ok());
    scheduler_output so;
    step(*s, &so);  // a: [0, 30) with img-a; b cannot get room while a holds img-a
    CHECK(encoded(so, "a") == std::vector<int32_t>{0});
    CHECK(so.num_scheduled_tokens("b") == 0);
    step(*s, &so);  // a's placeholders are in the KV cache now: img-a is freeable
    step(*s, &so);
    CHECK(encoded(so, "b") == std::vector<int32_t>{0});
    CHECK(so.free_encoder_mm_hashes == std::vector<std::string>{"img-a"});
}

TEST_CASE("encoder scheduling: equal text with different images never shares KV") {
    auto s = make_scheduler(small_config(64));
    REQUIRE(s->add_request(spec_with_images("a", 48, {{"img-a", 0, 16}}, 1)).ok());
    scheduler_output so;
    step(*s, &so);
    REQUIRE(s->add_request(spec_with_images("b", 48, {{"img-b", 0, 16}}, 1)).ok());
    step(*s, &so);
    REQUIRE(so.scheduled_new_reqs.size() == 1);
    CHECK(so.scheduled_new_reqs[0].num_computed_tokens == 0);  // no prefix hit
    REQUIRE(s->add_request(spec_with_images("c", 48, {{"img-a", 0, 16}}, 1)).ok());
    step(*s, &so);
    REQUIRE(so.scheduled_new_reqs.size() == 1);
    CHECK(so.scheduled_new_reqs[0].num_computed_tokens == 32);  // same image: a hit
    CHECK(encoded(so, "c").empty());  // ...and the image is all in the KV cache
}

TEST_CASE("encoder scheduling: bad placeholder ranges are refused naming the input") {
    auto s = make_scheduler(small_config(64));
    auto outside = s->add_request(spec_with_images("x", 20, {{"img", 10, 20}}));
    CHECK(outside.message().find("outside the prompt of 20 tokens") != std::string::npos);
    auto spec = spec_with_images("y", 40, {{"img-a", 10, 10}});
    spec.mm_features.push_back({"img-b", 15, 5});
    CHECK(s->add_request(spec).message().find("overlaps") != std::string::npos);
    spec.mm_features = {{"", 1, 2}};
    CHECK(s->add_request(spec).message().find("no hash") != std::string::npos);
}

TEST_CASE("encoder cache manager: references, lazy eviction oldest first, hit counts") {
    request a("a", iota_tokens(40), {}, {}, 0, 0, 0.0, {}, root_block_hash(),
              {{"x", 0, 10}, {"y", 10, 10}});
    request b("b", iota_tokens(40), {}, {}, 0, 0, 0.0, {}, root_block_hash(), {{"z", 0, 15}});
    encoder_cache_manager m(25);
    CHECK_FALSE(m.check_and_update_cache(a, 0));
    REQUIRE(m.can_allocate(a, 0, 100, 0));
    m.allocate(a, 0);
    REQUIRE(m.can_allocate(a, 1, 100, 0));
    m.allocate(a, 1);
    CHECK(m.num_free_slots() == 5);
    CHECK_FALSE(m.can_allocate(b, 0, 100, 0));  // both referenced
    CHECK_FALSE(m.can_allocate(b, 0, 14, 0));   // over the compute budget
    m.free_encoder_input(a, 1);                 // y freeable first
    m.free_encoder_input(a, 0);
    REQUIRE(m.can_allocate(b, 0, 100, 0));      // evicts y only (5 + 10 >= 15)
    CHECK(m.take_freed_mm_hashes() == std::vector<std::string>{"y"});
    m.allocate(b, 0);
    CHECK(m.check_and_update_cache(a, 0));  // x survived and is referenced again
    CHECK(m.cached_inputs(a) == std::vector<size_t>{0});
    CHECK(m.num_hits() == 1);
    CHECK(m.num_queries() == 2);
}
