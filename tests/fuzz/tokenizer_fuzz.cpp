// libFuzzer target: a Hugging Face tokenizer directory from arbitrary text, then encode and
// decode of arbitrary bytes with whatever loaded. The input is tokenizer.json,
// tokenizer_config.json, generation_config.json and the text to encode, separated by NUL
// bytes; the JSON files are written to a private temporary directory (from_hf reads a
// directory). Properties: a rejected tokenizer's error names tokenizer.json; ids from
// encode are in the vocabulary; decode of any ids (also out-of-range ones), the
// incremental detokenizer and token_to_piece never crash or trip a sanitizer.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "fuzz_input.hpp"
#include "tokenizer/incremental_detokenizer.hpp"
#include "tokenizer/tokenizer.hpp"

namespace {

using actorlm::fuzz::require;
namespace fs = std::filesystem;

// One directory per fuzzing process, removed at exit.
const fs::path& scratch_dir() {
    static const fs::path dir = [] {
        std::string pattern = (fs::temp_directory_path() / "actorlm-tokenizer-fuzz-XXXXXX").string();
        require(::mkdtemp(pattern.data()) != nullptr);
        std::atexit([] {
            std::error_code ec;
            fs::remove_all(scratch_dir(), ec);
        });
        return fs::path(pattern);
    }();
    return dir;
}

// An empty part means the file is absent (tokenizer_config.json and
// generation_config.json are optional).
void write_or_remove(const fs::path& path, std::string_view text) {
    std::error_code ec;
    fs::remove(path, ec);
    if (text.empty()) return;
    std::ofstream out(path, std::ios::binary);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
}

void exercise(const actorlm::tokenizer& tok, std::string_view text) {
    const int32_t vocab = tok.vocab_size();
    for (bool parse_special : {false, true}) {
        std::vector<int32_t> ids = tok.encode(text, true, parse_special);
        for (int32_t id : ids) require(id >= 0 && id < vocab);
        (void)tok.decode(ids, false);
        (void)tok.decode(ids, true);
        actorlm::incremental_detokenizer detok(tok);
        for (int32_t id : ids) (void)detok.push(id);
        (void)detok.finish();
    }
    // The text's bytes as ids, in and out of range.
    std::vector<int32_t> raw;
    for (size_t i = 0; i + 1 < text.size() && raw.size() < 64; i += 2)
        raw.push_back(static_cast<int32_t>(static_cast<int8_t>(text[i])) * 256 +
                      static_cast<uint8_t>(text[i + 1]));
    (void)tok.decode(raw, false);
    (void)tok.decode_bytes(raw, true, true);
    for (int32_t id : raw) {
        (void)tok.token_to_piece(id);
        (void)tok.token_text(id);
        (void)tok.is_special(id);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const auto parts = actorlm::fuzz::split_parts(
        std::string_view(reinterpret_cast<const char*>(data), size), 4);
    const fs::path& dir = scratch_dir();
    write_or_remove(dir / "tokenizer.json", parts[0].empty() ? std::string_view(" ") : parts[0]);
    write_or_remove(dir / "tokenizer_config.json", parts[1]);
    write_or_remove(dir / "generation_config.json", parts[2]);
    auto tok = actorlm::tokenizer::from_hf((dir / "tokenizer.json").string());
    if (!tok) {
        require(tok.err().message.find("tokenizer.json") != std::string::npos);
        return 0;
    }
    exercise(**tok, parts[3]);
    return 0;
}
