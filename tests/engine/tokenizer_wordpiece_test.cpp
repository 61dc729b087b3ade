// WordPiece (BERT/BGE) tokenizers: llama.cpp's bert-bge vectors through a GGUF "bert"
// vocabulary and through a BERT tokenizer.json, both built from the bert-base-uncased
// vocabulary kept in tests/data; a small hand-made tokenizer.json for the normalizer switches,
// CJK, punctuation, [UNK] and max_input_chars_per_word; decoding and streaming.
#include <simdjson.h>

#include <filesystem>
#include <fstream>

#include "model/gguf_writer.hpp"
#include "tokenizer/incremental_detokenizer.hpp"
#include "tokenizer_vectors.hpp"
#include "base/json_string.hpp"
#include "support/temp_dir.hpp"

using namespace actorlm;
using namespace actorlm::test;

namespace {

std::string data_path(const std::string& rel) {
    return std::string(ACTORLM_SOURCE_DIR) + "/tests/data/" + rel;
}

#define REQUIRE_REPO_DATA(rel)                                      \
    do {                                                            \
        if (!std::filesystem::exists(data_path(rel))) {             \
            MESSAGE("skipped: " << data_path(rel)                   \
                                << " is absent (see tests/data/"    \
                                   "tokenizer-vectors/README.md)"); \
            return;                                                 \
        }                                                           \
    } while (0)

const char* const k_vocab = "tokenizer-vectors/bert-base-uncased-vocab.json";
const char* const k_vectors = "tokenizer-vectors/ggml-vocab-bert-bge.gguf";

bool is_bracketed(const std::string& t) {
    return t.size() >= 2 && t.front() == '[' && t.back() == ']';
}

// The vocabulary in GGUF (phantom space) spelling, id 1 restored to [unused0] (README.md).
std::vector<std::string> gguf_vocab() {
    simdjson::dom::parser parser;
    simdjson::dom::array arr;
    REQUIRE(parser.load(data_path(k_vocab)).get_array().get(arr) == simdjson::SUCCESS);
    std::vector<std::string> tokens;
    for (simdjson::dom::element e : arr) {
        std::string_view s;
        REQUIRE(e.get_string().get(s) == simdjson::SUCCESS);
        tokens.emplace_back(s);
    }
    REQUIRE(tokens.size() == 30522);
    tokens[1] = "[unused0]";
    return tokens;
}

// The same vocabulary in BERT's own spelling ("the", "##ing"), as in vocab.txt.
std::vector<std::string> hf_vocab() {
    std::vector<std::string> v = gguf_vocab();
    const std::string marker = "\xE2\x96\x81";
    for (auto& t : v) {
        if (is_bracketed(t)) continue;
        t = t.compare(0, marker.size(), marker) == 0 ? t.substr(marker.size()) : "##" + t;
    }
    return v;
}

// A BGE GGUF vocabulary as llama.cpp's converter writes it.
const tokenizer& bge_gguf() {
    static std::unique_ptr<tokenizer> tok = [] {
        const std::vector<std::string> tokens = gguf_vocab();
        std::vector<int32_t> types(tokens.size(), 1);
        for (int32_t id : {0, 100, 101, 102, 103}) types[static_cast<size_t>(id)] = 3;  // CONTROL
        gguf_writer w;
        w.set_string("general.architecture", "bert");
        w.set_string("tokenizer.ggml.model", "bert");
        w.set_string("tokenizer.ggml.pre", "default");
        w.set_string_array("tokenizer.ggml.tokens", tokens);
        w.set_i32_array("tokenizer.ggml.token_type", types);
        w.set_u32("tokenizer.ggml.unknown_token_id", 100);
        w.set_u32("tokenizer.ggml.seperator_token_id", 102);
        w.set_u32("tokenizer.ggml.padding_token_id", 0);
        const auto path = actorlm::test::temp_path("tok_bge.gguf");
        REQUIRE(w.write(path.string()).ok());
        auto t = load_tokenizer_for_model(path.string());
        REQUIRE_MESSAGE(t.ok(), (t.ok() ? std::string() : t.message()));
        return std::move(t.value());
    }();
    return *tok;
}

// A BERT tokenizer.json (bge-small-en-v1.5's components) over `vocab`.
std::string bert_json(const std::vector<std::string>& vocab, const std::string& normalizer,
                      int max_chars = 100) {
    std::string v = "{";
    for (size_t id = 0; id < vocab.size(); ++id) {
        if (id) v += ",";
        v += json_quoted(vocab[id]) + ":" + std::to_string(id);
    }
    v += "}";
    auto id_of = [&](const char* t) {
        return std::to_string(std::find(vocab.begin(), vocab.end(), t) - vocab.begin());
    };
    std::string added = "[";
    for (const char* t : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}) {
        if (added.size() > 1) added += ",";
        added += std::string(R"({"id":)") + id_of(t) + R"(,"content":")" + t + R"(",)";
        added += R"("single_word":false,"lstrip":false,"rstrip":false,"normalized":false,)";
        added += R"("special":true})";
    }
    added += "]";
    const std::string cls = id_of("[CLS]"), sep = id_of("[SEP]");
    std::string post = R"({"type":"TemplateProcessing","single":[)";
    post += R"({"SpecialToken":{"id":"[CLS]","type_id":0}},{"Sequence":{"id":"A","type_id":0}},)";
    post += R"({"SpecialToken":{"id":"[SEP]","type_id":0}}],"special_tokens":{)";
    post += R"("[CLS]":{"id":"[CLS]","ids":[)" + cls + R"(],"tokens":["[CLS]"]},)";
    post += R"("[SEP]":{"id":"[SEP]","ids":[)" + sep + R"(],"tokens":["[SEP]"]}}})";
    std::string model = R"({"type":"WordPiece","unk_token":"[UNK]",)";
    model += R"("continuing_subword_prefix":"##","max_input_chars_per_word":)";
    model += std::to_string(max_chars) + R"(,"vocab":)" + v + "}";
    return R"({"version":"1.0","added_tokens":)" + added + R"(,"normalizer":)" + normalizer +
           R"(,"pre_tokenizer":{"type":"BertPreTokenizer"},"post_processor":)" + post +
           R"(,"decoder":{"type":"WordPiece","prefix":"##","cleanup":true},"model":)" + model + "}";
}

