// The Hugging Face Hub client against a loopback Hub (tests/support/loopback_hub.hpp):
// model references, file selection, GGUF and safetensors repositories, the cache layout
// huggingface_hub uses, cache reuse without downloads, a broken download resumed with
// Range, a corrupt file refused, gated and missing repositories, HF_TOKEN, offline mode,
// --revision and the environment variables.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "net/hub/file_selection.hpp"
#include "net/hub/hub_api.hpp"
#include "net/hub/hub_cache.hpp"
#include "net/hub/hub_model.hpp"
#include "net/hub/hub_settings.hpp"
#include "net/hub/model_reference.hpp"
#include "support/loopback_hub.hpp"
#include "support/shared_data.hpp"
#include "support/temp_dir.hpp"

using namespace actorlm;
using namespace actorlm::net::hub;
using actorlm::test::loopback_hub;
namespace fs = std::filesystem;

namespace {

const std::string k_commit_main = "1111111111111111111111111111111111111111";
const std::string k_commit_v1 = "2222222222222222222222222222222222222222";

// Bytes that differ all along, large enough to arrive in several pieces.
std::string pattern_bytes(size_t n, unsigned seed) {
    std::string s(n, '\0');
    uint32_t x = seed * 2654435761u + 1;
    for (auto& c : s) {
        x = x * 1664525u + 1013904223u;
        c = static_cast<char>(x >> 24);
    }
    return s;
}

loopback_hub::repo gguf_repo() {
    loopback_hub::commit c{k_commit_main, {}};
    c.files["README.md"] = {"# tiny\n", false};
    c.files["tiny-Q4_K_M.gguf"] = {pattern_bytes(300000, 1), true};
    c.files["tiny-Q8_0.gguf"] = {pattern_bytes(200000, 2), true};
    c.files["tiny-Q4_K_S.gguf"] = {pattern_bytes(1000, 3), true};
    c.files["mmproj-tiny-f16.gguf"] = {pattern_bytes(1000, 4), true};
    loopback_hub::repo r;
    r.revisions["main"] = c;
    return r;
}

loopback_hub::repo safetensors_repo() {
    loopback_hub::commit main{k_commit_main, {}};
    main.files["config.json"] = {R"({"model_type":"llama"})", false};
    main.files["tokenizer.json"] = {R"({"model":{}})", false};
    main.files["tokenizer_config.json"] = {R"({})", false};
    main.files["model.safetensors"] = {pattern_bytes(150000, 5), true};
    main.files["README.md"] = {"# model\n", false};
    main.files["onnx/model.onnx"] = {pattern_bytes(5000, 6), true};
    loopback_hub::commit v1 = main;
    v1.sha = k_commit_v1;
    v1.files["config.json"] = {R"({"model_type":"llama","v":1})", false};
    loopback_hub::repo r;
    r.revisions["main"] = main;
    r.revisions["v1"] = v1;
    return r;
}

struct hub_fixture {
    loopback_hub hub;
    fs::path cache_root;
    hub_settings settings;
    std::vector<download_progress> progress_seen;

    explicit hub_fixture(const std::string& name)
        : cache_root(actorlm::test::fresh_temp_dir("hub-" + name)) {
        hub.add_repo("acme/tiny-GGUF", gguf_repo());
        hub.add_repo("acme/tiny", safetensors_repo());
        settings.endpoint = hub.endpoint();
        settings.cache_dir = (cache_root / "hub").string();
        settings.connect_timeout = std::chrono::milliseconds(5000);
        settings.read_timeout = std::chrono::milliseconds(5000);
    }
    ~hub_fixture() {
        std::error_code ec;
        fs::remove_all(cache_root, ec);
    }
    result<resolved_model> resolve(const std::string& reference, const std::string& revision = "main") {
        const auto ref = parse_model_reference(reference);
        REQUIRE(ref.has_value());
        return resolve_hub_model(*ref, revision, settings,
                                 [this](const download_progress& p) { progress_seen.push_back(p); });
    }
    fs::path repo_dir(const std::string& id) const { return hub_cache(settings.cache_dir, id).repo_dir(); }
};

std::string file_text(const fs::path& p) { return actorlm::test::read_file(p.string()); }

}  // namespace

