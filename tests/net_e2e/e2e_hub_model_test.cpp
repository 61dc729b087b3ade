// `actorlm generate --model ORG/NAME` against a loopback Hugging Face Hub that serves
// stories260K (the GGUF file, and the Hugging Face directory as a safetensors
// repository): the model is downloaded into the Hub cache and produces the same greedy
// tokens as the local copy; a second run downloads nothing; HF_HUB_OFFLINE runs from the
// cache; a missing repository fails with exit status 1 and a message naming it.
#include <doctest/doctest.h>

#include <filesystem>

#include "support/loopback_hub.hpp"
#include "support/shared_data.hpp"
#include "support/shell.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using actorlm::test::loopback_hub;
using actorlm::test::read_file;
using actorlm::test::run_shell;
using actorlm::test::shared_path;

namespace {

const std::string k_commit = "0123456789abcdef0123456789abcdef01234567";

// stdout of `actorlm generate` (greedy, 24 tokens); stderr goes to `stderr_file`.
actorlm::test::shell_result generate(const std::string& env, const std::string& model,
                                     const fs::path& stderr_file) {
    const std::string cli = std::string(ACTORLM_BINARY_DIR) + "/actorlm";
    return run_shell("(" + env + " " + cli + " generate --model " + model +
                     " --prompt 'Once upon a time' --max-tokens 24 --temperature 0 --threads 1"
                     " --kv-cache-memory-bytes 4MiB --max-model-len 256 2>" +
                     stderr_file.string() + ")");
}

}  // namespace

TEST_CASE("actorlm generate --model ORG/NAME: downloaded from the Hub, same tokens as the local model") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    ACTORLM_REQUIRE_SHARED("models/stories260K-hf/model.safetensors");
    loopback_hub hub;
    loopback_hub::commit gguf{k_commit, {}};
    gguf.files["stories260K-Q8_0.gguf"] = {read_file(shared_path("models/stories260K.gguf")), true};
    gguf.files["README.md"] = {"stories260K\n", false};
    hub.add_repo("karpathy/stories260K-GGUF", {{{"main", gguf}}, false});
    loopback_hub::commit hf{k_commit, {}};
    for (const auto& entry : fs::directory_iterator(shared_path("models/stories260K-hf"))) {
        const std::string name = entry.path().filename().string();
        hf.files[name] = {read_file(entry.path().string()), name.find(".safetensors") != std::string::npos};
    }
    hub.add_repo("karpathy/stories260K", {{{"main", hf}}, false});

    const fs::path home = actorlm::test::fresh_temp_dir("e2e-hub");
    fs::create_directories(home);
    const std::string env = "env -u HF_TOKEN -u HF_HUB_CACHE -u HF_HUB_OFFLINE HF_HOME=" +
                            home.string() + " HF_ENDPOINT=" + hub.endpoint();
    const fs::path err = home / "stderr.txt";

    const auto local = generate(env, shared_path("models/stories260K.gguf"), err);
    REQUIRE(local.status == 0);
    REQUIRE_FALSE(local.output.empty());
    CHECK(hub.requests().empty());  // a local path never asks the Hub

    const auto first = generate(env, "karpathy/stories260K-GGUF:Q8_0", err);
    INFO(read_file(err.string()));
    REQUIRE(first.status == 0);
    CHECK(first.output == local.output);
    CHECK(read_file(err.string()).find("stories260K-Q8_0.gguf: 100%") != std::string::npos);
    CHECK(fs::is_symlink(home / "hub" / "models--karpathy--stories260K-GGUF" / "snapshots" /
                         k_commit / "stories260K-Q8_0.gguf"));
    const size_t downloads = hub.count("/resolve/");

    const auto again = generate(env, "karpathy/stories260K-GGUF:Q8_0", err);
    REQUIRE(again.status == 0);
    CHECK(again.output == local.output);
    CHECK(hub.count("/resolve/") == downloads);
    CHECK(read_file(err.string()).find("0 file(s) downloaded") != std::string::npos);

    const auto offline = generate("HF_HUB_OFFLINE=1 " + env, "karpathy/stories260K-GGUF:Q8_0", err);
    CHECK(offline.status == 0);
    CHECK(offline.output == local.output);

    // The safetensors repository loads as a Hugging Face directory.
    const auto local_hf = generate(env, shared_path("models/stories260K-hf"), err);
    REQUIRE(local_hf.status == 0);
    const auto hf_run = generate(env, "karpathy/stories260K", err);
    INFO(read_file(err.string()));
    REQUIRE(hf_run.status == 0);
    CHECK(hf_run.output == local_hf.output);

    const auto missing = generate(env, "karpathy/no-such-model", err);
    CHECK(missing.status == 1);
    CHECK(read_file(err.string()).find("repository karpathy/no-such-model was not found") !=
          std::string::npos);
    fs::remove_all(home);
}
