// file_selection implementation. A quantization matches a GGUF file name when it occurs
// in it (any case) as a whole word: not preceded or followed by a letter, digit or '_',
// so "Q4_K" does not pick "Q4_K_M". Only top-level files are considered: repositories
// keep other formats (onnx/, original/) and runs in folders. Vision projectors (names
// with "mmproj") are never the text model.
#include "net/hub/file_selection.hpp"

#include <algorithm>
#include <cctype>
#include <set>

namespace actorlm::net::hub {

namespace {

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

bool names_quant(const std::string& file, const std::string& quant) {
    const std::string f = lower(file);
    const std::string q = lower(quant);
    for (size_t at = f.find(q); at != std::string::npos; at = f.find(q, at + 1)) {
        const bool starts = at == 0 || !is_word_char(f[at - 1]);
        const size_t end = at + q.size();
        const bool ends = end == f.size() || !is_word_char(f[end]);
        if (starts && ends) return true;
    }
    return false;
}

// "model-Q4_K_M-00001-of-00003.gguf": a part of a split GGUF.
bool is_split_part(const std::string& file) {
    const size_t of = file.rfind("-of-");
    return of != std::string::npos && of >= 6 && file[of - 6] == '-' &&
           std::all_of(file.begin() + static_cast<long>(of) - 5, file.begin() + static_cast<long>(of),
                       [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

// The quantization a GGUF file name carries, for the list in an error: the last
// '-'/'.'-separated word before ".gguf" (and before a split part's "-00001-of-00003").
std::string quant_in_name(const std::string& file) {
    std::string stem = file.substr(0, file.size() - 5);
    if (is_split_part(stem + ".gguf")) stem = stem.substr(0, stem.rfind("-of-") - 6);
    const size_t cut = stem.find_last_of("-.");
    const std::string word = cut == std::string::npos ? stem : stem.substr(cut + 1);
    return word.empty() ? file : word;
}

std::string joined(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
    return out;
}

// Candidate lists can be long: the messages below are built as strings, not through
// make_error's fixed buffer.
result<model_files> select_gguf(const std::string& repo_id, const std::string& asked,
                                const std::vector<std::string>& ggufs) {
    const std::string quant = asked.empty() ? k_default_gguf_quant : asked;
    std::vector<std::string> matches;
    for (const auto& f : ggufs)
        if (names_quant(f, quant)) matches.push_back(f);
    if (matches.empty() && asked.empty() && ggufs.size() == 1) matches = ggufs;
    if (matches.empty()) {
        std::set<std::string> quants;
        for (const auto& f : ggufs) quants.insert(quant_in_name(f));
        return error{repo_id + " has no GGUF file of quantization " + quant + "; it has: " +
                         joined(std::vector<std::string>(quants.begin(), quants.end())) +
                         " (name one as " + repo_id + ":QUANT)",
                     error_kind::invalid_argument};
    }
    if (std::any_of(matches.begin(), matches.end(), is_split_part))
        return error{repo_id + ": the " + quant + " GGUF is split into parts (" + joined(matches) +
                         "); split GGUF files are not supported yet: merge them with "
                         "llama-gguf-split --merge, or pick another quantization",
                     error_kind::invalid_argument};
    if (matches.size() > 1)
        return error{repo_id + ": several GGUF files match " + quant + " (" + joined(matches) +
                         "); name the quantization exactly",
                     error_kind::invalid_argument};
    return model_files{{matches.front()}, matches.front()};
}

}  // namespace

result<model_files> select_model_files(const std::string& repo_id, const std::string& quant,
                                       const std::vector<std::string>& available) {
    static const std::set<std::string> k_hf_side_files = {
        "config.json",           "generation_config.json",  "tokenizer.json",
        "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja",
        "chat_template.json",    "preprocessor_config.json", "processor_config.json",
        "model.safetensors.index.json"};
    std::vector<std::string> ggufs;
    std::vector<std::string> hf_files;
    bool has_weights = false;
    for (const auto& f : available) {
        if (f.find('/') != std::string::npos) continue;
        const std::string l = lower(f);
        if (ends_with(l, ".gguf") && l.find("mmproj") == std::string::npos) ggufs.push_back(f);
        if (ends_with(l, ".safetensors")) {
            hf_files.push_back(f);
            has_weights = true;
        } else if (k_hf_side_files.count(f) != 0) {
            hf_files.push_back(f);
        }
    }
    std::sort(ggufs.begin(), ggufs.end());
    std::sort(hf_files.begin(), hf_files.end());
    if (!ggufs.empty()) return select_gguf(repo_id, quant, ggufs);
    if (!quant.empty())
        return make_error(error_kind::invalid_argument,
                          "%s has no GGUF files, so :%s names nothing; drop the quantization to "
                          "load its safetensors weights",
                          repo_id.c_str(), quant.c_str());
    if (!has_weights)
        return make_error(error_kind::invalid_argument,
                          "%s has neither GGUF nor safetensors files at its top level (%zu files "
                          "in all); actorlm loads one of those",
                          repo_id.c_str(), available.size());
    if (std::find(hf_files.begin(), hf_files.end(), "config.json") == hf_files.end())
        return make_error(error_kind::invalid_argument,
                          "%s has safetensors weights but no config.json", repo_id.c_str());
    return model_files{hf_files, ""};
}

}  // namespace actorlm::net::hub
