// vision_tower: pixel values -> image features, the embeddings that replace an image's
// placeholder tokens in the prompt. Runs a loaded vision_model on the CPU with the project's
// kernels: CLIP ViT + LLaVA projector, SigLIP + Idefics3 pixel-shuffle connector, or
// Qwen2.5-VL's window-attention ViT + patch merger. Several
// images (or tiles) of one size go through each matmul together, in chunks of bounded size, so
// the cost is linear in the number of images. encode() is const and keeps no state: callers on
// different threads may share one tower (each call uses the pool it is given).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "base/result.hpp"
#include "cpu/thread_pool.hpp"
#include "multimodal/image_processor.hpp"
#include "multimodal/vision_weights.hpp"

namespace actorlm::multimodal {

/// The features of a batch of images: rows of dim floats, row-major, image after image.
struct vision_features {
    std::vector<float> data;
    int64_t num_images = 0;
    /// Rows per image when all images have the same count (0 when they differ: Qwen2.5-VL).
    int64_t tokens_per_image = 0;
    /// Rows of each image.
    std::vector<int64_t> image_tokens;
    int64_t dim = 0;
};

class vision_tower {
public:
    /// Most patch tokens encoded at once; larger batches are cut into chunks of whole images.
    static constexpr int64_t k_max_chunk_tokens = 4096;

    explicit vision_tower(std::shared_ptr<const vision_model> model);

    const vision_model& model() const { return *model_; }

    /// Feature rows one height x width image becomes: LLaVA (image / patch)^2 (+1 when the
    /// class token is kept); Idefics3 (side / patch / scale_factor)^2. An error
    /// (invalid_argument) for a size the tower cannot take: CLIP only at its image_size (no
    /// position interpolation), Idefics3 square sides whose patch grid scale_factor divides;
    /// Qwen2.5-VL has no fixed size (an error: use encode_patches).
    result<int64_t> tokens_per_image(int64_t height, int64_t width) const;

    /// Encodes `num_images` images of `pixels`, float32 [num_images, channels, height, width]
    /// (the processor's normalized values). The result has num_images blocks of
    /// tokens_per_image(height, width) rows; image i's rows depend only on image i.
    result<vision_features> encode(const float* pixels, int64_t num_images, int64_t height,
                                   int64_t width, cpu::thread_pool& pool) const;

    /// Encodes one processor output: a CLIP image {3, H, W}, every Idefics3 frame
    /// {frames, 3, S, S} (tiles row-major, then the global image), as the processor split it,
    /// or a Qwen2.5-VL patch matrix with its grid_thw.
    result<vision_features> encode(const processed_image& image, cpu::thread_pool& pool) const;

    /// Qwen2.5-VL: encodes images given as the processor's patch rows, all images' rows one
    /// after the other ({sum t*h*w, channels * temporal * p * p}, merge-window order), with
    /// each image's grid_thw in patches. Image i gets t*h*w / merge^2 rows, in the processor's
    /// (and the prompt's) order. Errors: a grid whose h or w the merge size does not divide.
    result<vision_features> encode_patches(const float* patches,
                                           const std::vector<std::array<int64_t, 3>>& grids,
                                           cpu::thread_pool& pool) const;

private:
    std::shared_ptr<const vision_model> model_;
};

/// SigLIP / Idefics3 position ids of a grid_h x grid_w patch grid (all patches real), as
/// Idefics3VisionEmbeddings buckets fractional coordinates onto the
/// patches_per_side x patches_per_side table (the identity when the grid is that size).
std::vector<int64_t> siglip_position_ids(int64_t grid_h, int64_t grid_w,
                                         int64_t patches_per_side);

}  // namespace actorlm::multimodal
