// model_reference implementation: the Hub's repository-name rules (huggingface_hub's
// validate_repo_id: [\w.-], no leading '-'/'.', no "--" or "..") checked by hand.
#include "net/hub/model_reference.hpp"

namespace actorlm::net::hub {

namespace {

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.';
}

bool valid_name_part(std::string_view part) {
    if (part.empty() || part.size() > 96) return false;
    if (part.front() == '.' || part.front() == '-' || part.back() == '.') return false;
    if (part.find("..") != std::string_view::npos || part.find("--") != std::string_view::npos)
        return false;
    for (char c : part)
        if (!is_name_char(c)) return false;
    return true;
}

bool valid_quant(std::string_view quant) {
    if (quant.empty() || quant.size() > 32) return false;
    for (char c : quant)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return false;
    return true;
}

// "models/llama.gguf" has the shape of ORG/NAME but is a mistyped local path: a
// repository is not named like one of its files.
bool names_a_model_file(std::string_view name) {
    for (std::string_view ext : {".gguf", ".safetensors", ".json", ".bin"}) {
        if (name.size() < ext.size()) continue;
        bool same = true;
        for (size_t i = 0; i < ext.size(); ++i) {
            const char c = name[name.size() - ext.size() + i];
            same = same && (c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) == ext[i];
        }
        if (same) return true;
    }
    return false;
}

}  // namespace

std::optional<model_reference> parse_model_reference(std::string_view text) {
    std::string_view quant;
    if (const size_t colon = text.find(':'); colon != std::string_view::npos) {
        quant = text.substr(colon + 1);
        text = text.substr(0, colon);
        if (!valid_quant(quant)) return std::nullopt;
    }
    const size_t slash = text.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    const std::string_view org = text.substr(0, slash);
    const std::string_view name = text.substr(slash + 1);
    if (!valid_name_part(org) || !valid_name_part(name) || names_a_model_file(name))
        return std::nullopt;
    return model_reference{std::string(text), std::string(quant)};
}

}  // namespace actorlm::net::hub
