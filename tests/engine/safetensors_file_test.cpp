// safetensors reader: written tensors read back, and a corrupt header (length,
// JSON, dtype, offsets) is refused with an error naming the file and problem.
#include <doctest/doctest.h>

#include <cstring>

#include "loader_test_support.hpp"
#include "model/safetensors_file.hpp"
#include "model/safetensors_writer.hpp"

using namespace actorlm;
using actorlm::test::scratch_dir;

namespace {

std::vector<uint8_t> raw_file(const std::string& header_json, size_t data_bytes) {
    std::vector<uint8_t> out(8 + header_json.size() + data_bytes, 0);
    uint64_t n = header_json.size();
    std::memcpy(out.data(), &n, 8);
    std::memcpy(out.data() + 8, header_json.data(), header_json.size());
    return out;
}

std::string open_error(const scratch_dir& dir, const std::vector<uint8_t>& bytes) {
    test::write_bytes(dir.file("x.safetensors"), bytes);
    auto f = safetensors_file::open(dir.file("x.safetensors"));
    REQUIRE_FALSE(f.ok());
    CHECK(f.message().find(dir.file("x.safetensors")) != std::string::npos);
    return f.message();
}

}  // namespace

TEST_CASE("safetensors reader returns what the writer wrote") {
    scratch_dir dir;
    safetensors_writer w;
    w.add_metadata("format", "pt");
    std::vector<uint8_t> a(2 * 3 * 4), b(4 * 2);
    for (size_t i = 0; i < a.size(); ++i) a[i] = uint8_t(i);
    for (size_t i = 0; i < b.size(); ++i) b[i] = uint8_t(100 + i);
    w.add_tensor("model.a", "F32", {2, 3}, a);
    w.add_tensor("weird \"name\"", "BF16", {4}, b);
    REQUIRE(w.write(dir.file("m.safetensors")).ok());
    auto f = safetensors_file::open(dir.file("m.safetensors"));
    REQUIRE_MESSAGE(f.ok(), (f.ok() ? "" : f.message()));
    CHECK((*f)->metadata().at("format") == "pt");
    REQUIRE((*f)->tensors().size() == 2);
    const safetensors_tensor_info* t = (*f)->find_tensor("model.a");
    REQUIRE(t != nullptr);
    CHECK(t->dtype == "F32");
    CHECK(t->shape == std::vector<int64_t>{2, 3});
    CHECK(t->num_bytes == 24);
    CHECK(std::memcmp(t->data, a.data(), 24) == 0);
    CHECK(reinterpret_cast<uintptr_t>(t->data) % 8 == 0);
    const safetensors_tensor_info* u = (*f)->find_tensor("weird \"name\"");
    REQUIRE(u != nullptr);
    CHECK(std::memcmp(u->data, b.data(), 8) == 0);
    CHECK((*f)->find_tensor("absent") == nullptr);
    CHECK(w.serialize() == test::read_bytes(dir.file("m.safetensors")));
}

TEST_CASE("safetensors reader rejects corrupt headers and offsets") {
    scratch_dir dir;
    CHECK(open_error(dir, {1, 2, 3}).find("truncated") != std::string::npos);
    auto huge = raw_file("{}", 0);
    uint64_t n = uint64_t(1) << 40;
    std::memcpy(huge.data(), &n, 8);
    CHECK(open_error(dir, huge).find("corrupt safetensors header length") != std::string::npos);
    n = 1000;  // past the end, but under the limit
    std::memcpy(huge.data(), &n, 8);
    CHECK(open_error(dir, huge).find("truncated") != std::string::npos);
    CHECK(open_error(dir, raw_file("{\"a\": [1,", 0)).find("not valid JSON") != std::string::npos);
    CHECK(open_error(dir, raw_file("[1, 2]", 0)).find("not a JSON object") != std::string::npos);
    CHECK(open_error(dir, raw_file(R"({"t":{"dtype":"Q4","shape":[2],"data_offsets":[0,2]}})", 2))
              .find("unknown dtype 'Q4'") != std::string::npos);
    CHECK(open_error(dir, raw_file(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,64]}})", 8))
              .find("outside the 8 data bytes") != std::string::npos);
    CHECK(open_error(dir, raw_file(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[4,2]}})", 8))
              .find("outside") != std::string::npos);
    CHECK(open_error(dir, raw_file(R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8))
              .find("need 12") != std::string::npos);
    CHECK(open_error(dir, raw_file(R"({"t":{"dtype":"F32","shape":[-1],"data_offsets":[0,8]}})", 8))
              .find("non-negative") != std::string::npos);
    CHECK(
        open_error(
            dir,
            raw_file(
                R"({"t":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}})",
                8))
            .find("overflows") != std::string::npos);
    // A zero dimension first made the byte count 0 and hid an element count past int64.
    CHECK(open_error(dir, raw_file(R"({"t":{"dtype":"F32","shape":[0,4611686018427387904,4],"data_offsets":[0,0]}})", 8))
              .find("overflows") != std::string::npos);
    CHECK(open_error(dir, raw_file(R"({"t":{"dtype":"F32","shape":[2]}})", 8))
              .find("needs dtype, shape and data_offsets") != std::string::npos);
    CHECK(
        open_error(
            dir,
            raw_file(
                R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"t":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                8))
            .find("duplicate tensor 't'") != std::string::npos);
}