const char* const k_bert_normalizer =
    R"({"type":"BertNormalizer","clean_text":true,"handle_chinese_chars":true,)"
    R"("strip_accents":null,"lowercase":true})";

const tokenizer& bge_json() {
    static std::unique_ptr<tokenizer> tok = [] {
        auto t = load_tokenizer_json("wp_bge", bert_json(hf_vocab(), k_bert_normalizer));
        REQUIRE_MESSAGE(t.ok(), (t.ok() ? std::string() : t.message()));
        return std::move(t.value());
    }();
    return *tok;
}

std::string stream(const tokenizer& t, const std::vector<int32_t>& ids,
                   detokenizer_options opts = {}) {
    incremental_detokenizer d(t, opts);
    std::string all;
    for (int32_t id : ids) all += d.push(id);
    return all + d.finish();
}

}  // namespace

TEST_CASE("tokenizer vectors: bert-bge GGUF vocabulary (WordPiece)") {
    REQUIRE_REPO_DATA(k_vocab);
    REQUIRE_REPO_DATA(std::string(k_vectors) + ".inp");
    const auto cases = read_vectors_at(data_path(k_vectors));
    REQUIRE(cases.size() > 30);
    const tokenizer& t = bge_gguf();
    CHECK(t.description().find("bert") != std::string::npos);
    CHECK(check_vectors(t, cases) == cases.size());
}

TEST_CASE("tokenizer vectors: bert-bge with a BERT tokenizer.json (WordPiece)") {
    REQUIRE_REPO_DATA(k_vocab);
    REQUIRE_REPO_DATA(std::string(k_vectors) + ".inp");
    const auto cases = read_vectors_at(data_path(k_vectors));
    REQUIRE(cases.size() > 30);
    const tokenizer& t = bge_json();
    CHECK(t.description().find("WordPiece") != std::string::npos);
    CHECK(check_vectors(t, cases) == cases.size());
}

TEST_CASE("BGE from GGUF and from tokenizer.json: [CLS] x [SEP], decode and token pieces") {
    REQUIRE_REPO_DATA(k_vocab);
    for (const tokenizer* t : {&bge_gguf(), &bge_json()}) {
        const auto ids = t->encode("Hello, World! Unaffable", true, false);
        // [CLS] hello , world ! una ##ffa ##ble [SEP]
        CHECK(ids == std::vector<int32_t>{101, 7592, 1010, 2088, 999, 14477, 20961, 3468, 102});
        CHECK(t->decode(ids, true) == "hello, world! unaffable");
        CHECK(t->decode(ids, false) == "[CLS] hello, world! unaffable [SEP]");
        CHECK(t->is_special(101));
        CHECK(t->is_special(102));
        CHECK(t->token_to_piece(7592) == " hello");
        CHECK(t->token_to_piece(20961) == "ffa");
        CHECK(t->token_to_piece(101) == "[CLS]");
        // special tokens in client text are plain text; parsed only when asked
        CHECK(t->encode("[SEP]", false, false) == std::vector<int32_t>{1031, 19802, 1033});
        CHECK(t->encode("a [SEP]", false, true) == std::vector<int32_t>{1037, 102});
    }
}

