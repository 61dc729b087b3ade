// load_tokenizer_for_model: picks the loader from the path (GGUF file, HF directory, or a
// tokenizer.json). Runs on the caller's thread.
#include <filesystem>

#include "model/gguf_file.hpp"
#include "tokenizer/tokenizer.hpp"

namespace actorlm {

result<std::unique_ptr<tokenizer>> load_tokenizer_for_model(const std::string& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
        const fs::path json = fs::path(path) / "tokenizer.json";
        if (!fs::exists(json, ec))
            return make_error("%s: model directory has no tokenizer.json", path.c_str());
        return tokenizer::from_hf(json.string());
    }
    if (!fs::exists(path, ec)) return make_error("%s: no such file or directory", path.c_str());
    if (fs::path(path).extension() == ".gguf") {
        auto file = gguf_file::open(path);
        if (!file) return file.err();
        return tokenizer::from_gguf(**file);
    }
    return tokenizer::from_hf(path);
}

}  // namespace actorlm
