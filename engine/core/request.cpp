// request implementation: token bookkeeping and incremental block hashing.
#include "core/request.hpp"

#include <limits>

namespace actorlm::core {

const char* request_status_name(request_status s) {
    switch (s) {
        case request_status::waiting: return "waiting";
        case request_status::running: return "running";
        case request_status::preempted: return "preempted";
        case request_status::waiting_for_remote_kvs: return "waiting_for_remote_kvs";
        case request_status::finished_stopped: return "finished_stopped";
        case request_status::finished_length_capped: return "finished_length_capped";
        case request_status::finished_aborted: return "finished_aborted";
        case request_status::finished_ignored: return "finished_ignored";
        case request_status::finished_error: return "finished_error";
    }
    return "?";
}

actorlm::finish_reason to_finish_reason(request_status s) {
    switch (s) {
        case request_status::finished_stopped: return actorlm::finish_reason::stop;
        case request_status::finished_length_capped: return actorlm::finish_reason::length;
        case request_status::finished_aborted: return actorlm::finish_reason::abort;
        case request_status::finished_ignored: return actorlm::finish_reason::error;
        case request_status::finished_error: return actorlm::finish_reason::error;
        default: return actorlm::finish_reason::none;
    }
}

request::request(std::string request_id, std::vector<int32_t> prompt_token_ids,
                 actorlm::sampling_params params, std::vector<int32_t> eos_token_ids,
                 int32_t block_size, int32_t priority, double arrival_time, std::string cache_salt,
                 block_hash hash_root, std::vector<mm_feature> mm_features)
    : id_(std::move(request_id)),
      all_token_ids_(std::move(prompt_token_ids)),
      num_prompt_tokens_(static_cast<int32_t>(all_token_ids_.size())),
      params_(std::move(params)),
      eos_token_ids_(std::move(eos_token_ids)),
      block_size_(block_size),
      priority_(priority),
      arrival_time_(arrival_time),
      cache_salt_(std::move(cache_salt)),
      hash_root_(hash_root),
      mm_features_(std::move(mm_features)) {
    if (block_size_ > 0)
        extend_block_hashes(block_hashes_, all_token_ids_, block_size_, cache_salt_, {},
                            hash_root_, mm_features_);
}

int32_t request::max_tokens() const {
    return params_.max_tokens < 0 ? std::numeric_limits<int32_t>::max() : params_.max_tokens;
}

void request::append_output_tokens(std::span<const int32_t> tokens) {
    all_token_ids_.insert(all_token_ids_.end(), tokens.begin(), tokens.end());
    if (block_size_ > 0)
        extend_block_hashes(block_hashes_, all_token_ids_, block_size_, cache_salt_, {},
                            hash_root_, mm_features_);
}

}  // namespace actorlm::core

namespace actorlm::core {

bool check_stop(request& req, int32_t max_model_len) {
    if (req.num_tokens() >= max_model_len || req.num_output_tokens() >= req.max_tokens()) {
        req.status = request_status::finished_length_capped;
        return true;
    }
    if (req.num_output_tokens() < req.params().min_tokens) return false;
    const int32_t last = req.all_token_ids().back();
    if (!req.params().ignore_eos) {
        for (int32_t eos : req.eos_token_ids())
            if (last == eos) {
                req.status = request_status::finished_stopped;
                return true;
            }
    }
    for (int32_t stop : req.params().stop_token_ids)
        if (last == stop) {
            req.status = request_status::finished_stopped;
            req.stop_reason = std::to_string(stop);
            return true;
        }
    return false;
}

}  // namespace actorlm::core

namespace actorlm {

const char* finish_reason_name(finish_reason r) {
    switch (r) {
        case finish_reason::none: return "";
        case finish_reason::stop: return "stop";
        case finish_reason::length: return "length";
        case finish_reason::abort: return "abort";
        case finish_reason::error: return "error";
    }
    return "";
}

}  // namespace actorlm
