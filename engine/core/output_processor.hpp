// output_processor: turns the scheduler's token outputs into the public
// output_delta stream (vLLM's OutputProcessor): incremental detokenization,
// stop strings (held back until decided, excluded unless asked for), token
// texts for logprobs, and the n sequences of a request (a parent_request's
// children) reported under the parent id with their index. It owns each live
// request's parent_request: a request stays known until its last sequence ends,
// in whatever order they end. Single-threaded; one per engine.
#pragma once

#include <actorlm/engine.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/parent_request.hpp"
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

    /// Registers every sequence of `parent` (scheduled as parent.child_id(k)).
    /// False, and nothing changes, when a request with that id is still live.
    /// `resumed`: outputs the request produced elsewhere; they prime the detokenizer and
    /// stop matcher exactly as producing them did, and their text is not emitted again.
    bool add_request(const parent_request& parent, const std::vector<int32_t>& prompt_token_ids,
                     const std::vector<int32_t>& resumed = {});

    /// True from add_request until the request's last sequence has ended.
    bool has_request(const std::string& request_id) const {
        return parents_.count(request_id) != 0;
    }
    /// The ids of a live request's sequences that have not ended (empty if unknown).
    std::vector<std::string> running_children(const std::string& request_id) const;

    /// Converts one step's request outputs into deltas.
    processed_outputs process(const std::vector<request_output>& outs);

    /// The final delta of a sequence ended outside the step (abort, error); nullopt
    /// if the child is unknown or already finished.
    std::optional<actorlm::output_delta> finish_sequence(const std::string& child_id,
                                                         actorlm::finish_reason reason,
                                                         const std::string& error = {});
    /// finish_sequence() for every running sequence of a request, by index.
    std::vector<actorlm::output_delta> finish_request(const std::string& request_id,
                                                      actorlm::finish_reason reason,
                                                      const std::string& error = {});

    size_t num_requests() const { return parents_.size(); }
    size_t num_sequences() const { return seqs_.size(); }

private:
    struct live_request {
        parent_request parent;
        std::vector<int32_t> prompt_token_ids;
    };
    struct sequence {
        std::string parent_id;
        int32_t index = 0;
        std::unique_ptr<incremental_detokenizer> detok;
        std::unique_ptr<stop_matcher> stops;
        int32_t num_output_tokens = 0;
        bool first = true;
    };
    using sequence_map = std::unordered_map<std::string, sequence>;
    /// Forgets a sequence that produced its final delta, and its request with
    /// its last sequence.
    void end_sequence(sequence_map::iterator it);
    actorlm::token_logprob to_public(const position_logprobs& lp) const;

    const tokenizer& tok_;
    std::unordered_map<std::string, live_request> parents_;  // by request id
    sequence_map seqs_;                                      // by child id
};

}  // namespace actorlm::core
