// encoder_cache: hits share entries, referenced entries are never evicted, and
// unreferenced ones go least-recently-released first, as many as a new entry's bytes need.
#include <doctest/doctest.h>

#include "core/encoder_cache.hpp"

using namespace actorlm;

namespace {
encoder_cache::payload bytes(char c) { return std::make_shared<const std::vector<char>>(4, c); }
}  // namespace

TEST_CASE("encoder cache: a second request with the same input hits the first one's entry") {
    encoder_cache cache(8);
    CHECK_FALSE(cache.acquire("img-a", "r1"));
    REQUIRE(cache.insert("img-a", "r1", bytes('a')).ok());
    CHECK(cache.acquire("img-a", "r2"));
    CHECK(cache.get("img-a")->at(0) == 'a');
    CHECK(cache.num_queries() == 2);
    CHECK(cache.num_hits() == 1);
    CHECK(cache.insert("img-a", "r3", bytes('x')).message().find("already") != std::string::npos);
}

TEST_CASE("encoder cache: referenced entries are never evicted") {
    encoder_cache cache(4);
    REQUIRE(cache.insert("img-a", "r1", bytes('a')).ok());
    CHECK_FALSE(cache.can_insert(4));
    auto st = cache.insert("img-b", "r2", bytes('b'));
    CHECK_FALSE(st.ok());
    CHECK(st.message().find("do not fit") != std::string::npos);
    CHECK(cache.get("img-a") != nullptr);
}

TEST_CASE("encoder cache: released entries stay cached and are evicted oldest-release first") {
    encoder_cache cache(8);
    REQUIRE(cache.insert("img-a", "r1", bytes('a')).ok());
    REQUIRE(cache.insert("img-b", "r2", bytes('b')).ok());
    cache.release_request("r2");  // b released first
    cache.release("img-a", "r1");
    CHECK(cache.num_evictable() == 2);
    CHECK(cache.acquire("img-b", "r3"));  // still cached after release: a hit, no longer evictable
    CHECK(cache.num_evictable() == 1);
    REQUIRE(cache.insert("img-c", "r4", bytes('c')).ok());  // evicts a, the only evictable one
    CHECK(cache.get("img-a") == nullptr);
    CHECK(cache.get("img-b") != nullptr);
    CHECK(cache.get("img-c") != nullptr);
}

TEST_CASE("encoder cache: releasing a request frees every reference it holds exactly once") {
    encoder_cache cache(12);
    REQUIRE(cache.insert("x", "r1", bytes('x')).ok());
    REQUIRE(cache.insert("y", "r1", bytes('y')).ok());
    CHECK(cache.acquire("x", "r2"));
    cache.release_request("r1");
    CHECK(cache.num_evictable() == 1);  // y only; x still held by r2
    cache.release_request("r1");        // idempotent
    cache.release("x", "nobody");
    CHECK(cache.num_evictable() == 1);
    cache.release_request("r2");
    CHECK(cache.num_evictable() == 2);
    CHECK(cache.size() == 2);
}

TEST_CASE("encoder cache: a large entry evicts as many released ones as its bytes need") {
    encoder_cache cache(12);
    REQUIRE(cache.insert("a", "r1", bytes('a')).ok());
    REQUIRE(cache.insert("b", "r2", bytes('b')).ok());
    REQUIRE(cache.insert("c", "r3", bytes('c')).ok());
    cache.release_request("r1");
    cache.release_request("r2");
    CHECK(cache.used_bytes() == 12);
    auto big = std::make_shared<const std::vector<char>>(8, 'z');
    REQUIRE(cache.insert("z", "r4", big).ok());  // a and b go, c (in use) stays
    CHECK(cache.get("a") == nullptr);
    CHECK(cache.get("b") == nullptr);
    CHECK(cache.get("c") != nullptr);
    CHECK(cache.used_bytes() == 12);
    auto huge = std::make_shared<const std::vector<char>>(16, 'h');
    CHECK_FALSE(cache.insert("h", "r5", huge).ok());  // larger than the whole cache
    CHECK(cache.size() == 2);
}
