// output_processor: turns the scheduler's token outputs into the public
// output_delta stream (vLLM's OutputProcessor): incremental detokenization,
// stop strings (held back until decided, excluded unless asked for), token
// texts for logprobs, and the n sequences of a request (children "<id>#<k>")
// reported under the parent id with their index. Single-threaded; one per engine.
#pragma once

#include <actorlm/engine.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/scheduler.hpp"
#include "tokenizer/incremental_detokenizer.hpp"
#include "tokenizer/stop_matcher.hpp"
#include "tokenizer/tokenizer.hpp"

namespace actorlm::core {

/// What one processed step yields.
struct processed_outputs {
    std::vector<actorlm::output_delta> deltas;
    /// Child ids whose text hit a stop string: the engine finishes them in the
    /// scheduler (status finished_stopped, the string as stop reason).
    std::vector<std::pair<std::string, std::string>> stopped_by_string;
};

class output_processor {
public:
    /// `tok` must outlive the processor.
    explicit output_processor(const tokenizer& tok) : tok_(tok) {}

    /// Registers sequence `index` of request `parent_id`, scheduled as `child_id`.
    void add_sequence(const std::string& parent_id, int32_t index, const std::string& child_id,
                      const actorlm::sampling_params& params,
                      const std::vector<int32_t>& prompt_token_ids);

    /// Converts one step's request outputs into deltas.
    processed_outputs process(const std::vector<request_output>& outs);

    /// The final delta of a sequence ended outside the step (abort, error); nullopt
    /// if the child is unknown or already finished.
    std::optional<actorlm::output_delta> finish_sequence(const std::string& child_id,
                                                         actorlm::finish_reason reason,
                                                         const std::string& error = {});

    size_t num_sequences() const { return seqs_.size(); }

private:
    struct sequence {
        std::string parent_id;
        int32_t index = 0;
        actorlm::sampling_params params;
        std::vector<int32_t> prompt_token_ids;
        std::unique_ptr<incremental_detokenizer> detok;
        std::unique_ptr<stop_matcher> stops;
        int32_t num_output_tokens = 0;
        bool first = true;
    };
    actorlm::token_logprob to_public(const position_logprobs& lp) const;

    const tokenizer& tok_;
    std::unordered_map<std::string, sequence> seqs_;
};

}  // namespace actorlm::core
