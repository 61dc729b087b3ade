// The tiny random BERT of tests/data/bert (tools/make-bert-references.py): where its HF
// directory and GGUF are, and transformers' token ids and pooled, normalized embeddings
// of a few sentences. Shared by the engine and end-to-end tests.
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <simdjson.h>

#include "support/cosine.hpp"
#include "support/shared_data.hpp"

namespace actorlm::test {

inline std::string bert_data_dir() { return std::string(ACTORLM_SOURCE_DIR) + "/tests/data/bert"; }
inline std::string bert_hf_dir() { return bert_data_dir() + "/tiny-bert"; }
inline std::string bert_gguf() { return bert_data_dir() + "/tiny-bert-f16.gguf"; }

struct bert_sentence {
    std::string text;
    std::vector<int32_t> ids;
    std::vector<double> mean, cls;  // pooled over last_hidden_state, L2-normalized
};

inline std::vector<bert_sentence> read_bert_references() {
    const std::string s = read_file(bert_data_dir() + "/references.json");
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    REQUIRE(parser.parse(s).get(root) == simdjson::SUCCESS);
    simdjson::dom::array sentences;
    REQUIRE(root["sentences"].get(sentences) == simdjson::SUCCESS);
    std::vector<bert_sentence> out;
    for (simdjson::dom::element e : sentences) {
        bert_sentence b;
        std::string_view t;
        REQUIRE(e["text"].get(t) == simdjson::SUCCESS);
        b.text = std::string(t);
        simdjson::dom::array ids, mean, cls;
        REQUIRE(e["ids"].get(ids) == simdjson::SUCCESS);
        REQUIRE(e["mean"].get(mean) == simdjson::SUCCESS);
        REQUIRE(e["cls"].get(cls) == simdjson::SUCCESS);
        for (simdjson::dom::element v : ids) b.ids.push_back(static_cast<int32_t>(int64_t(v)));
        for (simdjson::dom::element v : mean) b.mean.push_back(double(v));
        for (simdjson::dom::element v : cls) b.cls.push_back(double(v));
        out.push_back(std::move(b));
    }
    return out;
}

}  // namespace actorlm::test
