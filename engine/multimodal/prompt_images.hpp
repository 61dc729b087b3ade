// prompt_images: the images of a chat request as the engine receives them (encoded bytes
// in chat_message::parts), counted and decoded in order, each error naming the image.
// A text model's answer to images: build_prompt_tokens calls attach_prompt_images, which
// decodes every image (so a corrupt one is named first) and then refuses the request.
// Vision-language models take images through core::build_prompt and image_preprocessor.
// Pure functions, any thread.
#pragma once

#include <cstddef>
#include <vector>

#include "actorlm/engine.hpp"
#include "base/result.hpp"
#include "multimodal/image_decoder.hpp"

namespace actorlm::multimodal {

/// How many image parts the request's messages hold.
size_t count_prompt_images(const actorlm::generate_request& req);

/// Every image of the request, decoded in message order. Errors (invalid_argument) name
/// the image ("image 2 (data:image/png;base64,...)") and the problem.
result<std::vector<rgb_image>> decode_prompt_images(const actorlm::generate_request& req,
                                                   const image_decode_options& options = {});

/// For a model without a vision tower: decodes the images, so a corrupt one is named,
/// then refuses the request. Only called when the request has images.
status attach_prompt_images(const actorlm::generate_request& req);

}  // namespace actorlm::multimodal
