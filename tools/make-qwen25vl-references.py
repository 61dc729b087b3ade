#!/usr/bin/env python3
r"""Qwen2.5-VL image prompts through the tiny checkpoint tests/data/mm/models/qwen25vl, as
transformers computes them: writes tests/data/mm/models/qwen25vl/vlm_logits.json in the format
of tools/make-vlm-references.py (read by tests/engine/vlm_generation_test.cpp), plus each
case's M-RoPE positions (Qwen2_5_VLModel.get_rope_index) and rope delta.

The checkpoint has no tokenizer: the prompt ids use the fixed ids of its config.json
(image_token_id 127 = <|image_pad|>, vision_start_token_id 125, vision_end_token_id 124), each
image written as <|vision_start|> + N x <|image_pad|> + <|vision_end|> with N the processor's
count (grid_thw.prod() / merge_size^2), as Qwen2_5_VLProcessor expands it. Pictures come from
make_image(width, height, seed) (tools/make-mm-references.py) through
Qwen2VLImageProcessorPil loaded from the directory. The model runs in float32 on the stored
f16 weights, with mm_token_type_ids (1 on image tokens) and image_grid_thw, which
transformers 5 needs to build the 3-D positions (without them it falls back to 1-D ones).
Greedy ids: generate(do_sample=False, max_new_tokens=16, min_new_tokens=16) with eos disabled
(the checkpoint's eos id lies outside its 128-token vocabulary anyway), checked against an
argmax loop over full forwards; last_step_logits are that loop's last logits (prompt + 15
generated tokens), which check the decode positions.

Runs where transformers (5.x), torch and Pillow are installed (the peer chroot; no network,
about 10 s):

    R=/opt/peer-sid; W=$R/tmp/qwenref; rm -rf $W; mkdir -p $W/models
    cp tools/make-qwen25vl-references.py tools/make-vlm-references.py tools/make-mm-references.py $W/
    cp -r tests/data/mm/models/qwen25vl $W/models/
    chroot $R python3 /tmp/qwenref/make-qwen25vl-references.py --models /tmp/qwenref/models
    cp $W/models/qwen25vl/vlm_logits.json tests/data/mm/models/qwen25vl/ && rm -rf $W
"""

import argparse
import importlib.util
import os

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def load_module(name, file):
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, file))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


vlm = load_module("vlmref", "make-vlm-references.py")


def mrope_by_hand(ids, image_id, grids, merge):
    """get_rope_index's positions for images, written out independently (the C++ rule)."""
    pos, current, i, k = [], 0, 0, 0
    while i < len(ids):
        if ids[i] != image_id:
            pos.append([current] * 3)
            current += 1
            i += 1
            continue
        t, h, w = grids[k][0], grids[k][1] // merge, grids[k][2] // merge
        k += 1
        for a in range(t):
            for r in range(h):
                for c in range(w):
                    pos.append([current + a, current + r, current + c])
        i += t * h * w
        current += max(h, w)
    largest = max(max(p) for p in pos)
    return pos, largest + 1 - len(ids)


def qwen25vl_ids(d, make_image):
    import transformers
    from transformers import Qwen2VLImageProcessorPil

    model = transformers.AutoModelForImageTextToText.from_pretrained(d, torch_dtype=torch.float32).eval()
    cfg = model.config
    merge = cfg.vision_config.spatial_merge_size
    tok = {"image_pad": cfg.image_token_id, "vision_start": cfg.vision_start_token_id,
           "vision_end": cfg.vision_end_token_id}
    proc = Qwen2VLImageProcessorPil.from_pretrained(d)
    cases = []
    for name, pics, texts in [
        ("one_image", [(45, 29, 3)], [[1, 17, 42], [99, 3, 64, 5]]),
        ("two_images", [(45, 29, 3), (20, 36, 7)], [[1, 17, 42], [7, 33, 88], [99, 3, 64, 5]]),
    ]:
        res = proc([vlm.pil(make_image, *p) for p in pics], return_tensors="np")
        pv = torch.from_numpy(np.asarray(res["pixel_values"], dtype=np.float32))
        grid = torch.from_numpy(np.asarray(res["image_grid_thw"]))
        images, ids = [], list(texts[0])
        for i, (w, h, s) in enumerate(pics):
            g = grid[i].tolist()
            n = g[0] * g[1] * g[2] // (merge * merge)
            images.append({"width": w, "height": h, "seed": s, "num_image_tokens": n, "grid_thw": g})
            ids += [tok["vision_start"]] + [tok["image_pad"]] * n + [tok["vision_end"]] + texts[i + 1]
        input_ids = torch.tensor([ids])
        types = (input_ids == tok["image_pad"]).to(torch.int32)
        inputs = {"input_ids": input_ids, "pixel_values": pv, "image_grid_thw": grid,
                  "mm_token_type_ids": types}
        with torch.no_grad():
            logits = model(**inputs).logits[0, -1]
            positions, delta = model.model.get_rope_index(input_ids, mm_token_type_ids=types,
                                                          image_grid_thw=grid)
            # the same ids with 1-D positions: how much M-RoPE matters here
            flat = model(input_ids=input_ids, pixel_values=pv, image_grid_thw=grid).logits[0, -1]
            other = model(**dict(inputs, pixel_values=-pv)).logits[0, -1]
        pos = positions[:, 0].T.tolist()  # [tokens][3]
        hand, hand_delta = mrope_by_hand(ids, tok["image_pad"], grid.tolist(), merge)
        assert pos == hand and int(delta) == hand_delta, (pos, hand, delta, hand_delta)
        gen, gap, last = vlm.greedy(model, inputs, len(ids), per_token=("mm_token_type_ids",))
        cases.append({"name": name, "images": images, "input_ids": ids,
                      "mrope_positions": pos, "mrope_delta": int(delta),
                      "last_logits": [vlm.f32(v) for v in logits.tolist()], "greedy_ids": gen,
                      "greedy_min_gap": gap,
                      "last_step_logits": [vlm.f32(v) for v in last.tolist()],
                      "image_effect": float((other - logits).abs().max()),
                      "mrope_effect": float((flat - logits).abs().max())})
        print("qwen25vl", name, "grids", grid.tolist(), "tokens", [im["num_image_tokens"] for im in images],
              "delta", int(delta), "greedy", gen, "gap", gap, "image effect", cases[-1]["image_effect"],
              "mrope effect", cases[-1]["mrope_effect"])
    return tok, cases


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", required=True, help="a copy of tests/data/mm/models (written into)")
    args = ap.parse_args()
    torch.set_num_threads(2)
    import transformers
    make_image = load_module("mmref", "make-mm-references.py").make_image
    d = os.path.join(args.models, "qwen25vl")
    tok, cases = qwen25vl_ids(d, make_image)
    note = ("greedy_ids: generate(do_sample=False, max_new_tokens=16, min_new_tokens=16) with "
            "generation_config.eos_token_id = None (no stop, no eos suppression); equals an argmax loop")
    vlm.write_json(os.path.join(d, "vlm_logits.json"),
                   {"family": "qwen25vl", "transformers": transformers.__version__, "token_ids": tok,
                    "greedy": note, "cases": cases})


if __name__ == "__main__":
    main()