TEST_CASE("hub: model references are ORG/NAME with an optional :QUANT") {
    auto r = parse_model_reference("unsloth/Qwen3-0.6B-GGUF:Q4_K_M");
    REQUIRE(r.has_value());
    CHECK(r->repo_id == "unsloth/Qwen3-0.6B-GGUF");
    CHECK(r->quant == "Q4_K_M");
    r = parse_model_reference("HuggingFaceTB/SmolLM2-135M-Instruct");
    REQUIRE(r.has_value());
    CHECK(r->quant.empty());
    CHECK_FALSE(parse_model_reference("model.gguf").has_value());
    CHECK_FALSE(parse_model_reference("models/stories260K.gguf").has_value());
    CHECK_FALSE(parse_model_reference("models/model.SAFETENSORS").has_value());
    CHECK_FALSE(parse_model_reference("/abs/path/model.gguf").has_value());
    CHECK_FALSE(parse_model_reference("./org/name").has_value());
    CHECK_FALSE(parse_model_reference("a/b/c").has_value());
    CHECK_FALSE(parse_model_reference("org/../x").has_value());
    CHECK_FALSE(parse_model_reference("org/name:").has_value());
    CHECK_FALSE(parse_model_reference("org/name:Q4-K").has_value());
}

TEST_CASE("hub: a GGUF quantization is picked as a whole word, Q4_K_M by default") {
    const std::vector<std::string> files = {"m-Q4_K_M.gguf", "m-Q4_K_S.gguf", "m-Q8_0.gguf",
                                            "mmproj-m-f16.gguf", "README.md"};
    auto pick = select_model_files("o/m", "", files);
    REQUIRE(pick.ok());
    CHECK(pick->model_file == "m-Q4_K_M.gguf");
    pick = select_model_files("o/m", "q8_0", files);
    REQUIRE(pick.ok());
    CHECK(pick->files == std::vector<std::string>{"m-Q8_0.gguf"});
    pick = select_model_files("o/m", "Q4_K", files);  // names neither Q4_K_M nor Q4_K_S
    REQUIRE_FALSE(pick.ok());
    CHECK(pick.message().find("has no GGUF file of quantization Q4_K") != std::string::npos);
    CHECK(pick.message().find("Q4_K_M, Q4_K_S, Q8_0") != std::string::npos);
    // One GGUF and no quantization asked for: that one.
    pick = select_model_files("o/m", "", {"stories260K.gguf"});
    REQUIRE(pick.ok());
    CHECK(pick->model_file == "stories260K.gguf");
    // Split files are refused by name; two files of one quantization too.
    pick = select_model_files("o/m", "Q8_0", {"m-Q8_0-00001-of-00002.gguf", "m-Q8_0-00002-of-00002.gguf"});
    REQUIRE_FALSE(pick.ok());
    CHECK(pick.message().find("split") != std::string::npos);
    pick = select_model_files("o/m", "Q8_0", {"a-Q8_0.gguf", "b-Q8_0.gguf"});
    REQUIRE_FALSE(pick.ok());
    CHECK(pick.message().find("a-Q8_0.gguf, b-Q8_0.gguf") != std::string::npos);
}

TEST_CASE("hub: a safetensors repository gives its weights, config and tokenizer files") {
    auto pick = select_model_files(
        "o/m", "",
        {"config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
         "model.safetensors.index.json", "tokenizer.json", "README.md", "onnx/model.onnx",
         "original/consolidated.safetensors", "chat_template.jinja", ".gitattributes"});
    REQUIRE(pick.ok());
    CHECK(pick->model_file.empty());
    CHECK(pick->files == std::vector<std::string>{"chat_template.jinja", "config.json",
                                                 "model-00001-of-00002.safetensors",
                                                 "model-00002-of-00002.safetensors",
                                                 "model.safetensors.index.json", "tokenizer.json"});
    CHECK_FALSE(select_model_files("o/m", "Q4_0", {"config.json", "model.safetensors"}).ok());
    CHECK_FALSE(select_model_files("o/m", "", {"README.md", "model.bin"}).ok());
}