TEST_CASE("BGE streaming detokenization adds up to decode") {
    REQUIRE_REPO_DATA(k_vocab);
    REQUIRE_REPO_DATA(std::string(k_vectors) + ".inp");
    const auto cases = read_vectors_at(data_path(k_vectors));
    for (const tokenizer* t : {&bge_gguf(), &bge_json()}) {
        for (const auto& c : cases) {
            const std::string full = t->decode(c.ids, true);
            CHECK_MESSAGE(stream(*t, c.ids) == full, "case '" << c.text << "'");
        }
        // with special tokens shown: the decoder's own spaces, none added around them
        const std::vector<int32_t> ids{101, 7592, 1010, 2088, 102};
        detokenizer_options shown;
        shown.skip_special_tokens = false;
        CHECK(stream(*t, ids, shown) == "[CLS] hello, world [SEP]");
        CHECK(t->decode(ids, false) == "[CLS] hello, world [SEP]");
    }
}

TEST_CASE("a small WordPiece tokenizer.json: accents, CJK, punctuation, [UNK], long words") {
    std::vector<std::string> vocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    for (char c = 'a'; c <= 'z'; ++c) {
        vocab.emplace_back(1, c);
        vocab.push_back(std::string("##") + c);
    }
    // words, continuations, punctuation, 我 想 ¿, and pieces for the cased variant (##é ##ï)
    // clang-format off
    for (const char* w : {"hello", "world", "un", "##aff", "##able", "cafe", "naive", "!", ",", ".",
                          "'", "?", "(", ")", "\xE6\x88\x91", "\xE6\x83\xB3", "\xC2\xBF", "caf",
                          "##\xC3\xA9", "C", "##\xC3\xAF"})
        vocab.emplace_back(w);
    // clang-format on
    auto id = [&](const std::string& t) {
        return static_cast<int32_t>(std::find(vocab.begin(), vocab.end(), t) - vocab.begin());
    };
    auto loaded = load_tokenizer_json("wp_small", bert_json(vocab, k_bert_normalizer, 10));
    REQUIRE_MESSAGE(loaded.ok(), (loaded.ok() ? std::string() : loaded.message()));
    const tokenizer& t = **loaded;

    // lowercase + accents stripped (strip_accents null follows lowercase)
    CHECK(t.encode("Café NAÏVE", false, false) == std::vector<int32_t>{id("cafe"), id("naive")});
    // punctuation is split off, Unicode punctuation too; whitespace of any kind separates
    CHECK(t.encode("hello,world!\t\xC2\xBFhello\xC2\xA0world", false, false) ==
          std::vector<int32_t>{id("hello"), id(","), id("world"), id("!"), id("\xC2\xBF"),
                               id("hello"), id("world")});
    // CJK ideographs become words of their own, even inside a word
    CHECK(t.encode("hello\xE6\x88\x91\xE6\x83\xB3world", false, false) ==
          std::vector<int32_t>{id("hello"), id("\xE6\x88\x91"), id("\xE6\x83\xB3"), id("world")});
    // greedy longest match with ## continuations
    CHECK(t.encode("unaffable", false, false) ==
          std::vector<int32_t>{id("un"), id("##aff"), id("##able")});
    CHECK(t.encode("helloo", false, false) == std::vector<int32_t>{id("hello"), id("##o")});
    // a word with a character that no piece covers is one [UNK], not a partial match
    CHECK(t.encode("hello\xC3\x9F world", false, false) ==
          std::vector<int32_t>{id("[UNK]"), id("world")});
    // control characters are dropped (zero-width space is Cf), so the word stays whole
    CHECK(t.encode("hel\xE2\x80\x8Blo\x01", false, false) == std::vector<int32_t>{id("hello")});
    // max_input_chars_per_word = 10: 10 characters are split, 11 are [UNK]
    CHECK(t.encode("helloworld", false, false) ==
          std::vector<int32_t>{id("hello"), id("##w"), id("##o"), id("##r"), id("##l"), id("##d")});
    CHECK(t.encode("helloworlds", false, false) == std::vector<int32_t>{id("[UNK]")});
    CHECK(t.encode("", false, false).empty());
    // TemplateProcessing: [CLS] x [SEP]
    CHECK(t.encode("hello", true, false) ==
          std::vector<int32_t>{id("[CLS]"), id("hello"), id("[SEP]")});
    CHECK(t.encode("", true, false) == std::vector<int32_t>{id("[CLS]"), id("[SEP]")});
    // decode joins ## pieces, spaces words, and cleans the space before punctuation
    const auto ids = t.encode("Hello, unaffable world (hello) ?", false, false);
    CHECK(t.decode(ids, true) == "hello, unaffable world ( hello )?");

    // accents kept when strip_accents is false; case kept when lowercase is false
    auto cased = load_tokenizer_json("wp_cased",
                                     bert_json(vocab, R"({"type":"BertNormalizer","clean_text":true,
        "handle_chinese_chars":true,"strip_accents":false,"lowercase":false})"));
    REQUIRE_MESSAGE(cased.ok(), (cased.ok() ? std::string() : cased.message()));
    CHECK((*cased)->encode("Café", false, false) ==
          std::vector<int32_t>{id("C"), id("##a"), id("##f"), id("##\xC3\xA9")});
    CHECK((*cased)->encode("naïve", false, false) ==
          std::vector<int32_t>{id("n"), id("##a"), id("##\xC3\xAF"), id("##v"), id("##e")});
    // handle_chinese_chars off: the ideographs stay inside the word (and make it unknown)
    auto no_cjk = load_tokenizer_json(
        "wp_no_cjk", bert_json(vocab, R"({"type":"BertNormalizer","clean_text":true,
        "handle_chinese_chars":false,"strip_accents":null,"lowercase":true})"));
    REQUIRE(no_cjk.ok());
    CHECK((*no_cjk)->encode("hello\xE6\x88\x91", false, false) ==
          std::vector<int32_t>{id("[UNK]")});
}

