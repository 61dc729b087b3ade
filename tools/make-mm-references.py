#!/usr/bin/env python3
"""Reference outputs of the HF image processors for tests/engine/image_processor_test.cpp.

Runs where transformers (5.x), torch, torchvision and PIL are installed: the peer chroot that
`../shared/tools/peer/setup-peer.sh --transformers` builds. No network is needed: the
processor settings are written here (tests/data/mm/<case>/preprocessor_config.json and
processor_config.json, loaded back with from_pretrained as a model directory would be), the
pictures are made from a formula (make_image; the C++ test has the same formula), and the
tokenizers are ../shared/tokenizers ones with the vision tokens added (the added tokens are
written into the reference so the test can add the same ones).

    R=/opt/peer-sid; W=$R/tmp/mmref; rm -rf $W; mkdir -p $W
    cp tools/make-mm-references.py $W/ && cp -r ../shared/tokenizers/{llama2,gpt2,qwen3} $W/
    chroot $R python3 /tmp/mmref/make-mm-references.py --tokenizers /tmp/mmref --out /tmp/mmref/mm
    rm -rf tests/data/mm && cp -r $W/mm tests/data/mm && rm -rf $W

The processors are run with backend="pil" (the classes' PIL/numpy path). transformers 5
picks the torchvision backend by default when torchvision >= 0.27 is installed; the largest
difference between the two backends is recorded per case as "torchvision_max_abs_diff".

Pixel values are stored as: shape, a 64-bit hash of the float32 bits (bits_hash), the sum,
per-channel means and 48 sampled (index, value) pairs; expanded prompts as the full
input_ids list.
"""

import argparse
import json
import math
import os
import shutil
import tempfile

import numpy as np
from PIL import Image

K_SAMPLES = 48
HASH_P = 1099511628211