TEST_CASE("hub: a GGUF repository is downloaded into huggingface_hub's cache layout") {
    hub_fixture f("gguf");
    auto r = f.resolve("acme/tiny-GGUF:Q8_0");
    INFO((r ? std::string() : r.message()));
    REQUIRE(r.ok());
    const std::string expected = gguf_repo().revisions["main"].files["tiny-Q8_0.gguf"].content;
    const fs::path repo = f.repo_dir("acme/tiny-GGUF");
    CHECK(repo.filename() == "models--acme--tiny-GGUF");
    CHECK(fs::path(r->path) == repo / "snapshots" / k_commit_main / "tiny-Q8_0.gguf");
    CHECK(file_text(r->path) == expected);
    CHECK(fs::read_symlink(r->path) ==
          fs::path("../../blobs") / actorlm::test::sha256_hex(expected));
    CHECK(file_text(repo / "refs" / "main") == k_commit_main);
    // huggingface_hub's lock file for the blob, beside the repository folders.
    CHECK(fs::exists(fs::path(f.settings.cache_dir) / ".locks" / "models--acme--tiny-GGUF" /
                     (actorlm::test::sha256_hex(expected) + ".lock")));
    CHECK(r->downloaded_files == 1);
    // Only the chosen file: the other quantizations and the projector were not fetched.
    CHECK(f.hub.count("/resolve/") == 1);
    CHECK(f.hub.count("/cdn/") == 1);
    REQUIRE_FALSE(f.progress_seen.empty());
    CHECK(f.progress_seen.back().finished);
    CHECK(f.progress_seen.back().done == expected.size());
    // The default quantization is Q4_K_M.
    r = f.resolve("acme/tiny-GGUF");
    REQUIRE(r.ok());
    CHECK(fs::path(r->path).filename() == "tiny-Q4_K_M.gguf");
}

TEST_CASE("hub: a safetensors repository becomes a model directory") {
    hub_fixture f("safetensors");
    auto r = f.resolve("acme/tiny");
    INFO((r ? std::string() : r.message()));
    REQUIRE(r.ok());
    const fs::path dir = r->path;
    CHECK(dir == f.repo_dir("acme/tiny") / "snapshots" / k_commit_main);
    const auto repo = safetensors_repo();
    const auto& files = repo.revisions.at("main").files;
    for (const char* name : {"config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors"})
        CHECK(file_text(dir / name) == files.at(name).content);
    CHECK_FALSE(fs::exists(dir / "README.md"));
    CHECK_FALSE(fs::exists(dir / "onnx"));
    // A small file's blob is named by its git blob id, as huggingface_hub names it.
    CHECK(fs::read_symlink(dir / "config.json") ==
          fs::path("../../blobs") / actorlm::test::git_blob_sha1_hex(files.at("config.json").content));
}

TEST_CASE("hub: a cached model is used again without downloading") {
    hub_fixture f("reuse");
    REQUIRE(f.resolve("acme/tiny").ok());
    const size_t downloads = f.hub.count("/resolve/") + f.hub.count("/cdn/");
    CHECK(downloads == 5);  // four files, the weights through the CDN redirect
    auto again = f.resolve("acme/tiny");
    REQUIRE(again.ok());
    CHECK(again->downloaded_files == 0);
    CHECK(f.hub.count("/resolve/") + f.hub.count("/cdn/") == downloads);
    // v1 shares its weights with main: only its changed config.json is fetched.
    auto v1 = f.resolve("acme/tiny", "v1");
    REQUIRE(v1.ok());
    CHECK(v1->downloaded_files == 1);
}

