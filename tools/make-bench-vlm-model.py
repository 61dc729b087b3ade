#!/usr/bin/env python3
r"""A random SmolVLM-256M-shaped checkpoint for the image serving benchmark (tools/bench-vlm,
tools/bench-vlm-compare; docs/benchmarks.md "Serving images"), plus its llama.cpp GGUFs.

Writes an Idefics3ForConditionalGeneration directory (model_type "idefics3", the type
SmolVLM-256M-Instruct ships; llama.cpp's converter maps Idefics3ForConditionalGeneration and
SmolVLMForConditionalGeneration to the same SmolVLMModel mmproj class and converts the text
model as "llama" through text_config.architectures = ["LlamaForCausalLM"]):

- vision: SigLIP-base-like Idefics3VisionTransformer, hidden 768, 12 layers, 12 heads,
  intermediate 3072, image_size 512, patch 16 (1024 patches), gelu_pytorch_tanh, eps 1e-6;
  connector: pixel shuffle with scale_factor 4 -> 64 tokens per 512x512 frame, projected
  to 576.
- text: SmolLM2-135M-like Llama, hidden 576, 30 layers, 9 heads, 3 kv heads, head_dim 64,
  intermediate 1536, rope_theta 100000, rms_norm_eps 1e-5, 8192 positions, tied
  embeddings; vocab_size = the tokenizer's size (50297).
- tokenizer: GPT-2's tokenizer.json (../shared/tokenizers/gpt2, 50257 ids; llama.cpp's
  converter recognises its pre-tokenizer as "gpt-2") plus the special tokens
  <fake_token_around_image> 50257, <image> 50258, <global-img> 50259,
  <end_of_utterance> 50260 and <row_r_col_c> for r, c in 1..6 (50261..50296), as
  SmolVLM's tokenizer has them. BOS <|endoftext|>, EOS <end_of_utterance>; the chat
  template writes BOS itself (add_bos_token false), SmolVLM's style:
  "<|endoftext|>User:<image>text<end_of_utterance>\nAssistant:". Image parts
  ({"type": "image"} / "image_url") render as "<image>"; string contents (llama-server's
  media markers arrive inside text) render as they are.
- processor: Idefics3ImageProcessor with size.longest_edge = max_image_size.longest_edge =
  512 and do_image_splitting false, resample 1 (LANCZOS), mean/std 0.5; processor_config
  image_seq_len 64. In transformers and actorlm one image is one 512x512 frame = 64 <image>
  tokens (a picture no larger than max_image_size is not split even with splitting on).
  llama.cpp 0.7.0 differs: its Idefics3 preprocessor (mtmd_image_preprocessor_idefics3)
  always emits the 512x512 overview plus the grid's slices, the grid being
  ceil(refined / 512) per side with the longest edge resized to
  clip.vision.preproc_image_size (= size.longest_edge = 512 here), so a 512x512 picture
  is 1 slice + overview = 2 frames = 128 image embeddings (llama-server's prompt for
  tools/bench-vlm's request: 147 tokens; actorlm's: 79). No setting gives llama.cpp one
  frame, so the peer encodes twice the pixels per picture; report per-picture figures
  with that note.
- weights: transformers' own initialisation (normal, std 0.02) under torch.manual_seed(seed),
  stored as bfloat16 (SmolVLM's dtype) in model.safetensors (~0.45 GB).

Then (unless --no-convert) converts with llama.cpp's converter from the same directory:
  <gguf-dir>/bench-smolvlm.gguf          text model, --outtype f16
  <gguf-dir>/mmproj-bench-smolvlm.gguf   vision tower + connector, --mmproj --outtype f16
(f16 rather than q8_0 so both engines run 16-bit float weights: actorlm serves the bf16
directory).

Runs in the peer chroot (transformers 5.12, torch, llama.cpp 0.7.0's converter); no network.
About 1 minute on the 2-core VM (measured 66 s). From the repository root, as root:

    R=/opt/peer-sid; W=$R/tmp/benchvlm; rm -rf $W; mkdir -p $W
    cp tools/make-bench-vlm-model.py $W/ && cp -r ../shared/tokenizers/gpt2 $W/
    chroot $R python3 /tmp/benchvlm/make-bench-vlm-model.py --tokenizer /tmp/benchvlm/gpt2 \
        --out /tmp/benchvlm/bench-smolvlm --gguf-dir /tmp/benchvlm
    mkdir -p /work/models && rm -rf /work/models/bench-smolvlm
    mv $W/bench-smolvlm $W/bench-smolvlm.gguf $W/mmproj-bench-smolvlm.gguf /work/models/
    rm -rf $W
"""

import argparse
import json
import os
import subprocess
import sys

import torch

CONVERTER = "/usr/share/doc/llama.cpp-tools/scripts/convert_hf_to_gguf.py"

CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% if message['role'] == 'user' %}{{ 'User' }}"
    "{% elif message['role'] == 'system' %}{{ 'System' }}"
    "{% else %}{{ 'Assistant' }}{% endif %}"
    "{% if message['content'] is string %}{{ ': ' + message['content'] }}"
    "{% else %}"
    "{% if message['content'][0]['type'] == 'image' or message['content'][0]['type'] == 'image_url' %}"
    "{{ ':' }}{% else %}{{ ': ' }}{% endif %}"
    "{% for part in message['content'] %}"
    "{% if part['type'] == 'text' %}{{ part['text'] }}"
    "{% elif part['type'] == 'image' or part['type'] == 'image_url' %}{{ '<image>' }}{% endif %}"
    "{% endfor %}"
    "{% endif %}"
    "{{ '<end_of_utterance>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"
)

