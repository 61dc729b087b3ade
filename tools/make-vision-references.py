#!/usr/bin/env python3
"""Tiny random vision-language checkpoints and their image features, for
tests/engine/vision_tower_test.cpp.

Runs where transformers (5.x) and torch are installed: the peer chroot that
`../shared/tools/peer/setup-peer.sh --transformers` builds. No network is needed. Each case is a
tiny LlavaForConditionalGeneration / Idefics3ForConditionalGeneration with random weights
(seeded, scaled so that activations are O(1) and differences show), saved with
save_pretrained as an HF directory, plus:

  pixel_values.bin   float32 little-endian, the seeded inputs (shape in reference.json)
  features.bin       float32, get_image_features(pixel_values) of the whole batch at once
  reference.json     shapes, the config values the test checks, and the processed-image case:
                     a make_image picture (the formula of tools/make-mm-references.py) run
                     through the family's PIL image processor and the model, its features as a
                     list

    R=/opt/peer-sid; W=$R/tmp/visref; rm -rf $W; mkdir -p $W
    cp tools/make-vision-references.py tools/make-mm-references.py $W/
    chroot $R python3 /tmp/visref/make-vision-references.py --out /tmp/visref/models
    rm -rf tests/data/mm/models && cp -r $W/models tests/data/mm/models && rm -rf $W
"""