TEST_CASE("hub: a download broken halfway resumes with a Range request") {
    hub_fixture f("resume");
    const std::string content = gguf_repo().revisions["main"].files["tiny-Q4_K_M.gguf"].content;
    const std::string sha = actorlm::test::sha256_hex(content);
    f.hub.drop_next_download_after(sha, 120000);
    auto r = f.resolve("acme/tiny-GGUF:Q4_K_M");
    INFO((r ? std::string() : r.message()));
    REQUIRE(r.ok());
    CHECK(file_text(r->path) == content);
    std::vector<std::string> ranges;
    for (const auto& req : f.hub.requests())
        if (req.target.find("/cdn/") != std::string::npos) ranges.push_back(req.range);
    REQUIRE(ranges.size() == 2);
    CHECK(ranges[0].empty());
    CHECK(ranges[1] == "bytes=120000-");
    CHECK_FALSE(fs::exists(hub_cache(f.settings.cache_dir, "acme/tiny-GGUF").incomplete_path(sha)));
}

TEST_CASE("hub: a partial file left by an earlier run is continued") {
    hub_fixture f("partial");
    const std::string content = gguf_repo().revisions["main"].files["tiny-Q4_K_M.gguf"].content;
    const std::string sha = actorlm::test::sha256_hex(content);
    const hub_cache cache(f.settings.cache_dir, "acme/tiny-GGUF");
    REQUIRE(cache.prepare(k_commit_main).ok());
    std::ofstream(cache.incomplete_path(sha), std::ios::binary) << content.substr(0, 50000);
    auto r = f.resolve("acme/tiny-GGUF");
    REQUIRE(r.ok());
    CHECK(file_text(r->path) == content);
    const auto reqs = f.hub.requests();
    CHECK(reqs.back().range == "bytes=50000-");
}

TEST_CASE("hub: a file whose hash does not match is refused and not linked") {
    hub_fixture f("corrupt");
    const std::string content = gguf_repo().revisions["main"].files["tiny-Q8_0.gguf"].content;
    const std::string sha = actorlm::test::sha256_hex(content);
    f.hub.corrupt(sha);
    auto r = f.resolve("acme/tiny-GGUF:Q8_0");
    REQUIRE_FALSE(r.ok());
    CHECK(r.message().find("acme/tiny-GGUF/tiny-Q8_0.gguf is corrupt") != std::string::npos);
    CHECK(r.message().find(sha) != std::string::npos);
    const hub_cache cache(f.settings.cache_dir, "acme/tiny-GGUF");
    CHECK_FALSE(fs::exists(cache.blob_path(sha)));
    CHECK_FALSE(fs::exists(cache.incomplete_path(sha)));
    CHECK_FALSE(fs::exists(fs::symlink_status(cache.snapshot_dir(k_commit_main) / "tiny-Q8_0.gguf")));
}

TEST_CASE("hub: gated and missing repositories and revisions give clear errors") {
    hub_fixture f("errors");
    auto gated = gguf_repo();
    gated.gated = true;
    f.hub.add_repo("meta/locked", gated);
    auto r = f.resolve("meta/locked");
    REQUIRE_FALSE(r.ok());
    CHECK(r.message().find("repository meta/locked is gated") != std::string::npos);
    CHECK(r.message().find("HF_TOKEN") != std::string::npos);
    // The real Hub lists a gated repository's files and refuses their content.
    auto files_gated = gguf_repo();
    files_gated.gated_files = true;
    f.hub.add_repo("meta/listed", files_gated);
    r = f.resolve("meta/listed");
    REQUIRE_FALSE(r.ok());
    CHECK(r.message().find("repository meta/listed is gated") != std::string::npos);
    CHECK(hub_cache(f.settings.cache_dir, "meta/listed").snapshot_files(k_commit_main).empty());
    r = f.resolve("acme/nothing-here");
    REQUIRE_FALSE(r.ok());
    CHECK(r.message().find("repository acme/nothing-here was not found") != std::string::npos);
    r = f.resolve("acme/tiny", "v9");
    REQUIRE_FALSE(r.ok());
    CHECK(r.message().find("revision 'v9' was not found in acme/tiny") != std::string::npos);
    r = f.resolve("acme/tiny-GGUF:IQ1_S");
    REQUIRE_FALSE(r.ok());
    CHECK(r.message().find("no GGUF file of quantization IQ1_S") != std::string::npos);
    // Nothing was left in the cache for the refused repositories.
    CHECK_FALSE(fs::exists(f.repo_dir("meta/locked")));
}