TEST_CASE("WordPiece tokenizer.json: BertProcessing and missing [UNK]") {
    auto t = load_tokenizer_json("wp_bert_processing",
                                 R"({"normalizer":null,"pre_tokenizer":{"type":"BertPreTokenizer"},
        "post_processor":{"type":"BertProcessing","sep":["[SEP]",1],"cls":["[CLS]",0]},
        "decoder":{"type":"WordPiece","prefix":"##","cleanup":false},
        "model":{"type":"WordPiece","unk_token":"[UNK]",
                 "vocab":{"[CLS]":0,"[SEP]":1,"[UNK]":2,"Hi":3,"##!":4,"!":5}}})");
    REQUIRE_MESSAGE(t.ok(), (t.ok() ? std::string() : t.message()));
    // no normalizer: case is kept, and "hi" is unknown
    CHECK((*t)->encode("Hi hi !", true, false) == std::vector<int32_t>{0, 3, 2, 5, 1});
    CHECK((*t)->decode(std::vector<int32_t>{3, 5, 3, 4}, true) == "Hi ! Hi!");  // no cleanup

    auto no_unk = load_tokenizer_json(
        "no_unk", R"({"model":{"type":"WordPiece","unk_token":"[UNK]","vocab":{"a":0}}})");
    REQUIRE_FALSE(no_unk.ok());
    CHECK(no_unk.message().find("[UNK]") != std::string::npos);
}

TEST_CASE("a GGUF bert vocabulary built in memory: phantom spelling, defaults and flags") {
    // [PAD] [UNK] [CLS] [SEP] at llama.cpp's default ids would be 0/100/101/102; a tiny
    // vocabulary names them through the id keys instead
    gguf_writer w;
    w.set_string("tokenizer.ggml.model", "bert");
    w.set_string_array("tokenizer.ggml.tokens", {"[PAD]", "[UNK]", "[CLS]", "[SEP]",
                                                 "\xE2\x96\x81"
                                                 "hello",
                                                 "lo",
                                                 "\xE2\x96\x81"
                                                 "hel",
                                                 "\xE2\x96\x81"
                                                 "!",
                                                 "\xE2\x96\x81"});
    w.set_i32_array("tokenizer.ggml.token_type", {3, 3, 3, 3, 1, 1, 1, 1, 1});
    w.set_u32("tokenizer.ggml.unknown_token_id", 1);
    w.set_u32("tokenizer.ggml.bos_token_id", 2);
    w.set_u32("tokenizer.ggml.seperator_token_id", 3);
    const std::string path = actorlm::test::temp_path("tok_tiny_bert.gguf").string();
    REQUIRE(w.write(path).ok());
    auto t = load_tokenizer_for_model(path);
    REQUIRE_MESSAGE(t.ok(), (t.ok() ? "" : t.message()));
    const tokenizer& k = **t;
    CHECK(k.encode("Hello HELLO!", true, false) == std::vector<int32_t>{2, 4, 4, 7, 3});
    CHECK(k.encode("hello hello", false, false) == std::vector<int32_t>{4, 4});
    CHECK(k.encode("hel", false, false) == std::vector<int32_t>{6});
    CHECK(k.encode("hello hellos", false, false) == std::vector<int32_t>{4, 1});  // no "s" piece
    CHECK(k.decode(std::vector<int32_t>{6, 5, 7, 4}, true) == "hello! hello");
    CHECK(k.bos_id() == 2);
    CHECK(k.eos_ids().empty());

    w.set_bool("tokenizer.ggml.add_sep_token", false);
    REQUIRE(w.write(path).ok());
    auto no_sep = load_tokenizer_for_model(path);
    REQUIRE(no_sep.ok());
    CHECK((*no_sep)->encode("hello", true, false) == std::vector<int32_t>{2, 4});
}
