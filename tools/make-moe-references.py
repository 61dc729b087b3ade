#!/usr/bin/env python3
"""Tiny random-weight mixture-of-experts checkpoints and their transformers references, for
tests/engine/moe_reference_test.cpp: a Mixtral (8 experts, top-2) and a Qwen3-MoE (16
experts, top-4, norm_topk_prob, layer 1 dense through mlp_only_layers; llama.cpp's converter
cannot map a dense layer of qwen3moe, so qwen3moe-sparse, every layer sparse, is the one
converted to GGUF) with hidden size 64.
Every weight is rounded to an f16 value first, so the f16 GGUF conversion holds exactly the
weights transformers ran. Writes, per model, the HF directory (config.json,
model.safetensors as save_pretrained writes it in f16: one 2-D tensor per expert, the 256-byte BPE tokenizer of
tests/data/embedding/qwen3-tiny plus one merge, which llama.cpp requires), reference.json (the fixed prompt's ids, the last position's
logits and 8 greedy ids) and the GGUF conversions <name>-f16.gguf and <name>-q8_0.gguf made
with llama.cpp's converter, and llama-server's 8 greedy ids for each GGUF
(llama_greedy.json; top_k 1 over the same prompt ids).

Runs in the peer chroot (transformers 5.12, torch, llama.cpp's converter):

    R=/opt/peer-sid; W=$R/tmp/moe; rm -rf $W; mkdir -p $W
    cp tools/make-moe-references.py $W/; cp -r tests/data/embedding/qwen3-tiny $W/tok
    chroot $R python3 /tmp/moe/make-moe-references.py /tmp/moe/tok /tmp/moe/out
    cp -r $W/out/* tests/data/moe/
"""
import json
import os
import shutil
import subprocess
import sys

import torch
import transformers

IDS = [1, 17, 42, 99, 3, 64, 5, 120, 7, 33, 2, 88]
NUM_GREEDY = 8

CONVERTER = "/usr/share/doc/llama.cpp-tools/scripts/convert_hf_to_gguf.py"
# The tiny tokenizer's pre-tokenizer hash is unknown to the converter: name it qwen2's.
CONVERT_AS_QWEN2 = f"""
import runpy, sys
sys.path.insert(1, '/usr/share/llama.cpp/llama.cpp-tools')
import conversion.base
conversion.base.TextModel.get_vocab_base_pre = lambda self, tokenizer: 'qwen2'
sys.argv = ['convert_hf_to_gguf.py'] + sys.argv[1:]
runpy.run_path('{CONVERTER}', run_name='__main__')
"""

COMMON = dict(vocab_size=260, hidden_size=64, num_attention_heads=4, num_key_value_heads=2,
              head_dim=16, max_position_embeddings=512, rms_norm_eps=1e-6, bos_token_id=256,
              eos_token_id=256, tie_word_embeddings=False)


def models():
    mixtral = transformers.MixtralConfig(
        intermediate_size=32, num_hidden_layers=2, num_local_experts=8, num_experts_per_tok=2,
        rope_theta=10000.0, **COMMON)
    qwen3moe = transformers.Qwen3MoeConfig(
        intermediate_size=64, moe_intermediate_size=32, num_hidden_layers=3, num_experts=16,
        num_experts_per_tok=4, norm_topk_prob=True, decoder_sparse_step=1, mlp_only_layers=[1],
        rope_theta=1000000.0, **COMMON)
    sparse = transformers.Qwen3MoeConfig(
        intermediate_size=64, moe_intermediate_size=32, num_hidden_layers=2, num_experts=16,
        num_experts_per_tok=4, norm_topk_prob=True, decoder_sparse_step=1, mlp_only_layers=[],
        rope_theta=1000000.0, **COMMON)
    return [("mixtral", mixtral, transformers.MixtralForCausalLM, True),
            ("qwen3moe", qwen3moe, transformers.Qwen3MoeForCausalLM, False),
            ("qwen3moe-sparse", sparse, transformers.Qwen3MoeForCausalLM, True)]


def greedy(model, ids):
    ids = list(ids)
    out = []
    with torch.no_grad():
        for _ in range(NUM_GREEDY):
            logits = model(input_ids=torch.tensor([ids])).logits[0, -1]
            nxt = int(torch.argmax(logits))
            out.append(nxt)
            ids.append(nxt)
    return out


def main(tok_dir, out):
    os.makedirs(out, exist_ok=True)
    for name, config, cls, to_gguf in models():
        torch.manual_seed(1234)
        model = cls(config).to(torch.float32)
        with torch.no_grad():
            for p in model.parameters():
                # std 0.02 weights make near-uniform logits; 0.2 gives routing and logits spread
                p.copy_((torch.randn_like(p) * (0.2 if p.dim() > 1 else 0.1) +
                         (1.0 if p.dim() == 1 else 0.0)).half().float())
        model.eval()
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        shutil.copy(os.path.join(tok_dir, "tokenizer_config.json"), d)
        with open(os.path.join(tok_dir, "tokenizer.json")) as f:
            tok = json.load(f)
        # llama.cpp refuses a BPE vocabulary without merges: one merge, into the free id 259.
        tok["model"]["vocab"]["\u0120t"] = 259
        tok["model"]["merges"] = [["\u0120", "t"]]
        with open(os.path.join(d, "tokenizer.json"), "w") as f:
            json.dump(tok, f, ensure_ascii=False)
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([IDS])).logits[0, -1]
        ref = {"transformers": transformers.__version__, "torch": torch.__version__,
               "input_ids": IDS, "last_logits": logits.tolist(), "greedy": greedy(model, IDS)}
        # Saved after the references: half() also rounds the RoPE inv_freq buffer.
        model.half().save_pretrained(d, safe_serialization=True)
        with open(os.path.join(d, "reference.json"), "w") as f:
            json.dump(ref, f)
        for outtype in ("f16", "q8_0") if to_gguf else ():
            subprocess.run([sys.executable, "-c", CONVERT_AS_QWEN2, d, "--outtype", outtype,
                            "--outfile", os.path.join(out, f"{name}-{outtype}.gguf")],
                           check=True)
        print(name, ref["greedy"])
    greedy_ids = {}
    for i, gguf in enumerate(sorted(f for f in os.listdir(out) if f.endswith(".gguf"))):
        greedy_ids[gguf] = llama_greedy(os.path.join(out, gguf), 18480 + i)
        print(gguf, greedy_ids[gguf])
    with open(os.path.join(out, "llama_greedy.json"), "w") as f:
        json.dump(greedy_ids, f, indent=1)


def llama_greedy(gguf, port):
    """llama-server's greedy continuation of IDS (no BOS is added to a list of ids)."""
    import time
    import urllib.request
    server = subprocess.Popen(["llama-server", "-m", gguf, "--port", str(port), "-c", "256",
                               "-np", "1", "--no-warmup"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health")
                break
            except Exception:
                time.sleep(0.5)
        body = {"prompt": IDS, "n_predict": NUM_GREEDY, "samplers": ["top_k"], "top_k": 1,
                "return_tokens": True, "cache_prompt": False, "ignore_eos": True}
        req = urllib.request.Request(f"http://127.0.0.1:{port}/completion",
                                     data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req) as r:
            return json.load(r)["tokens"]
    finally:
        server.kill()
        server.wait()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