TEST_CASE("hub: the Hub's error codes become messages naming the repository") {
    http_get_response res;
    res.status = 401;  // the real Hub hides whether a private repository exists
    res.headers["x-error-code"] = "RepoNotFound";
    res.headers["x-error-message"] = "Repository Not Found for url: ...";
    auto e = hub_http_error(res, "o/private", hub_request_kind::repository, "revision 'main'", false);
    CHECK(e.message.find("repository o/private was not found on the Hub (HTTP 401)") == 0);
    CHECK(e.message.find("a private repository needs HF_TOKEN") != std::string::npos);
    res.status = 403;
    res.headers["x-error-code"] = "GatedRepo";
    e = hub_http_error(res, "o/gated", hub_request_kind::file, "model.safetensors", true);
    CHECK(e.message.find("repository o/gated is gated") == 0);
    CHECK(e.message.find("with the account of HF_TOKEN") != std::string::npos);
    res.headers.clear();
    res.status = 404;
    e = hub_http_error(res, "o/m", hub_request_kind::file, "config.json", false);
    CHECK(e.message.find("config.json was not found in o/m") == 0);
    res.status = 500;
    res.reason = "Internal Server Error";
    e = hub_http_error(res, "o/m", hub_request_kind::file, "config.json", false);
    CHECK(e.message.find("HTTP 500 Internal Server Error") != std::string::npos);
}

TEST_CASE("hub: HF_TOKEN is sent as a Bearer token, to the Hub's host only") {
    hub_fixture f("token");
    f.hub.require_token("hf_secret");
    f.hub.redirect_to_host("localhost");  // the CDN: another host name
    auto refused = f.resolve("acme/tiny");
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.message().find("set HF_TOKEN") != std::string::npos);
    f.settings.token = "hf_secret";
    auto r = f.resolve("acme/tiny");
    INFO((r ? std::string() : r.message()));
    REQUIRE(r.ok());
    size_t with_token = 0;
    size_t cdn = 0;
    for (const auto& req : f.hub.requests()) {
        if (req.target.find("/cdn/") != std::string::npos) {
            ++cdn;
            CHECK(req.authorization.empty());  // the redirect left the token behind
        } else if (req.authorization == "Bearer hf_secret") {
            ++with_token;
        }
    }
    CHECK(cdn == 1);
    CHECK(with_token == 5);  // the model info and four files
}

TEST_CASE("hub: a server that goes silent fails after the read timeout") {
    hub_fixture f("timeout");
    f.settings.read_timeout = std::chrono::milliseconds(300);
    f.hub.stall_next_request(std::chrono::milliseconds(1500));
    const auto start = std::chrono::steady_clock::now();
    auto r = f.resolve("acme/tiny");
    REQUIRE_FALSE(r.ok());
    CHECK(r.message().find("read timeout") != std::string::npos);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(1400));
}

TEST_CASE("hub: offline, the cache alone answers") {
    hub_fixture f("offline");
    f.settings.offline = true;
    auto r = f.resolve("acme/tiny-GGUF:Q8_0");
    REQUIRE_FALSE(r.ok());
    CHECK(r.message().find("HF_HUB_OFFLINE is set") != std::string::npos);
    CHECK(r.message().find("acme/tiny-GGUF (revision main) is not in the cache") != std::string::npos);
    CHECK(f.hub.requests().empty());
    f.settings.offline = false;
    auto online = f.resolve("acme/tiny-GGUF:Q8_0");
    REQUIRE(online.ok());
    const size_t before = f.hub.requests().size();
    f.settings.offline = true;
    auto cached = f.resolve("acme/tiny-GGUF:Q8_0");
    REQUIRE(cached.ok());
    CHECK(cached->path == online->path);
    CHECK(f.hub.requests().size() == before);
    // A quantization that was never downloaded is not in the cache.
    CHECK_FALSE(f.resolve("acme/tiny-GGUF:Q4_K_S").ok());
}