def make_image(width, height, seed):
    """The test picture: a per-channel gradient with 8x8 blocks of hash noise (every third
    block), uint8 (height, width, 3). Same formula as make_test_image in the C++ test."""
    x = np.arange(width, dtype=np.uint32)[None, :, None]
    y = np.arange(height, dtype=np.uint32)[:, None, None]
    c = np.arange(3, dtype=np.uint32)[None, None, :]
    s = np.uint32(seed)
    np.seterr(over="ignore")  # uint32 products wrap, as in the C++ formula
    grad = (x * (np.uint32(3) + c) * np.uint32(7) + y * (np.uint32(5) + np.uint32(2) * c) * np.uint32(3)
            + s * np.uint32(31)) & np.uint32(255)
    h = (x * np.uint32(73856093)) ^ (y * np.uint32(19349663)) ^ ((c + np.uint32(1)) * np.uint32(83492791))
    h = h ^ (s * np.uint32(2654435761))
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0x5BD1E995)
    h = h ^ (h >> np.uint32(15))
    noise = h & np.uint32(255)
    block = ((x // np.uint32(8) + y // np.uint32(8)) % np.uint32(3)) == 0
    v = np.where(block, noise, grad)
    return np.ascontiguousarray(np.broadcast_to(v, (height, width, 3)).astype(np.uint8))


def bits_hash(words):
    """sum_i (w_i + 1) * P^(i+1) mod 2^64 over uint32 words (float32 bits or bytes)."""
    w = np.ascontiguousarray(words).reshape(-1).astype(np.uint64)
    if w.size == 0:
        return 0
    with np.errstate(over="ignore"):
        pw = np.cumprod(np.full(w.size, HASH_P, dtype=np.uint64), dtype=np.uint64)
        return int(np.sum((w + np.uint64(1)) * pw, dtype=np.uint64))


def sample_indices(n):
    idx = {0, n - 1}
    for i in range(K_SAMPLES - 2):
        idx.add((i * 2654435761 + 12345) % n)
    return sorted(idx)


def summarize(values, channel_axis_len):
    """values: float32 array; channel_axis_len: values grouped as (..., 3, rest) for the means."""
    v = np.ascontiguousarray(values, dtype=np.float32)
    flat = v.reshape(-1)
    bits = flat.view(np.uint32)
    grouped = v.reshape(-1, 3, channel_axis_len).astype(np.float64)
    return {
        "shape": list(v.shape),
        "bits_hash": str(bits_hash(bits)),
        "sum": math.fsum(flat.astype(np.float64).tolist()),
        "channel_means": [float(grouped[:, c, :].mean()) for c in range(3)],
        "samples": [[int(i), float(flat[i])] for i in sample_indices(flat.size)],
    }


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"))
        f.write("\n")


# -- tokenizers --------------------------------------------------------------------------------

def make_tokenizer(src_dir, tokens):
    """The tokenizer.json at src_dir with `tokens` added as special tokens (in order); returns
    the tokenizer and the added tokens as [content, id].

    The pipeline is tokenizer.json's as written (PreTrainedTokenizerFast over the file), which
    is what actorlm's tokenizer implements. AutoTokenizer would build transformers 5's
    LlamaTokenizer for llama2, which drops the "▁" that tokenizer.json's Prepend normalizer
    puts after a special token (" Compare" after <image>: [29871, 3831] from the file, [3831]
    from LlamaTokenizer); that is a tokenizer difference, not an expansion one."""
    from transformers import PreTrainedTokenizerFast
    from tokenizers import AddedToken

    tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(src_dir, "tokenizer.json"))
    new = [t for t in tokens if t not in tok.get_vocab()]
    tok.add_tokens([AddedToken(t, special=True, normalized=False) for t in new], special_tokens=True)
    added = [[t, tok.convert_tokens_to_ids(t)] for t in new]
    return tok, added


# -- cases -------------------------------------------------------------------------------------

IMAGES = [(37, 23), (23, 37), (300, 200), (640, 480), (1, 1), (1, 2000), (2000, 1), (97, 1000)]


def clip_cases():
    return {
        "llava15": ({"image_processor_type": "LlavaImageProcessor", "do_pad": False,
                     "size": {"shortest_edge": 336}, "crop_size": {"height": 336, "width": 336},
                     "resample": 3, "image_mean": [0.48145466, 0.4578275, 0.40821073],
                     "image_std": [0.26862954, 0.26130258, 0.27577711]},
                    {"patch_size": 14, "vision_feature_select_strategy": "default",
                     "num_additional_image_tokens": 1, "image_token": "<image>"}),
        "llava15_pad": ({"image_processor_type": "LlavaImageProcessor", "do_pad": True,
                         "size": {"shortest_edge": 336}, "crop_size": {"height": 336, "width": 336},
                         "resample": 3},
                        {"patch_size": 14, "vision_feature_select_strategy": "default",
                         "num_additional_image_tokens": 1}),
        "clip_small": ({"image_processor_type": "CLIPImageProcessor", "size": {"shortest_edge": 40},
                        "crop_size": {"height": 24, "width": 28}, "resample": 2},
                       {"patch_size": 4, "vision_feature_select_strategy": "full",
                        "num_additional_image_tokens": 1}),
        # a crop taller than the resized picture: center_crop's zero padding
        "clip_crop_pad": ({"image_processor_type": "CLIPImageProcessor",
                           "size": {"height": 20, "width": 30},
                           "crop_size": {"height": 33, "width": 24}},
                          {"patch_size": 8}),
    }


def idefics3_cases():
    return {
        "idefics3": ({"image_processor_type": "Idefics3ImageProcessor"}, {"image_seq_len": 9}),
        "smolvlm_small": ({"image_processor_type": "SmolVLMImageProcessor", "size": {"longest_edge": 300},
                           "max_image_size": {"longest_edge": 96}, "resample": 1,
                           "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]},
                          {"image_seq_len": 4}),
        "idefics3_nosplit": ({"image_processor_type": "Idefics3ImageProcessor", "do_image_splitting": False,
                              "max_image_size": {"longest_edge": 64}, "resample": 3},
                             {"image_seq_len": 5}),
    }


def qwen_cases():
    return {
        "qwen25vl": ({"image_processor_type": "Qwen2VLImageProcessor", "min_pixels": 3136,
                      "max_pixels": 12845056, "patch_size": 14, "temporal_patch_size": 2,
                      "merge_size": 2}, {}),
        "qwen25vl_small": ({"image_processor_type": "Qwen2VLImageProcessor", "min_pixels": 28 * 28 * 8,
                            "max_pixels": 28 * 28 * 16}, {}),
    }


def pil_class(image_processor_type):
    import transformers
    return getattr(transformers, image_processor_type + "Pil")


def run_images(case_dir, pre, family):
    from transformers import AutoImageProcessor
    proc = pil_class(pre["image_processor_type"]).from_pretrained(case_dir)
    tv = AutoImageProcessor.from_pretrained(case_dir)  # transformers' default backend
    out = []
    for (w, h) in IMAGES:
        img = Image.fromarray(make_image(w, h, seed=w * 7 + h))
        entry = {"width": w, "height": h}
        kwargs = {"return_row_col_info": True} if family == "idefics3" else {}
        try:
            res = proc(img, return_tensors="np", **kwargs)
        except Exception as e:  # HF refuses the picture: the test expects an error too
            entry["error"] = f"{type(e).__name__}: {e}"
            out.append(entry)
            continue
        pv = np.asarray(res["pixel_values"], dtype=np.float32)
        if family == "clip":
            pv = pv[0]                         # (3, H, W)
            entry.update(summarize(pv, pv.shape[1] * pv.shape[2]))
        elif family == "idefics3":
            pv = pv[0]                         # (frames, 3, S, S)
            entry.update(summarize(pv, pv.shape[2] * pv.shape[3]))
            entry["rows"] = int(np.asarray(res["rows"]).reshape(-1)[0]) if "rows" in res else None
            entry["cols"] = int(np.asarray(res["cols"]).reshape(-1)[0]) if "cols" in res else None
        else:
            entry.update(summarize(pv, pv.shape[1] // 3))
            entry["grid_thw"] = [int(v) for v in np.asarray(res["image_grid_thw"])[0]]
        try:
            tv_pv = np.asarray(tv(img, return_tensors="np")["pixel_values"], dtype=np.float32)
            entry["torchvision_backend"] = type(tv).__name__
            entry["torchvision_max_abs_diff"] = float(np.max(np.abs(tv_pv.reshape(-1) - np.asarray(
                res["pixel_values"], dtype=np.float32).reshape(-1)))) if tv_pv.size == pv.size else None
        except Exception as e:
            entry["torchvision_error"] = f"{type(e).__name__}: {e}"
        out.append(entry)
    return out


def write_case(out_dir, name, pre, proc_cfg):
    d = os.path.join(out_dir, name)
    os.makedirs(d, exist_ok=True)
    write_json(os.path.join(d, "preprocessor_config.json"), pre)
    if proc_cfg:
        write_json(os.path.join(d, "processor_config.json"), proc_cfg)
    return d


def prompt_reference(case_dir, pre, proc_cfg, family, tok_dir):
    """Expanded input_ids of a two-image prompt through the real processor class."""
    import transformers
    image_proc = pil_class(pre["image_processor_type"]).from_pretrained(case_dir)
    imgs = [Image.fromarray(make_image(w, h, seed=w * 7 + h)) for (w, h) in [(300, 200), (37, 23)]]
    if family == "clip":
        tok, added = make_tokenizer(tok_dir, ["<image>"])
        proc = transformers.LlavaProcessor(image_processor=image_proc, tokenizer=tok, **proc_cfg)
        text = "USER: <image>\nWhat is shown here? <image> Compare them.\nASSISTANT:"
    elif family == "idefics3":
        specials = ["<fake_token_around_image>", "<image>", "<end_of_utterance>", "<global-img>"]
        specials += [f"<row_{r}_col_{c}>" for r in range(1, 7) for c in range(1, 7)]
        tok, added = make_tokenizer(tok_dir, specials)
        proc = transformers.Idefics3Processor(image_processor=image_proc, tokenizer=tok, **proc_cfg)
        text = "User:<image>Describe this.\n<image>And this?<end_of_utterance>\nAssistant:"
    else:
        tok, added = make_tokenizer(tok_dir, [])
        from transformers import Qwen2VLVideoProcessor
        proc = transformers.Qwen2_5_VLProcessor(image_processor=image_proc, tokenizer=tok,
                                                video_processor=Qwen2VLVideoProcessor())
        text = ("<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>What is it?"
                "<|vision_start|><|image_pad|><|vision_end|><|im_end|>\n<|im_start|>assistant\n")
    res = proc(text=[text], images=imgs, return_tensors="np")
    return {
        "text": text,
        "images": [[300, 200], [37, 23]],
        "added_tokens": added,
        "input_ids": [int(v) for v in np.asarray(res["input_ids"])[0]],
    }


def pil_resize_reference():
    """Image.resize alone on uint8 RGB: every filter, up and down, odd sizes."""
    filters = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR,
               "lanczos": Image.Resampling.LANCZOS, "box": Image.Resampling.BOX,
               "hamming": Image.Resampling.HAMMING}
    jobs = [((37, 23), (336, 219)), ((300, 200), (97, 61)), ((640, 480), (364, 273)),
            ((1, 1), (5, 3)), ((23, 37), (23, 80)), ((300, 200), (300, 200)), ((2000, 1), (13, 1)),
            # Pillow 13 runs the vertical pass first for these (height shrinks > 2x the width)
            ((300, 200), (308, 196)), ((97, 1000), (40, 412)), ((140, 43), (134, 27)),
            ((1, 2000), (3, 50))]
    out = []
    for (w, h), (ow, oh) in jobs:
        src = Image.fromarray(make_image(w, h, seed=w * 7 + h))
        for name, f in filters.items():
            arr = np.asarray(src.resize((ow, oh), resample=f), dtype=np.uint8)
            flat = arr.reshape(-1)
            out.append({"width": w, "height": h, "out_width": ow, "out_height": oh, "filter": name,
                        "bits_hash": str(bits_hash(flat.astype(np.uint32))),
                        "samples": [[int(i), int(flat[i])] for i in sample_indices(flat.size)]})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizers", required=True, help="folder holding llama2/, gpt2/, qwen3/")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    import transformers
    summary = {"transformers": transformers.__version__, "pil": Image.__version__}
    families = [("clip", clip_cases(), "llama2"), ("idefics3", idefics3_cases(), "gpt2"),
                ("qwen2_vl", qwen_cases(), "qwen3")]
    for family, cases, tok_name in families:
        for name, (pre, proc_cfg) in cases.items():
            d = write_case(args.out, name, pre, proc_cfg)
            ref = {"family": family, "versions": summary, "images": run_images(d, pre, family)}
            ref["prompt"] = prompt_reference(d, pre, proc_cfg, family,
                                             os.path.join(args.tokenizers, tok_name))
            ref["prompt"]["tokenizer"] = tok_name
            write_json(os.path.join(d, "reference.json"), ref)
            print(name, "done")
    write_json(os.path.join(args.out, "pil_resize.json"),
               {"versions": summary, "cases": pil_resize_reference()})


if __name__ == "__main__":
    main()
