#!/usr/bin/env python3
"""Text-only logits of the tiny vision-language checkpoints in tests/data/mm/models, for
tests/engine/loader_vlm_text_test.cpp: the text model inside a LLaVA / Idefics3 / Qwen2.5-VL
directory must load and compute what transformers computes for a prompt without images
(Qwen2.5-VL's M-RoPE then has three equal positions per token: ordinary RoPE).

Runs where transformers and torch are installed (the peer chroot):

    R=/opt/peer-sid; W=$R/tmp/vlmtext; rm -rf $W; mkdir -p $W
    cp -r tools/make-vlm-text-references.py tests/data/mm/models $W/
    chroot $R python3 /tmp/vlmtext/make-vlm-text-references.py /tmp/vlmtext/models
    for f in llava idefics3 qwen25vl; do cp $W/models/$f/text_logits.json tests/data/mm/models/$f/; done
"""
import json
import os
import sys

import torch
import transformers

IDS = [1, 17, 42, 99, 3, 64, 5, 120, 7, 33, 2, 88]  # below every tiny vocab, no image token


def main(root):
    for name in ("llava", "idefics3", "qwen25vl"):
        d = os.path.join(root, name)
        model = transformers.AutoModelForImageTextToText.from_pretrained(d, torch_dtype=torch.float32)
        model.eval()
        with torch.no_grad():
            out = model(input_ids=torch.tensor([IDS]))
        logits = out.logits[0, -1].tolist()
        with open(os.path.join(d, "text_logits.json"), "w") as f:
            json.dump({"input_ids": IDS, "last_logits": logits,
                       "transformers": transformers.__version__}, f)
        print(name, len(logits))


if __name__ == "__main__":
    main(sys.argv[1])
