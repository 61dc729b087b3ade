// hub_model: a model named by its Hugging Face Hub repository ("ORG/NAME[:QUANT]") made
// into a local path the loaders read: the revision's file list from the Hub, the files
// the model needs (file_selection) downloaded into huggingface_hub's cache unless they
// are there (blob_download), the snapshot links and refs/{revision} written. Offline
// (HF_HUB_OFFLINE) or when the Hub cannot be reached, the cache alone answers. Blocks.
#pragma once

#include <string>
#include <vector>

#include "base/result.hpp"
#include "net/hub/blob_download.hpp"
#include "net/hub/hub_settings.hpp"
#include "net/hub/model_reference.hpp"

namespace actorlm::net::hub {

struct resolved_model {
    /// The GGUF file or the Hugging Face model directory (a snapshot folder).
    std::string path;
    std::string commit;
    /// Files fetched now (not found in the cache).
    int downloaded_files = 0;
    /// Why the cache was used without asking the Hub (offline, Hub unreachable); "" else.
    std::string cache_only_reason;
};

/// Resolves `ref` at `revision` (a branch, tag or commit; "main" by default).
result<resolved_model> resolve_hub_model(const model_reference& ref, const std::string& revision,
                                         const hub_settings& settings,
                                         const progress_callback& progress);

}  // namespace actorlm::net::hub
