// Random corruption of valid GGUF and safetensors models: every mutated file must
// either load or fail with an error, never crash or read out of bounds (run the
// suite under ACTORLM_SANITIZE=ON to check the latter). Fixed seeds: reproducible.
#include <doctest/doctest.h>

#include <random>

#include "loader_test_support.hpp"
#include "model/gguf_file.hpp"
#include "model/model_loader.hpp"
#include "model/safetensors_file.hpp"
#include "model/test_model_writer.hpp"

using namespace actorlm;
using actorlm::test::scratch_dir;

namespace {

test_model_spec tiny_spec() {
    test_model_spec s;
    s.vocab_size = 259;
    s.hidden_size = 32;
    s.intermediate_size = 32;
    s.num_layers = 1;
    s.num_heads = 2;
    s.num_kv_heads = 1;
    s.head_dim = 16;
    return s;
}

// Overwrites 1-4 bytes of the first `span` bytes (the header region) with random values,
// or truncates, and returns how many mutated files loaded successfully.
int mutate_and_load(const std::vector<uint8_t>& good, size_t span, const std::string& path,
                    uint32_t seed, int rounds) {
    std::mt19937 rng(seed);
    int loaded = 0;
    for (int i = 0; i < rounds; ++i) {
        std::vector<uint8_t> b = good;
        if (rng() % 8 == 0) {
            b.resize(rng() % b.size());
        } else {
            for (uint32_t n = 1 + rng() % 4; n > 0; --n) {
                size_t at = rng() % std::min(span, b.size());
                b[at] = rng() % 3 == 0 ? 0xff : uint8_t(rng());
            }
        }
        test::write_bytes(path, b);
        auto m = load_model(path);
        if (m.ok()) {
            ++loaded;
            // Whatever loaded is self-consistent: validation passed on real bytes.
            CHECK(validate_weights(m->config, m->weights).ok());
        } else {
            CHECK_FALSE(m.message().empty());
        }
    }
    return loaded;
}

}  // namespace

TEST_CASE("randomly corrupted GGUF models load or fail cleanly") {
    scratch_dir dir;
    REQUIRE(write_test_model_gguf(tiny_spec(), dir.file("m.gguf")).ok());
    auto good = test::read_bytes(dir.file("m.gguf"));
    auto f = gguf_file::open(dir.file("m.gguf"));
    REQUIRE(f.ok());
    // The metadata and tensor infos end where the first tensor's data starts.
    size_t header = size_t((*f)->tensors().front().data - (*f)->mapping()->data());
    int loaded = mutate_and_load(good, header, dir.file("x.gguf"), 42, 400);
    MESSAGE(loaded << " of 400 corrupted GGUF files still loaded");
}

TEST_CASE("randomly corrupted safetensors checkpoints load or fail cleanly") {
    scratch_dir dir;
    REQUIRE(write_test_model_hf(tiny_spec(), dir.file("hf")).ok());
    auto good = test::read_bytes(dir.file("hf/model.safetensors"));
    uint64_t header = 0;
    std::memcpy(&header, good.data(), 8);
    int loaded =
        mutate_and_load(good, size_t(header) + 8, dir.file("hf/model.safetensors"), 7, 400);
    MESSAGE(loaded << " of 400 corrupted safetensors files still loaded");
}
