// batch_builder implementation. Block tables are padded with 0 to the widest
// row in the batch (vLLM pads too); padding entries are never read because
// attention stops at seq_lens.
#include "core/batch_builder.hpp"

#include <algorithm>

#include "base/check.hpp"

namespace actorlm::core {

built_batch build_forward_batch(std::span<const batch_row> rows, int32_t block_size,
                                int32_t num_kv_groups) {
    built_batch out;
    forward_batch& b = out.batch;
    b.num_kv_groups = num_kv_groups;
    const auto groups = static_cast<size_t>(num_kv_groups);
    int32_t total = 0, width = 0;
    bool mrope = false;
    for (const auto& r : rows) {
        total += r.num_scheduled_tokens;
        width = std::max(width, static_cast<int32_t>(r.block_ids.size()));
        mrope = mrope || r.mrope != nullptr;
    }
    b.token_ids.reserve(static_cast<size_t>(total));
    b.positions.reserve(static_cast<size_t>(total));
    b.slot_mapping.reserve(static_cast<size_t>(total));
    if (mrope) b.mrope_positions.reserve(static_cast<size_t>(total) * 3);
    b.query_start_loc.reserve(rows.size() + 1);
    b.seq_lens.reserve(rows.size());
    b.max_blocks_per_seq = width;
    b.block_tables.assign(rows.size() * static_cast<size_t>(width), 0);
    b.query_start_loc.push_back(0);
    for (size_t s = 0; s < rows.size(); ++s) {
        const batch_row& r = rows[s];
        const int32_t begin = r.num_computed_tokens;
        const int32_t end = begin + r.num_scheduled_tokens;
        ACTORLM_CHECK(static_cast<int32_t>(r.token_ids.size()) >= end,
                      "row %zu: %zu known tokens, %d scheduled up to", s, r.token_ids.size(), end);
        ACTORLM_CHECK(static_cast<int64_t>(r.block_ids.size() / groups) * block_size >= end,
                      "row %zu: %zu blocks cannot hold %d tokens", s, r.block_ids.size(), end);
        const auto first = static_cast<int32_t>(b.token_ids.size());
        for (int32_t pos = begin; pos < end; ++pos) {
            b.token_ids.push_back(r.token_ids[static_cast<size_t>(pos)]);
            b.positions.push_back(pos);
            const int32_t blk = r.block_ids[static_cast<size_t>(pos / block_size) * groups];
            b.slot_mapping.push_back(static_cast<int64_t>(blk) * block_size + pos % block_size);
            // Logits at a prompt position give the logprob of the next prompt token.
            if (r.wants_prompt_logprobs && pos + 1 < r.num_prompt_tokens) {
                b.logits_indices.push_back(first + (pos - begin));
                out.uses.push_back({static_cast<int32_t>(s), pos, false});
            }
        }
        if (r.will_sample) {
            ACTORLM_CHECK(r.num_draft_tokens >= 0 && r.num_draft_tokens < r.num_scheduled_tokens,
                          "row %zu: %d drafts among %d scheduled tokens", s, r.num_draft_tokens,
                          r.num_scheduled_tokens);
            // One row per draft to verify plus the one after the last draft (the bonus).
            for (int32_t j = r.num_draft_tokens; j >= 0; --j) {
                b.logits_indices.push_back(first + r.num_scheduled_tokens - 1 - j);
                out.uses.push_back({static_cast<int32_t>(s), end - 1 - j, true});
            }
        }
        if (mrope) {
            for (int32_t pos = begin; pos < end; ++pos)
                if (r.mrope)
                    r.mrope->append(pos, b.mrope_positions);
                else
                    b.mrope_positions.insert(b.mrope_positions.end(), 3, pos);
        }
        b.query_start_loc.push_back(static_cast<int32_t>(b.token_ids.size()));
        b.seq_lens.push_back(end);
        std::copy(
            r.block_ids.begin(), r.block_ids.end(),
            b.block_tables.begin() + static_cast<std::ptrdiff_t>(s * static_cast<size_t>(width)));
    }
    return out;
}

}  // namespace actorlm::core