import argparse
import importlib.util
import json
import os

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def load_make_image():
    spec = importlib.util.spec_from_file_location("mmref", os.path.join(HERE, "make-mm-references.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.make_image


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")


def write_f32(path, t):
    np.ascontiguousarray(t.detach().to(torch.float32).numpy(), dtype="<f4").tofile(path)


def randomize(model, seed):
    """Weights scaled so every layer matters: matrices ~ 1/sqrt(fan_in), norms ~ 1 + noise,
    biases and embeddings ~ O(0.1-0.5). transformers' own init (std 0.02) would make the
    features nearly constant."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            shape = p.shape
            if "layer_norm" in name or "layernorm" in name or "layrnorm" in name or name.endswith("norm.weight"):
                v = (1.0 + 0.2 * torch.randn(shape, generator=g)) if name.endswith("weight") \
                    else 0.2 * torch.randn(shape, generator=g)
            elif name.endswith("bias"):
                v = 0.2 * torch.randn(shape, generator=g)
            elif "position_embedding" in name or "class_embedding" in name:
                v = 0.5 * torch.randn(shape, generator=g)
            elif p.dim() >= 2:
                fan_in = int(np.prod(shape[1:]))
                v = torch.randn(shape, generator=g) / np.sqrt(fan_in)
            else:
                v = 0.2 * torch.randn(shape, generator=g)
            p.copy_(v)


def tiny_llama():
    from transformers import LlamaConfig
    return LlamaConfig(vocab_size=128, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                       num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=512,
                       pad_token_id=0, bos_token_id=1, eos_token_id=2)


def dir_size(d):
    return sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))


def llava_case(out, name, vision, feature_layer, strategy, projector_act, seed, make_image):
    from transformers import CLIPVisionConfig, LlavaConfig, LlavaForConditionalGeneration
    from transformers import LlavaImageProcessorPil

    torch.manual_seed(seed)
    cfg = LlavaConfig(vision_config=CLIPVisionConfig(**vision), text_config=tiny_llama(),
                      image_token_index=127, vision_feature_layer=feature_layer,
                      vision_feature_select_strategy=strategy, projector_hidden_act=projector_act,
                      image_seq_length=(vision["image_size"] // vision["patch_size"]) ** 2)
    model = LlavaForConditionalGeneration(cfg).eval()
    randomize(model, seed)
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    model.save_pretrained(d)
    size = vision["image_size"]
    pre = {"image_processor_type": "LlavaImageProcessor", "size": {"shortest_edge": size},
           "crop_size": {"height": size, "width": size}, "resample": 3,
           "image_mean": [0.48145466, 0.4578275, 0.40821073],
           "image_std": [0.26862954, 0.26130258, 0.27577711]}
    write_json(os.path.join(d, "preprocessor_config.json"), pre)
    write_json(os.path.join(d, "processor_config.json"),
               {"patch_size": vision["patch_size"], "vision_feature_select_strategy": strategy,
                "num_additional_image_tokens": 1, "image_token": "<image>"})

    g = torch.Generator().manual_seed(seed + 1)
    pv = torch.randn((2, 3, size, size), generator=g)
    with torch.no_grad():
        feats = model.get_image_features(pixel_values=pv, vision_feature_layer=feature_layer,
                                         vision_feature_select_strategy=strategy).pooler_output
        feats = torch.stack(list(feats))
        # one processed picture, end to end
        proc = LlavaImageProcessorPil.from_pretrained(d)
        w, h, s = 45, 29, 3
        img_pv = torch.from_numpy(np.asarray(
            proc(make_image(w, h, s), return_tensors="np")["pixel_values"], dtype=np.float32))
        img_feats = model.get_image_features(pixel_values=img_pv, vision_feature_layer=feature_layer,
                                             vision_feature_select_strategy=strategy).pooler_output[0]
    write_f32(os.path.join(d, "pixel_values.bin"), pv)
    write_f32(os.path.join(d, "features.bin"), feats)
    ref = {"family": "llava", "pixel_shape": list(pv.shape), "feature_shape": list(feats.shape),
           "dtype": "float32", "vision_feature_layer": feature_layer,
           "vision_feature_select_strategy": strategy,
           "processed_image": {"width": w, "height": h, "seed": s,
                               "feature_shape": list(img_feats.shape),
                               "features": [float(v) for v in img_feats.reshape(-1)]}}
    write_json(os.path.join(d, "reference.json"), ref)
    return d


def idefics3_case(out, name, seed, make_image):
    from transformers import Idefics3Config, Idefics3ForConditionalGeneration
    from transformers.models.idefics3.configuration_idefics3 import Idefics3VisionConfig
    from transformers import Idefics3ImageProcessorPil

    torch.manual_seed(seed)
    vision = Idefics3VisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                  num_attention_heads=2, image_size=32, patch_size=8)
    cfg = Idefics3Config(vision_config=vision, text_config=tiny_llama(), scale_factor=2,
                         image_token_id=127, pad_token_id=0)
    model = Idefics3ForConditionalGeneration(cfg).eval()
    randomize(model, seed)
    # Stored as bf16 (the dtype SmolVLM ships in); the reference runs in float32 on the
    # bf16-rounded weights, which is what a float32-activation forward computes.
    model = model.to(torch.bfloat16)
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    model.save_pretrained(d)
    model = model.to(torch.float32)
    pre = {"image_processor_type": "Idefics3ImageProcessor", "size": {"longest_edge": 64},
           "max_image_size": {"longest_edge": 32}, "resample": 1,
           "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}
    write_json(os.path.join(d, "preprocessor_config.json"), pre)
    write_json(os.path.join(d, "processor_config.json"), {"image_seq_len": 4})

    g = torch.Generator().manual_seed(seed + 1)
    pv = torch.randn((1, 3, 3, 32, 32), generator=g)  # one image of three tiles
    big = torch.randn((1, 2, 3, 48, 48), generator=g)  # tiles larger than image_size
    with torch.no_grad():
        feats = model.get_image_features(pixel_values=pv).pooler_output
        big_feats = model.get_image_features(pixel_values=big).pooler_output
        proc = Idefics3ImageProcessorPil.from_pretrained(d)
        w, h, s = 70, 41, 5
        img_pv = torch.from_numpy(np.asarray(
            proc(make_image(w, h, s), return_tensors="np")["pixel_values"], dtype=np.float32))
        img_feats = model.get_image_features(pixel_values=img_pv).pooler_output
    write_f32(os.path.join(d, "pixel_values.bin"), pv[0])
    write_f32(os.path.join(d, "features.bin"), feats)
    write_f32(os.path.join(d, "pixel_values_48.bin"), big[0])
    write_f32(os.path.join(d, "features_48.bin"), big_feats)
    ref = {"family": "idefics3", "pixel_shape": list(pv.shape[1:]), "feature_shape": list(feats.shape),
           "pixel_shape_48": list(big.shape[1:]), "feature_shape_48": list(big_feats.shape),
           "dtype": "bfloat16", "scale_factor": 2,
           "processed_image": {"width": w, "height": h, "seed": s,
                               "pixel_shape": list(img_pv.shape[1:]),
                               "feature_shape": list(img_feats.shape),
                               "features": [float(v) for v in img_feats.reshape(-1)]}}
    write_json(os.path.join(d, "reference.json"), ref)
    return d


def qwen25vl_case(out, name, seed, make_image):
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration
    from transformers import Qwen2VLImageProcessorPil

    torch.manual_seed(seed)
    # patch 4, merge 2, window 16: windows of 2 x 2 merge units, so a 6 x 5 unit image has
    # full, partial and single-unit windows; block 1 attends over the whole image.
    vision = dict(depth=3, hidden_size=32, intermediate_size=64, num_heads=2, patch_size=4,
                  spatial_merge_size=2, temporal_patch_size=2, window_size=16, out_hidden_size=32,
                  fullatt_block_indexes=[1], hidden_act="silu")
    text = dict(vocab_size=128, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=512,
                rope_parameters={"rope_type": "default", "rope_theta": 10000.0,
                                 "mrope_section": [2, 3, 3]})
    cfg = Qwen2_5_VLConfig(vision_config=vision, text_config=text, image_token_id=127,
                           video_token_id=126, vision_start_token_id=125, vision_end_token_id=124)
    model = Qwen2_5_VLForConditionalGeneration(cfg).eval()
    randomize(model, seed)
    model = model.to(torch.float16)  # stored as F16; the reference runs on the rounded weights
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    model.save_pretrained(d)
    model = model.to(torch.float32)
    pre = {"image_processor_type": "Qwen2VLImageProcessor", "min_pixels": 8 * 8 * 4,
           "max_pixels": 8 * 8 * 30, "patch_size": 4, "temporal_patch_size": 2, "merge_size": 2}
    write_json(os.path.join(d, "preprocessor_config.json"), pre)

    g = torch.Generator().manual_seed(seed + 1)
    grids = torch.tensor([[1, 12, 10], [1, 4, 4]])
    n = int(grids.prod(-1).sum())
    pv = torch.randn((n, 3 * 2 * 4 * 4), generator=g)
    with torch.no_grad():
        feats = torch.cat(list(model.get_image_features(pixel_values=pv, image_grid_thw=grids)
                               .pooler_output), dim=0)
        proc = Qwen2VLImageProcessorPil.from_pretrained(d)
        w, h, s = 61, 37, 9
        res = proc(make_image(w, h, s), return_tensors="np")
        img_pv = torch.from_numpy(np.asarray(res["pixel_values"], dtype=np.float32))
        img_grid = torch.from_numpy(np.asarray(res["image_grid_thw"]))
        img_feats = model.get_image_features(pixel_values=img_pv, image_grid_thw=img_grid).pooler_output[0]
    write_f32(os.path.join(d, "pixel_values.bin"), pv)
    write_f32(os.path.join(d, "features.bin"), feats)
    ref = {"family": "qwen2_5_vl", "pixel_shape": list(pv.shape), "grid_thw": grids.tolist(),
           "feature_shape": list(feats.shape), "dtype": "float16",
           "processed_image": {"width": w, "height": h, "seed": s,
                               "grid_thw": img_grid.tolist()[0],
                               "feature_shape": list(img_feats.shape),
                               "features": [float(v) for v in img_feats.reshape(-1)]}}
    write_json(os.path.join(d, "reference.json"), ref)
    return d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    make_image = load_make_image()
    from PIL import Image
    mk = lambda w, h, s: Image.fromarray(make_image(w, h, s))  # noqa: E731
    os.makedirs(args.out, exist_ok=True)
    dirs = [
        # LLaVA-1.5's settings: quick_gelu CLIP, layer -2, CLS dropped, gelu projector
        llava_case(args.out, "llava", dict(hidden_size=32, intermediate_size=64, num_hidden_layers=3,
                                           num_attention_heads=2, image_size=32, patch_size=8,
                                           hidden_act="quick_gelu"),
                   -2, "default", "gelu", 11, mk),
        # a list of feature layers, CLS kept, erf gelu in the tower
        llava_case(args.out, "llava_multilayer", dict(hidden_size=16, intermediate_size=32,
                                                      num_hidden_layers=2, num_attention_heads=2,
                                                      image_size=16, patch_size=4, hidden_act="gelu",
                                                      layer_norm_eps=1e-6),
                   [-3, -1], "full", "gelu_pytorch_tanh", 23, mk),
        idefics3_case(args.out, "idefics3", 37, mk),
        qwen25vl_case(args.out, "qwen25vl", 41, mk),
    ]
    for d in dirs:
        from safetensors import safe_open
        with safe_open(os.path.join(d, "model.safetensors"), "pt") as f:
            names = sorted(f.keys())
        print(d, dir_size(d), "bytes")
        for n in names:
            if "language_model" not in n and "lm_head" not in n and "text_model" not in n:
                print("   ", n)


if __name__ == "__main__":
    main()
