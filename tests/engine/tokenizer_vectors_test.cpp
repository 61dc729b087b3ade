// Exactness against llama.cpp's tokenizer test vectors: every case must give exactly the
// ids llama.cpp's reference (HF tokenizers) produced, without BOS or special parsing.
#include "tokenizer_vectors.hpp"

using namespace actorlm;
using namespace actorlm::test;

TEST_CASE("tokenizer vectors: llama-bpe with Llama-3's tokenizer.json") {
    ACTORLM_REQUIRE_SHARED("tokenizers/llama3/tokenizer.json");
    const auto cases = read_vectors("tokenizers/vectors/ggml-vocab-llama-bpe.gguf");
    REQUIRE(cases.size() > 30);
    CHECK(check_vectors(*cached_tokenizer("tokenizers/llama3/tokenizer.json"), cases) ==
          cases.size());
}

TEST_CASE("tokenizer vectors: qwen2 with Qwen3's tokenizer.json") {
    ACTORLM_REQUIRE_SHARED("tokenizers/qwen3/tokenizer.json");
    const auto cases = read_vectors("tokenizers/vectors/ggml-vocab-qwen2.gguf");
    REQUIRE(cases.size() > 30);
    CHECK(check_vectors(*cached_tokenizer("tokenizers/qwen3/tokenizer.json"), cases) ==
          cases.size());
}

TEST_CASE("tokenizer vectors: llama-spm with Llama-2's tokenizer.json") {
    ACTORLM_REQUIRE_SHARED("tokenizers/llama2/tokenizer.json");
    const auto cases = read_vectors("tokenizers/vectors/ggml-vocab-llama-spm.gguf");
    REQUIRE(cases.size() > 30);
    CHECK(check_vectors(*cached_tokenizer("tokenizers/llama2/tokenizer.json"), cases) ==
          cases.size());
}

TEST_CASE("tokenizer vectors: gpt-2 with GPT-2's tokenizer.json") {
    ACTORLM_REQUIRE_SHARED("tokenizers/gpt2/tokenizer.json");
    const auto cases = read_vectors("tokenizers/vectors/ggml-vocab-gpt-2.gguf");
    REQUIRE(cases.size() > 30);
    CHECK(check_vectors(*cached_tokenizer("tokenizers/gpt2/tokenizer.json"), cases) ==
          cases.size());
}

TEST_CASE("tokenizer vectors: llama-spm GGUF vocabulary (scores, byte fallback)") {
    ACTORLM_REQUIRE_SHARED("tokenizers/vectors/ggml-vocab-llama-spm.gguf");
    const auto cases = read_vectors("tokenizers/vectors/ggml-vocab-llama-spm.gguf");
    REQUIRE(cases.size() > 30);
    CHECK(check_vectors(*cached_tokenizer("tokenizers/vectors/ggml-vocab-llama-spm.gguf"), cases) ==
          cases.size());
}

TEST_CASE("tokenizer vectors: phi-3 GGUF vocabulary") {
    ACTORLM_REQUIRE_SHARED("tokenizers/vectors/ggml-vocab-phi-3.gguf");
    const auto cases = read_vectors("tokenizers/vectors/ggml-vocab-phi-3.gguf");
    REQUIRE(cases.size() > 30);
    CHECK(check_vectors(*cached_tokenizer("tokenizers/vectors/ggml-vocab-phi-3.gguf"), cases) ==
          cases.size());
}

TEST_CASE("tokenizer vectors: gpt-2 GGUF vocabulary") {
    ACTORLM_REQUIRE_SHARED("tokenizers/vectors/ggml-vocab-gpt-2.gguf");
    const auto cases = read_vectors("tokenizers/vectors/ggml-vocab-gpt-2.gguf");
    REQUIRE(cases.size() > 30);
    CHECK(check_vectors(*cached_tokenizer("tokenizers/vectors/ggml-vocab-gpt-2.gguf"), cases) ==
          cases.size());
}

TEST_CASE("tokenizer vectors: falcon GGUF vocabulary (falcon pre-tokenizer)") {
    ACTORLM_REQUIRE_SHARED("tokenizers/vectors/ggml-vocab-falcon.gguf");
    const auto cases = read_vectors("tokenizers/vectors/ggml-vocab-falcon.gguf");
    REQUIRE(cases.size() > 30);
    CHECK(check_vectors(*cached_tokenizer("tokenizers/vectors/ggml-vocab-falcon.gguf"), cases) ==
          cases.size());
}
