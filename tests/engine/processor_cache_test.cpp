// processor_cache and mm_hash: a repeated image is found by its hash (bytes and
// processor settings both count); the least recently used item leaves first, within a
// byte capacity; and a frontend cache and an engine-side mirror fed the same sequence of
// requests agree at every step on what the mirror holds, so "send the hash only" is
// always safe — including when items are evicted or too large to keep.
#include <doctest/doctest.h>

#include <random>

#include "multimodal/mm_hash.hpp"
#include "multimodal/processor_cache.hpp"

using namespace actorlm::multimodal;

namespace processor_cache_test {

struct fake_item {
    std::string hash;
};

using cache = processor_cache<fake_item>;

/// What crosses the actor boundary for one image: its hash, and the item unless the
/// sender knows the mirror holds it.
struct wire_image {
    std::string hash;
    std::shared_ptr<const fake_item> item;
    size_t bytes = 0;
};

/// The frontend's side: reuse or "process", then decide what to send.
wire_image send(cache& sender, const std::string& hash, size_t bytes) {
    if (sender.lookup(hash)) return {hash, nullptr, bytes};
    auto item = std::make_shared<const fake_item>(fake_item{hash});
    const bool kept = sender.insert(hash, item, bytes);
    (void)kept;  // an item too large for the cache is sent in full every time
    return {hash, item, bytes};
}

/// The engine's side: the same lookup / insert sequence; a hash-only image must hit.
std::shared_ptr<const fake_item> receive(cache& mirror, const wire_image& w) {
    auto found = mirror.lookup(w.hash);
    if (w.item) {
        if (!found) mirror.insert(w.hash, w.item, w.bytes);
        return w.item;
    }
    return found;  // null would be a desync: the test fails on it
}

}  // namespace processor_cache_test

using namespace processor_cache_test;

TEST_CASE("mm_hash: bytes and processor settings both make the key") {
    const std::string a = mm_hash_of("image", "clip-336", "PNG-bytes-1");
    CHECK(a.size() == 32);
    CHECK(a == mm_hash_of("image", "clip-336", "PNG-bytes-1"));
    CHECK(a != mm_hash_of("image", "clip-224", "PNG-bytes-1"));
    CHECK(a != mm_hash_of("image", "clip-336", "PNG-bytes-2"));
    // Length prefixes: moving a byte between fields changes the hash.
    CHECK(mm_hash_of("image", "ab", "c") != mm_hash_of("image", "a", "bc"));
}

TEST_CASE("processor cache: hits, least recently used out first, byte capacity") {
    cache c(100);
    auto item = [](std::string h) { return std::make_shared<const fake_item>(fake_item{h}); };
    CHECK(c.insert("a", item("a"), 40));
    CHECK(c.insert("b", item("b"), 40));
    CHECK(c.lookup("a"));  // a is now the most recent
    CHECK(c.insert("c", item("c"), 40));  // evicts b, not a
    CHECK(c.contains("a"));
    CHECK_FALSE(c.contains("b"));
    CHECK(c.used_bytes() == 80);
    CHECK(c.num_evictions() == 1);
    CHECK_FALSE(c.insert("huge", item("huge"), 101));  // never kept, nothing evicted
    CHECK(c.size() == 2);
    CHECK_FALSE(c.insert("a", item("a2"), 10));  // already there
    CHECK(c.lookup("a")->hash == "a");
    CHECK(c.num_hits() == 2);
    CHECK(c.num_queries() == 2);
}

TEST_CASE("processor cache: a sender and its mirror stay in lock-step over random traffic") {
    cache sender(1000), mirror(1000);
    std::mt19937 rng(7);
    int64_t hash_only = 0;
    for (int i = 0; i < 5000; ++i) {
        const int id = static_cast<int>(rng() % 40);  // 40 images, some repeated often
        const size_t bytes = 50 + static_cast<size_t>(id) * 23;  // some exceed the capacity
        const std::string hash = "img-" + std::to_string(id);
        const wire_image w = send(sender, hash, bytes);
        if (!w.item) ++hash_only;
        auto got = receive(mirror, w);
        REQUIRE_MESSAGE(got, "the mirror lost " << hash << " at request " << i);
        CHECK(got->hash == hash);
        REQUIRE(sender.size() == mirror.size());
        REQUIRE(sender.used_bytes() == mirror.used_bytes());
    }
    CHECK(hash_only > 100);  // the cache did save traffic (205 with this seed)
    CHECK(sender.num_hits() == mirror.num_hits());
}
