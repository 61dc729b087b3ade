#!/usr/bin/env python3
"""Tiny random Gemma 2, Gemma 3 (text) and Mistral v0.1 checkpoints and what transformers and
llama.cpp compute with them, for tests/engine/gemma_reference_test.cpp.

Writes into OUT (tests/data/gemma):
  tokenizer.model     a 256-piece sentencepiece model trained here (the converter needs one;
                      the tests feed token ids, so its pieces do not matter)
  gemma2/             Gemma2ForCausalLM: 6 layers alternating local (window 8) and global,
                      attention soft-cap 2 and final soft-cap 3 (small, so that they bend these
                      random scores), query_pre_attn_scalar 32 != head_dim 16, random (1 + w)
                      norm weights, tied embeddings; F16 model.safetensors
  gemma3/             Gemma3ForCausalLM (gemma3_text): 6 layers, 5 local (window 8) : 1 global,
                      Q/K norm, local RoPE base 1000, global 1e6 with linear factor 8
                      (transformers 5's rope_parameters by layer type), query_pre_attn_scalar 32
  mistral/            MistralForCausalLM: 4 layers, sliding_window 8 on every layer
  gemma2-f16.gguf, gemma3-f16.gguf, mistral-f16.gguf
                      llama.cpp's convert_hf_to_gguf.py (--outtype f16) of the same weights.
                      GGUF has no query_pre_attn_scalar (llama.cpp scales by 1/sqrt(head_dim)
                      except for the 27B) and llama.cpp's converter drops Mistral's window, so
                      each GGUF is converted from a copy whose config says what llama.cpp
                      computes (query_pre_attn_scalar = head_dim; Mistral without a window)
  references.json     per model, for the HF directory ("hf") and the GGUF ("gguf"):
                      the prompt ids, transformers' last-position logits (F32) and its 8
                      greedy ids for the config that format holds; for "gguf" also
                      llama.cpp's 8 greedy ids (llama-server, the prompt as token ids)

The weights are rounded to F16 before the references run in F32, so the references are exact
for the stored weights; they run with eager attention (transformers' SDPA path drops Gemma 2's
attention soft-cap). Runs where transformers, torch, sentencepiece and llama.cpp are (the
peer chroot):

    R=/opt/peer-sid; W=$R/tmp/gemmaref; rm -rf $W; mkdir -p $W
    cp tools/make-gemma-references.py $W/
    chroot $R python3 /tmp/gemmaref/make-gemma-references.py /tmp/gemmaref/out
    rm -rf tests/data/gemma; cp -r $W/out tests/data/gemma
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import sentencepiece as spm
import torch
import transformers

CONVERTER = "/usr/share/doc/llama.cpp-tools/scripts/convert_hf_to_gguf.py"
VOCAB = 256
PROMPT = [5, 71, 200, 13, 99, 42, 180, 7, 64, 33, 150, 21, 88, 240, 3, 119,
          57, 201, 14, 76, 130, 9, 61, 222]  # 24 tokens: three windows of 8
NEW_TOKENS = 8

COMMON = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=96, num_attention_heads=4,
              num_key_value_heads=2, head_dim=16, max_position_embeddings=256,
              rms_norm_eps=1e-6, bos_token_id=2, eos_token_id=1, pad_token_id=0)


def configs():
    gemma2 = transformers.Gemma2Config(
        **COMMON, num_hidden_layers=6, sliding_window=8, query_pre_attn_scalar=32,
        attn_logit_softcapping=2.0, final_logit_softcapping=3.0,
        hidden_activation="gelu_pytorch_tanh", tie_word_embeddings=True,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0})
    gemma3 = transformers.Gemma3TextConfig(
        **COMMON, num_hidden_layers=6, sliding_window=8, query_pre_attn_scalar=32,
        hidden_activation="gelu_pytorch_tanh", tie_word_embeddings=True,
        layer_types=["sliding_attention"] * 5 + ["full_attention"],
        rope_parameters={
            "full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1000000.0},
            "sliding_attention": {"rope_type": "default", "rope_theta": 1000.0}})
    mistral = transformers.MistralConfig(
        **COMMON, num_hidden_layers=4, sliding_window=8, tie_word_embeddings=False,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0})
    return {"gemma2": (gemma2, transformers.Gemma2ForCausalLM),
            "gemma3": (gemma3, transformers.Gemma3ForCausalLM),
            "mistral": (mistral, transformers.MistralForCausalLM)}


def randomize(model, seed):
    """Weights large enough that the soft-caps, windows and RoPE bases change the logits,
    norm weights away from 0 (Gemma stores w - 1), all rounded to F16."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            x = torch.randn(p.shape, generator=g)
            if name.endswith("norm.weight"):
                # Multiples of 2^-10 in [-0.5, 0.75]: w and 1 + w are both exact in F16, so
                # llama.cpp's converter, which adds Gemma's 1 in F16, stores exactly 1 + w.
                x = torch.clamp(torch.round(x * 0.3 * 1024) / 1024, -0.5, 0.75)
                if "gemma" not in type(model).__name__.lower():
                    x = x + 1.0  # Mistral: plain norms around 1
                p.copy_(x)
            else:
                p.copy_((x * 0.15).half().float())