SPECIALS = (["<fake_token_around_image>", "<image>", "<global-img>", "<end_of_utterance>"] +
            [f"<row_{r}_col_{c}>" for r in range(1, 7) for c in range(1, 7)])


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def build_tokenizer(src, out):
    from tokenizers import AddedToken, Tokenizer

    tok = Tokenizer.from_file(os.path.join(src, "tokenizer.json"))
    base = tok.get_vocab_size()
    assert base == 50257, base
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in SPECIALS])
    ids = {s: tok.token_to_id(s) for s in SPECIALS}
    assert [ids[s] for s in SPECIALS] == list(range(base, base + len(SPECIALS))), ids
    tok.save(os.path.join(out, "tokenizer.json"), pretty=False)
    specials = {50256: "<|endoftext|>", **{ids[s]: s for s in SPECIALS}}
    write_json(os.path.join(out, "tokenizer_config.json"), {
        "add_bos_token": False, "add_eos_token": False, "add_prefix_space": False,
        "bos_token": "<|endoftext|>", "eos_token": "<end_of_utterance>",
        "unk_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
        "clean_up_tokenization_spaces": False, "model_max_length": 8192,
        "tokenizer_class": "PreTrainedTokenizerFast",
        "extra_special_tokens": {"fake_image_token": "<fake_token_around_image>",
                                 "image_token": "<image>",
                                 "end_of_utterance_token": "<end_of_utterance>",
                                 "global_image_token": "<global-img>"},
        "added_tokens_decoder": {str(i): {"content": c, "lstrip": False, "normalized": False,
                                          "rstrip": False, "single_word": False, "special": True}
                                 for i, c in sorted(specials.items())},
        "chat_template": CHAT_TEMPLATE,
    })
    return base + len(SPECIALS), ids


def build_model(out, vocab, ids, seed):
    from transformers import GenerationConfig, Idefics3Config, Idefics3ForConditionalGeneration
    from transformers import LlamaConfig
    from transformers.models.idefics3.configuration_idefics3 import Idefics3VisionConfig

    vision = Idefics3VisionConfig(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                                  num_attention_heads=12, image_size=512, patch_size=16,
                                  hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6)
    text = LlamaConfig(vocab_size=vocab, hidden_size=576, intermediate_size=1536,
                       num_hidden_layers=30, num_attention_heads=9, num_key_value_heads=3,
                       head_dim=64, max_position_embeddings=8192, rms_norm_eps=1e-5,
                       rope_parameters={"rope_type": "default", "rope_theta": 100000.0},
                       tie_word_embeddings=True, bos_token_id=50256,
                       eos_token_id=ids["<end_of_utterance>"], pad_token_id=50256)
    cfg = Idefics3Config(vision_config=vision, text_config=text, scale_factor=4,
                         image_token_id=ids["<image>"], pad_token_id=50256,
                         tie_word_embeddings=True)
    torch.manual_seed(seed)
    model = Idefics3ForConditionalGeneration(cfg).eval().to(torch.bfloat16)
    assert model.lm_head.weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()
    model.generation_config = GenerationConfig(bos_token_id=50256, eos_token_id=ids["<end_of_utterance>"],
                                               pad_token_id=50256)
    model.save_pretrained(out)
    n = sum(p.numel() for p in model.parameters())
    # llama.cpp's converter picks the text model's class from text_config.architectures.
    path = os.path.join(out, "config.json")
    c = json.load(open(path))
    c["text_config"]["architectures"] = ["LlamaForCausalLM"]
    write_json(path, c)
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tokenizer", required=True, help="directory with GPT-2's tokenizer.json")
    ap.add_argument("--out", required=True, help="the checkpoint directory to write")
    ap.add_argument("--gguf-dir", help="where the GGUFs go (default: the parent of --out)")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--no-convert", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(2)
    os.makedirs(args.out, exist_ok=True)
    vocab, ids = build_tokenizer(args.tokenizer, args.out)
    n = build_model(args.out, vocab, ids, args.seed)
    write_json(os.path.join(args.out, "preprocessor_config.json"), {
        "image_processor_type": "Idefics3ImageProcessor", "processor_class": "Idefics3Processor",
        "do_convert_rgb": True, "do_resize": True, "size": {"longest_edge": 512},
        "resample": 1, "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
        "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "do_pad": True,
        "do_image_splitting": False, "max_image_size": {"longest_edge": 512}})
    write_json(os.path.join(args.out, "processor_config.json"),
               {"processor_class": "Idefics3Processor", "image_seq_len": 64})
    print(f"wrote {args.out}: {n / 1e6:.1f}M parameters, vocab {vocab}, <image> = {ids['<image>']}")

    # The processor's view, as a check: one 512x512 picture -> one frame, 64 <image> tokens.
    from PIL import Image
    from transformers import Idefics3Processor
    proc = Idefics3Processor.from_pretrained(args.out)
    msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Describe."}]}]
    prompt = proc.tokenizer.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
    res = proc(text=[prompt], images=[[Image.new("RGB", (512, 512), (90, 120, 200))]],
               add_special_tokens=False, return_tensors="pt")
    n_img = int((res["input_ids"][0] == ids["<image>"]).sum())
    print("prompt", repr(prompt), "ids", res["input_ids"].shape[1], "image tokens", n_img,
          "pixel_values", tuple(res["pixel_values"].shape))
    assert n_img == 64 and tuple(res["pixel_values"].shape[1:]) == (1, 3, 512, 512)

    if args.no_convert:
        return
    gdir = args.gguf_dir or os.path.dirname(os.path.abspath(args.out))
    for extra, name in (([], "bench-smolvlm.gguf"), (["--mmproj"], "mmproj-bench-smolvlm.gguf")):
        cmd = [sys.executable, CONVERTER, args.out, "--outtype", "f16",
               "--outfile", os.path.join(gdir, name)] + extra
        print("+", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main()
