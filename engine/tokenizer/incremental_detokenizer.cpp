// Incremental detokenization (see incremental_detokenizer.hpp). Each step decodes the window
// twice, with and without the new tokens; the new bytes are the difference. The window then
// slides so it holds only the tokens of this step, which keep the next step's context.
#include "tokenizer/incremental_detokenizer.hpp"

#include <algorithm>

#include "tokenizer/utf8.hpp"

namespace actorlm {

incremental_detokenizer::incremental_detokenizer(const tokenizer& tok, detokenizer_options opts,
                                                 std::span<const int32_t> context)
    : tok_(tok), opts_(opts) {
    for (int32_t id : context)
        if (!(opts_.skip_special_tokens && tok_.is_special(id))) window_.push_back(id);
    read_offset_ = window_.size();
}

std::string incremental_detokenizer::push(std::span<const int32_t> ids) {
    num_tokens_ += ids.size();
    const size_t before = window_.size();
    for (int32_t id : ids)  // skipped tokens never enter the window, as in vLLM
        if (id >= 0 && id < tok_.vocab_size() &&
            !(opts_.skip_special_tokens && tok_.is_special(id)))
            window_.push_back(id);
    if (window_.size() == before) return {};

    const std::span<const int32_t> all(window_);
    const std::string prefix = tok_.decode_bytes(all.first(read_offset_), opts_.skip_special_tokens,
                                                 opts_.spaces_between_special_tokens);
    const std::string full =
        tok_.decode_bytes(all, opts_.skip_special_tokens, opts_.spaces_between_special_tokens);
    // decoders are prefix-stable (the window's first token is decoded the same way in both),
    // so `full` starts with `prefix`; should one not be, text already shown is never repeated
    const size_t common = static_cast<size_t>(
        std::mismatch(prefix.begin(), prefix.end(), full.begin(), full.end()).first -
        prefix.begin());
    pending_.append(full, common, std::string::npos);

    std::string out;
    const size_t held = tok::append_lossy_utf8(out, pending_, /*hold_incomplete=*/true);
    pending_.erase(0, pending_.size() - held);

    window_.erase(window_.begin(), window_.begin() + static_cast<std::ptrdiff_t>(read_offset_));
    read_offset_ = window_.size();
    return out;
}

std::string incremental_detokenizer::finish() {
    std::string out;
    tok::append_lossy_utf8(out, pending_, /*hold_incomplete=*/false);
    pending_.clear();
    return out;
}

}  // namespace actorlm