def logits_and_greedy(model):
    ids = list(PROMPT)
    with torch.no_grad():
        last = model(input_ids=torch.tensor([ids])).logits[0, -1].float()
        out = []
        for _ in range(NEW_TOKENS):
            nxt = int(model(input_ids=torch.tensor([ids])).logits[0, -1].argmax())
            out.append(nxt)
            ids.append(nxt)
    return last.tolist(), out


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def llama_greedy(gguf):
    """llama.cpp's greedy continuation of PROMPT (token ids, no BOS added), or None."""
    port = free_port()
    server = subprocess.Popen(["llama-server", "-m", gguf, "--port", str(port), "-c", "256",
                               "-t", "1", "--no-warmup"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except Exception:
                time.sleep(0.5)
        body = json.dumps({"prompt": PROMPT, "n_predict": NEW_TOKENS, "temperature": 0,
                           "top_k": 1, "samplers": ["top_k"], "return_tokens": True,
                           "cache_prompt": False}).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{port}/completion", body,
                                     {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            tokens = json.load(r).get("tokens")
        return [int(t) for t in tokens] if tokens else None
    except Exception as e:  # llama.cpp does not run it: the reference says so
        print("llama-server failed:", e)
        return None
    finally:
        server.terminate()
        server.wait()


def make_tokenizer(out):
    text = os.path.join(out, "corpus.txt")
    words = ("the cat sat on the mat while a small dog ran past the red house and "
             "many models read long windows of text with local and global attention").split()
    with open(text, "w") as f:
        for i in range(400):
            f.write(" ".join(words[(i * 7 + j) % len(words)] for j in range(12)) + "\n")
    spm.SentencePieceTrainer.train(input=text, model_prefix=os.path.join(out, "tokenizer"),
                                   vocab_size=VOCAB, model_type="bpe", pad_id=0, eos_id=1,
                                   bos_id=2, unk_id=3, character_coverage=1.0,
                                   normalization_rule_name="identity", hard_vocab_limit=False)
    os.remove(text)
    os.remove(os.path.join(out, "tokenizer.vocab"))


def save(model, d, tokenizer):
    model.save_pretrained(d, safe_serialization=True)
    # The weights as F16 (exact: they were rounded), config unchanged.
    sd = {k: v.half().contiguous() for k, v in model.state_dict().items()}
    from safetensors.torch import save_file
    if getattr(model.config, "tie_word_embeddings", False):
        sd.pop("lm_head.weight", None)
    save_file(sd, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
    shutil.copy(tokenizer, os.path.join(d, "tokenizer.model"))


def main(out):
    os.makedirs(out, exist_ok=True)
    make_tokenizer(out)
    tokenizer = os.path.join(out, "tokenizer.model")
    refs = {"transformers": transformers.__version__, "prompt": PROMPT}
    for seed, (name, (config, cls)) in enumerate(configs().items()):
        torch.manual_seed(seed)
        model = cls(config).eval().float()
        randomize(model, 1000 + seed)
        d = os.path.join(out, name)
        save(model, d, tokenizer)
        # Eager attention: transformers' SDPA path ignores attn_logit_softcapping.
        model = cls.from_pretrained(d, dtype=torch.float32, attn_implementation="eager").eval()
        hf_logits, hf_ids = logits_and_greedy(model)
        # What the GGUF holds: query_pre_attn_scalar = head_dim (Gemma), no window (Mistral).
        tmp = os.path.join(out, name + "-for-gguf")
        shutil.copytree(d, tmp)
        with open(os.path.join(tmp, "config.json")) as f:
            cj = json.load(f)
        if "query_pre_attn_scalar" in cj:
            cj["query_pre_attn_scalar"] = cj["head_dim"]
        if name == "mistral":
            cj["sliding_window"] = None
            cj.pop("layer_types", None)
        with open(os.path.join(tmp, "config.json"), "w") as f:
            json.dump(cj, f, indent=2)
        gmodel = cls.from_pretrained(tmp, dtype=torch.float32,
                                     attn_implementation="eager").eval()
        gg_logits, gg_ids = logits_and_greedy(gmodel)
        gguf = os.path.join(out, name + "-f16.gguf")
        subprocess.run([sys.executable, CONVERTER, tmp, "--outtype", "f16", "--outfile", gguf],
                       check=True)
        shutil.rmtree(tmp)
        llama_ids = llama_greedy(gguf)
        refs[name] = {
            "hf": {"last_logits": hf_logits, "greedy": hf_ids},
            "gguf": {"last_logits": gg_logits, "greedy": gg_ids, "llama_cpp_greedy": llama_ids},
        }
        print(name, "hf greedy", hf_ids, "gguf greedy", gg_ids, "llama.cpp", llama_ids)
    os.remove(tokenizer)  # each directory has its copy
    with open(os.path.join(out, "references.json"), "w") as f:
        json.dump(refs, f)


if __name__ == "__main__":
    main(sys.argv[1])
