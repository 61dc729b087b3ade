// hub_settings: where the Hugging Face Hub is and how to talk to it, read from the
// environment variables huggingface_hub reads (HF_ENDPOINT, HF_TOKEN / HF_TOKEN_PATH /
// $HF_HOME/token, HF_HUB_OFFLINE, HF_HUB_CACHE / HF_HOME / XDG_CACHE_HOME), so a cache
// and a login made by the Python tools are ours too.
#pragma once

#include <chrono>
#include <string>

namespace actorlm::net::hub {

struct hub_settings {
    std::string endpoint = "https://huggingface.co";  ///< no trailing '/'
    std::string token;       ///< "" = anonymous
    bool offline = false;    ///< cache only, no network
    std::string cache_dir;   ///< the hub cache: holds models--ORG--NAME/
    std::chrono::milliseconds connect_timeout{15000};
    std::chrono::milliseconds read_timeout{60000};
};

/// The settings the environment gives (huggingface_hub's defaults otherwise: endpoint
/// https://huggingface.co, cache ~/.cache/huggingface/hub).
hub_settings hub_settings_from_environment();

}  // namespace actorlm::net::hub