TEST_CASE("hub: an unreachable Hub falls back to the cache") {
    hub_fixture f("unreachable");
    REQUIRE(f.resolve("acme/tiny").ok());
    f.settings.endpoint = "http://127.0.0.1:1";  // nothing listens there
    auto r = f.resolve("acme/tiny");
    INFO((r ? std::string() : r.message()));
    REQUIRE(r.ok());
    CHECK(r->cache_only_reason.find("cannot be reached") != std::string::npos);
    auto missing = f.resolve("acme/tiny-GGUF");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.message().find("not in the cache") != std::string::npos);
}

TEST_CASE("hub: --revision picks a branch, tag or commit and records its ref") {
    hub_fixture f("revision");
    auto v1 = f.resolve("acme/tiny", "v1");
    REQUIRE(v1.ok());
    CHECK(fs::path(v1->path).filename() == k_commit_v1);
    CHECK(file_text(fs::path(v1->path) / "config.json") == R"({"model_type":"llama","v":1})");
    CHECK(file_text(f.repo_dir("acme/tiny") / "refs" / "v1") == k_commit_v1);
    auto by_commit = f.resolve("acme/tiny", k_commit_main);
    REQUIRE(by_commit.ok());
    CHECK(file_text(fs::path(by_commit->path) / "config.json") == R"({"model_type":"llama"})");
    CHECK_FALSE(fs::exists(f.repo_dir("acme/tiny") / "refs" / k_commit_main));
}

TEST_CASE("hub: a cache laid out by huggingface_hub is read offline") {
    hub_fixture f("python-cache");
    const hub_cache cache(f.settings.cache_dir, "other/model");
    REQUIRE(cache.prepare(k_commit_main).ok());
    std::ofstream(cache.blob_path("abc123"), std::ios::binary) << "GGUF bytes";
    REQUIRE(cache.write_ref("main", k_commit_main).ok());
    fs::create_symlink("../../blobs/abc123", cache.snapshot_dir(k_commit_main) / "model-Q4_K_M.gguf");
    f.settings.offline = true;
    auto r = f.resolve("other/model");
    REQUIRE(r.ok());
    CHECK(file_text(r->path) == "GGUF bytes");
}

TEST_CASE("hub: the settings come from huggingface_hub's environment variables") {
    const fs::path home = actorlm::test::fresh_temp_dir("hub-env");
    fs::create_directories(home);
    std::ofstream(home / "token") << "hf_from_file\n";
    ::setenv("HF_HOME", home.c_str(), 1);
    ::setenv("HF_ENDPOINT", "http://127.0.0.1:9/", 1);
    ::setenv("HF_HUB_OFFLINE", "true", 1);
    ::unsetenv("HF_TOKEN");
    ::unsetenv("HF_HUB_CACHE");
    ::unsetenv("HF_TOKEN_PATH");
    hub_settings s = hub_settings_from_environment();
    CHECK(s.endpoint == "http://127.0.0.1:9");
    CHECK(s.cache_dir == (home / "hub").string());
    CHECK(s.offline);
    CHECK(s.token == "hf_from_file");
    ::setenv("HF_TOKEN", "hf_env", 1);
    ::setenv("HF_HUB_CACHE", "/elsewhere", 1);
    ::setenv("HF_HUB_OFFLINE", "0", 1);
    s = hub_settings_from_environment();
    CHECK(s.token == "hf_env");
    CHECK(s.cache_dir == "/elsewhere");
    CHECK_FALSE(s.offline);
    for (const char* v : {"HF_HOME", "HF_ENDPOINT", "HF_HUB_OFFLINE", "HF_TOKEN", "HF_HUB_CACHE"})
        ::unsetenv(v);
    fs::remove_all(home);
}
