// hub_settings implementation: huggingface_hub's constants.py rules — HF_HUB_CACHE over
// $HF_HOME/hub over $XDG_CACHE_HOME/huggingface/hub over ~/.cache/huggingface/hub; the
// token from HF_TOKEN, else the file HF_TOKEN_PATH or $HF_HOME/token names; offline when
// HF_HUB_OFFLINE is a true value ("1", "ON", "YES", "TRUE", any case).
#include "net/hub/hub_settings.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>

namespace actorlm::net::hub {

namespace {

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v == nullptr ? std::string() : std::string(v);
}

bool truthy(std::string v) {
    std::transform(v.begin(), v.end(), v.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return v == "1" || v == "ON" || v == "YES" || v == "TRUE";
}

std::string trimmed(std::string s) {
    const auto not_space = [](unsigned char c) { return !std::isspace(c); };
    s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
    s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
    return s;
}

}  // namespace

hub_settings hub_settings_from_environment() {
    hub_settings s;
    if (std::string e = trimmed(env("HF_ENDPOINT")); !e.empty()) {
        while (!e.empty() && e.back() == '/') e.pop_back();
        s.endpoint = e;
    }
    const std::string home_dir = env("HOME").empty() ? "/tmp" : env("HOME");
    std::string hf_home = env("HF_HOME");
    if (hf_home.empty()) {
        const std::string xdg = env("XDG_CACHE_HOME");
        hf_home = (xdg.empty() ? home_dir + "/.cache" : xdg) + "/huggingface";
    }
    s.cache_dir = env("HF_HUB_CACHE");
    if (s.cache_dir.empty()) s.cache_dir = hf_home + "/hub";
    s.offline = truthy(env("HF_HUB_OFFLINE"));
    s.token = trimmed(env("HF_TOKEN"));
    if (s.token.empty()) {
        std::string token_path = env("HF_TOKEN_PATH");
        if (token_path.empty()) token_path = hf_home + "/token";
        std::ifstream in(token_path);
        std::string line;
        if (in && std::getline(in, line)) s.token = trimmed(line);
    }
    return s;
}

}  // namespace actorlm::net::hub
