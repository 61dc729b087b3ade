// The pooling a sentence-transformers directory declares: modules.json's Pooling module
// (by its path) picks CLS, MEAN or LAST, a Normalize module turns normalization on, a
// directory without modules.json declares none, and a pooling mode actorlm does not run
// (max, or two modes at once) is refused by file, so a model never embeds with the wrong one.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "model/sentence_transformers_pooling.hpp"
#include "support/temp_dir.hpp"

using namespace actorlm;

namespace {

void write(const std::filesystem::path& p, const std::string& text) {
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
}

const char* k_modules_with_normalize = R"([
  {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
  {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
  {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}
])";

const char* k_modules_without_normalize = R"([
  {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
  {"idx": 1, "name": "1", "path": "pool", "type": "sentence_transformers.models.Pooling"}
])";

}  // namespace

TEST_CASE("sentence-transformers pooling: CLS, mean and last, with or without Normalize") {
    const auto dir = test::fresh_temp_dir("st-pooling");
    auto none = read_sentence_transformers_pooling(dir.string());
    REQUIRE(none.ok());
    CHECK_FALSE(none->has_value());

    write(dir / "modules.json", k_modules_with_normalize);
    write(dir / "1_Pooling/config.json", R"({"pooling_mode_cls_token": true,
        "pooling_mode_mean_tokens": false})");
    auto cls = read_sentence_transformers_pooling(dir.string());
    REQUIRE_MESSAGE(cls.ok(), (cls.ok() ? "" : cls.message()));
    REQUIRE(cls->has_value());
    CHECK((*cls)->type == pooling_params::kind::cls);
    CHECK((*cls)->normalize);

    write(dir / "1_Pooling/config.json", R"({"pooling_mode_lasttoken": true})");
    auto last = read_sentence_transformers_pooling(dir.string());
    REQUIRE(last.ok());
    CHECK((*last)->type == pooling_params::kind::last);

    write(dir / "modules.json", k_modules_without_normalize);
    write(dir / "pool/config.json", R"({"pooling_mode_mean_tokens": true})");
    auto mean = read_sentence_transformers_pooling(dir.string());
    REQUIRE(mean.ok());
    REQUIRE(mean->has_value());
    CHECK((*mean)->type == pooling_params::kind::mean);
    CHECK_FALSE((*mean)->normalize);
    std::filesystem::remove_all(dir);
}

TEST_CASE("sentence-transformers pooling: a mode actorlm does not run is refused by file") {
    const auto dir = test::fresh_temp_dir("st-pooling-bad");
    write(dir / "modules.json", k_modules_without_normalize);
    write(dir / "pool/config.json", R"({"pooling_mode_max_tokens": true})");
    auto max = read_sentence_transformers_pooling(dir.string());
    REQUIRE_FALSE(max.ok());
    CHECK(max.message().find("pooling_mode_max_tokens") != std::string::npos);
    CHECK(max.message().find("config.json") != std::string::npos);

    write(dir / "pool/config.json",
          R"({"pooling_mode_cls_token": true, "pooling_mode_mean_tokens": true})");
    CHECK_FALSE(read_sentence_transformers_pooling(dir.string()).ok());
    std::filesystem::remove_all(dir);
}
