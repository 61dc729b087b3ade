#!/usr/bin/env python3
"""A tiny random Qwen3-Embedding-style checkpoint and its pooled vectors, for
tests/engine/embedding_reference_test.cpp: what transformers computes for a decoder
embedding model, which the engine's pooling must match within 1e-4 cosine.

The checkpoint (tests/data/embedding/qwen3-tiny/) is a Qwen3ForCausalLM, as the
Qwen3-Embedding configs name it: 2 layers, hidden 64, 4 heads of 16, 2 KV heads, QK-norm,
tied embeddings, random weights scaled so that activations are O(1) and a wrong row or
mask shows. Its tokenizer is byte-level with no merges, so the vocabulary is 256 byte
tokens (id = byte value) plus Qwen's three specials: a few KB instead of Qwen3's 11 MB,
and a prompt's token ids are its UTF-8 bytes. Weights are stored in bfloat16 and the
reference is computed in float32 from those same rounded values.

reference.json holds, per prompt (1 to 62 tokens, across 16-token block edges), the
token ids and, from Qwen3Model's last_hidden_state (after the final norm):
  last   the last token's row, L2-normalized (Qwen3-Embedding / sentence-transformers'
         lasttoken pooling)
  mean   the mean of all rows, L2-normalized
--gguf also tries llama.cpp's convert_hf_to_gguf.py on it (qwen3-tiny-f16.gguf). llama.cpp
0.7.0's converter refuses it ("BPE pre-tokenizer was not recognized": it knows
pre-tokenizers by the hash of a test text's token ids, and a 259-token vocabulary matches
none), so no GGUF is committed; the run prints the converter's answer. Same arguments,
same bytes: the output is deterministic.

Runs where transformers (5.x) and torch are installed: the peer chroot
(`../shared/tools/peer/setup-peer.sh --transformers`). No network is needed.

    R=/opt/peer-sid; W=$R/tmp/embref; rm -rf $W; mkdir -p $W
    cp tools/make-embedding-references.py $W/
    chroot $R python3 /tmp/embref/make-embedding-references.py --out /tmp/embref/qwen3-tiny --gguf
    rm -rf tests/data/embedding/qwen3-tiny && mkdir -p tests/data/embedding
    cp -r $W/qwen3-tiny tests/data/embedding/ && rm -rf $W
"""

import argparse
import json
import os
import subprocess
import sys

import torch
import transformers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers

CONVERTER = "/usr/share/doc/llama.cpp-tools/scripts/convert_hf_to_gguf.py"
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
PROMPTS = [
    "A",
    "Hello there",
    "The quick brown fox jumps over",
    "Embeddings pool the hidden states of a prompt into one vector.",
]


def byte_tokenizer():
    """A byte-level BPE tokenizer without merges: token id = byte value, then the specials."""
    byte_chars = pre_tokenizers.ByteLevel.alphabet()
    # ByteLevel.alphabet() is unordered; rebuild GPT-2's byte -> char table to order it.
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    table = dict(zip(bs, (chr(c) for c in cs)))
    assert set(table.values()) == set(byte_chars)
    vocab = {table[b]: b for b in range(256)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(SPECIALS)
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<|endoftext|>")


def make_model():
    torch.manual_seed(17)
    cfg = transformers.Qwen3Config(
        vocab_size=260, hidden_size=64, intermediate_size=32, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, head_dim=16,
        max_position_embeddings=512, rms_norm_eps=1e-6, rope_theta=1000000.0,
        tie_word_embeddings=True, bos_token_id=256, eos_token_id=256)
    cfg.architectures = ["Qwen3ForCausalLM"]
    model = transformers.Qwen3ForCausalLM(cfg).to(torch.float32)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            else:
                p.copy_(torch.randn_like(p) / p.shape[-1] ** 0.5)
            # Keep only values bfloat16 holds, so the stored weights are exactly these.
            p.copy_(p.to(torch.bfloat16).to(torch.float32))
        model.model.embed_tokens.weight.mul_(4.0)
    model.eval()
    return model


def pooled(model, ids):
    with torch.no_grad():
        h = model.model(input_ids=torch.tensor([ids])).last_hidden_state[0].double()
    last = torch.nn.functional.normalize(h[-1], dim=0)
    mean = torch.nn.functional.normalize(h.mean(dim=0), dim=0)
    return last.tolist(), mean.tolist()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--gguf", action="store_true", help="also convert with llama.cpp")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    tok = byte_tokenizer()
    model = make_model()
    cases = []
    for text in PROMPTS:
        ids = tok(text)["input_ids"]
        assert ids == list(text.encode("utf-8")), ids
        last, mean = pooled(model, ids)
        cases.append({"text": text, "ids": ids, "last": last, "mean": mean})
    model.to(torch.bfloat16).save_pretrained(args.out, safe_serialization=True)
    tok.save_pretrained(args.out)
    with open(os.path.join(args.out, "reference.json"), "w") as f:
        json.dump({"transformers": transformers.__version__, "hidden_size": 64,
                   "cases": cases}, f)
    for c in cases:
        print(len(c["ids"]), "tokens; last . mean =",
              round(sum(a * b for a, b in zip(c["last"], c["mean"])), 4))
    if args.gguf:
        gguf = os.path.join(args.out, "qwen3-tiny-f16.gguf")
        r = subprocess.run([sys.executable, CONVERTER, args.out, "--outtype", "f16",
                            "--outfile", gguf], capture_output=True, text=True)
        print(r.stdout[-2000:], r.stderr[-2000:])
        print("gguf:", "written" if r.returncode == 0 else "refused (rc %d)" % r.returncode)


if __name__ == "__main__":
    main()
