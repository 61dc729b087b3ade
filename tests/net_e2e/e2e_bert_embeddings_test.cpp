// /v1/embeddings end to end on a BERT encoder (tests/data/bert, HF directory and GGUF):
// the real engine behind api_router pools as the model's sentence-transformers config says
// (mean, normalized), so a batch of sentences returns transformers' vectors within 1e-4
// cosine, in input order; /v1/completions and /v1/chat/completions on the encoder are a 400
// naming it an embedding model.
#include <doctest/doctest.h>

#include <simdjson.h>

#include <memory>

#include "stories_server.hpp"
#include "support/bert_references.hpp"

using namespace actorlm;

namespace {

// `actorlm serve`'s stack on the tiny BERT at `path`, on a loopback port.
test::engine_server bert_server(const std::string& path) {
    engine_config cfg;
    cfg.model_path = path;
    cfg.served_model_name = "tiny-bert";
    cfg.num_threads = 2;
    return test::engine_server(cfg, net::router_options{"", {"tiny-bert"}, ""});
}

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

}  // namespace

TEST_CASE("e2e bert: /v1/embeddings returns transformers' vectors, completions are a 400") {
    const std::vector<test::bert_sentence> refs = test::read_bert_references();
    for (const std::string& path : {test::bert_hf_dir(), test::bert_gguf()}) {
        CAPTURE(path);
        test::engine_server s = bert_server(path);
        const model_info info = s.eng->info();
        REQUIRE(info.default_pooling.has_value());
        CHECK(info.default_pooling->type == pooling_params::kind::mean);
        CHECK(info.embedding_only);
        auto c = s.client();

        std::string body = R"({"model":"tiny-bert","input":[)";
        for (size_t i = 0; i < refs.size(); ++i) body += (i ? "," : "") + json_string(refs[i].text);
        body += "]}";
        auto r = c.request("POST", "/v1/embeddings", body, {});
        REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.message()));
        INFO(r->body);
        REQUIRE(r->status == 200);
        simdjson::dom::parser parser;
        simdjson::dom::element root;
        REQUIRE(parser.parse(r->body).get(root) == simdjson::SUCCESS);
        simdjson::dom::array data;
        REQUIRE(root["data"].get(data) == simdjson::SUCCESS);
        REQUIRE(data.size() == refs.size());
        size_t i = 0;
        int64_t tokens = 0;
        for (simdjson::dom::element d : data) {
            CHECK(d["index"].get_int64().value() == static_cast<int64_t>(i));
            simdjson::dom::array values;
            REQUIRE(d["embedding"].get(values) == simdjson::SUCCESS);
            std::vector<double> got;
            for (simdjson::dom::element v : values) got.push_back(double(v));
            CAPTURE(refs[i].text);
            CHECK(1.0 - test::cosine(got, refs[i].mean) < 1e-4);
            tokens += static_cast<int64_t>(refs[i].ids.size());
            ++i;
        }
        // transformers' ids, [CLS] and [SEP] included, are what the server counted.
        CHECK(root["usage"]["prompt_tokens"].get_int64().value() == tokens);

        for (const char* route : {"/v1/completions", "/v1/chat/completions"}) {
            CAPTURE(route);
            const std::string gen =
                std::string(route) == "/v1/completions"
                    ? R"({"model":"tiny-bert","prompt":"hello","max_tokens":2})"
                    : R"({"model":"tiny-bert","messages":[{"role":"user","content":"hi"}]})";
            auto g = c.request("POST", route, gen, {});
            REQUIRE(g.ok());
            INFO(g->body);
            CHECK(g->status == 400);
            CHECK(g->body.find("embedding model") != std::string::npos);
        }
    }
}
