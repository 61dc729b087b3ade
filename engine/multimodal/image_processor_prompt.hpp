// image_processor_prompt: prompt expansion for images, as the HF processors do it — in TEXT,
// before tokenizing: each image marker the chat template wrote ("<image>", "<|image_pad|>")
// becomes the image's replacement string (LlavaProcessor, Idefics3Processor,
// Qwen2_5_VLProcessor). After tokenizing, find_placeholder_ranges locates each image's
// tokens (vLLM's PlaceholderRange). Pure functions; any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "multimodal/image_processor.hpp"
#include "multimodal/image_processor_config.hpp"

namespace actorlm::multimodal {

/// The marker written once per image in the rendered prompt (the family's image token).
const std::string& image_marker(const image_processor_config& config);

/// The text one image's marker expands to: LLaVA and Qwen2-VL repeat the image token
/// num_image_tokens times; Idefics3 writes the tile grid (<fake_token_around_image>
/// <row_r_col_c> + image_seq_len <image> per tile, "\n" after each row) then
/// "\n<fake_token_around_image><global-img>" + image_seq_len <image> + the wrapper token, or
/// only the global part for an unsplit image.
std::string image_prompt_text(const image_processor_config& config, const processed_image& image);

/// `text` with the i-th marker replaced by image_prompt_text(images[i]). An error when the
/// text holds a different number of markers than there are images.
result<std::string> expand_image_markers(const image_processor_config& config,
                                         std::string_view text,
                                         std::span<const processed_image> images);

/// Where one image's tokens lie in the expanded prompt (vLLM's PlaceholderRange): positions
/// [offset, offset + length); `is_embed` marks the positions that receive encoder outputs
/// (empty = all of them; Idefics3's ranges also hold row/column, newline and wrapper tokens).
struct placeholder_range {
    int64_t offset = 0;
    int64_t length = 0;
    std::vector<bool> is_embed;

    /// Positions that receive embeddings (the image's num_image_tokens).
    int64_t num_embeds() const;
};

/// Looks a token up by its spelling (tokenizer::token_id), -1 when absent.
using token_lookup = std::function<int32_t(std::string_view)>;

/// Each image's range in `ids`, the tokenized expand_image_markers() text, in order. Errors
/// name a token the tokenizer lacks, or a prompt whose image tokens do not match the images
/// (too few or too many, or a run of the wrong length).
result<std::vector<placeholder_range>> find_placeholder_ranges(
    const image_processor_config& config, std::span<const int32_t> ids,
    std::span<const processed_image> images, const token_lookup& lookup);

}  // namespace actorlm::multimodal
