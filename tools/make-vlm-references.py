#!/usr/bin/env python3
r"""End-to-end vision-language references: prompts with images through the tiny checkpoints
in tests/data/mm/models, as transformers computes them (logits at the last prompt position and
16 greedy tokens). Two parts, one run:

1. ids level, for the existing tiny checkpoints (no tokenizer): writes
   tests/data/mm/models/{llava,idefics3}/vlm_logits.json. Each case lists its pictures
   (make_image(width, height, seed), the formula of tools/make-mm-references.py that the C++
   tests share), the prompt ids with each image's expansion written as the HF processor
   expands it (with the fixed ids of "token_ids": the checkpoints have no tokenizer), the
   processor outputs per image (num_image_tokens; Idefics3 rows/cols), the float32 model's
   last-position logits and the greedy ids.

2. chat level: builds tests/data/mm/models/llava_stories, a tiny random LLaVA (the vision
   tower and projector of tests/data/mm/models/llava, weights scaled as
   tools/make-vision-references.py scales them) whose text model has vocab 513: the
   stories260K tokenizer (../shared/models/stories260K-hf/tokenizer.json, 512 ids) plus the
   special token "<image>" = 512, a LLaVA-1.5-style chat template in tokenizer_config.json,
   and chat_reference.json: messages -> rendered prompt -> LlavaProcessor input_ids
   (tokenizer = PreTrainedTokenizerFast over the directory's tokenizer.json, see
   docs/multimodal.md "Tokenizer, not expansion") -> last logits and greedy ids. The word
   embeddings are tied (text_config.tie_word_embeddings = true) to keep the directory small.

Pixel values come from the family's PIL-backend image processor class
(LlavaImageProcessorPil / Idefics3ImageProcessorPil) loaded from the checkpoint directory.
Greedy ids: model.generate(do_sample=False, max_new_tokens=16, min_new_tokens=16) with the
generation config's eos_token_id set to None, so eos neither stops generation nor is
suppressed by min_new_tokens (which would mask eos's logit); the ids are checked against a
plain argmax loop over full forwards.

Runs where transformers (5.x), torch and Pillow are installed: the peer chroot that
`../shared/tools/peer/setup-peer.sh --transformers` builds. No network is needed. About a
minute:

    R=/opt/peer-sid; W=$R/tmp/vlmref; rm -rf $W; mkdir -p $W
    cp tools/make-vlm-references.py tools/make-mm-references.py tools/make-vision-references.py $W/
    cp -r tests/data/mm/models ../shared/models/stories260K-hf $W/
    chroot $R python3 /tmp/vlmref/make-vlm-references.py --models /tmp/vlmref/models \
        --tokenizer /tmp/vlmref/stories260K-hf/tokenizer.json
    for f in llava idefics3; do cp $W/models/$f/vlm_logits.json tests/data/mm/models/$f/; done
    rm -rf tests/data/mm/models/llava_stories
    cp -r $W/models/llava_stories tests/data/mm/models/ && rm -rf $W
"""

import argparse
import copy
import importlib.util
import json
import os

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
N_NEW = 16

# Fixed ids of the processor's special strings for the tokenizer-less tiny checkpoints.
TOKEN_IDS = {
    "image": 127,                   # <image> (config image_token_index / image_token_id)
    "fake_token_around_image": 126,  # <fake_token_around_image>
    "global_img": 125,               # <global-img>
    "newline": 13,                   # "\n"
    "row_col_base": 100,             # <row_r_col_c> = 100 + (r-1)*cols + (c-1), r, c 1-based
}


def load_module(name, file):
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, file))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def write_json(path, obj, indent=None):
    with open(path, "w") as f:
        if indent is None:
            json.dump(obj, f, separators=(",", ":"))
        else:
            json.dump(obj, f, indent=indent)
        f.write("\n")


def pil(make_image, w, h, s):
    from PIL import Image
    return Image.fromarray(make_image(w, h, s))


def f32(v):
    """A float32 value as the shortest decimal that reads back to the same float32."""
    return float(np.format_float_positional(np.float32(v), unique=True, trim="-")) if np.isfinite(v) else None


def greedy(model, inputs, prompt_len, per_token=()):
    """generate() with eos disabled, checked against an argmax loop over full forwards.
    `per_token` names inputs with one entry per token besides input_ids (Qwen2.5-VL's
    mm_token_type_ids): the loop appends a 0 to each for every generated (text) token.
    Returns the ids, the smallest top-1 minus top-2 logit gap over the 16 steps and the
    logits of the loop's last step (the prompt and 15 generated tokens)."""
    gen_cfg = copy.deepcopy(model.generation_config)
    gen_cfg.eos_token_id = None
    gen_cfg.do_sample = False
    gen_cfg.max_new_tokens = N_NEW
    gen_cfg.min_new_tokens = N_NEW
    with torch.no_grad():
        out = model.generate(**inputs, generation_config=gen_cfg)
    ids = out[0, prompt_len:].tolist()
    assert len(ids) == N_NEW, ids
    grown = {k: inputs[k] for k in ("input_ids",) + tuple(per_token)}
    loop, gap, last = [], float("inf"), None
    with torch.no_grad():
        for _ in range(N_NEW):
            kw = dict(inputs)
            kw.update(grown)
            kw.pop("attention_mask", None)
            last = model(**kw).logits[0, -1]
            top = torch.topk(last, 2).values
            gap = min(gap, float(top[0] - top[1]))
            nxt = int(last.argmax())
            loop.append(nxt)
            grown["input_ids"] = torch.cat([grown["input_ids"], torch.tensor([[nxt]])], dim=1)
            for k in per_token:
                grown[k] = torch.cat([grown[k], torch.zeros((1, 1), dtype=grown[k].dtype)], dim=1)
    assert loop == ids, (loop, ids)
    return ids, gap, last


def image_effect(model, input_ids, pv, logits):
    """max |logits - logits with the pixel values negated|: how much the pictures matter."""
    with torch.no_grad():
        other = model(input_ids=input_ids, pixel_values=-pv).logits[0, -1]
    return float((other - logits).abs().max())


def check_merge(model, input_ids, image_token_id, feats, logits):
    """The model's own merge: one feature row per image token id, in order. Re-running the
    forward with the features scattered by hand into the text embeddings must give the same
    logits."""
    n = int((input_ids == image_token_id).sum())
    assert n == feats.shape[0], (n, feats.shape)
    with torch.no_grad():
        emb = model.get_input_embeddings()(input_ids).clone()
        emb[0, (input_ids[0] == image_token_id)] = feats.to(emb.dtype)
        ref = model(inputs_embeds=emb).logits[0, -1]
    d = float((ref - logits).abs().max())
    assert d < 1e-5, d
    return n


# -- part 1: ids-level references ------------------------------------------------------------

def llava_ids(d, make_image):
    import transformers
    from transformers import LlavaImageProcessorPil

    pre_cfg = json.load(open(os.path.join(d, "processor_config.json")))
    model = transformers.AutoModelForImageTextToText.from_pretrained(d, torch_dtype=torch.float32).eval()
    cfg = model.config
    proc = LlavaImageProcessorPil.from_pretrained(d)
    img_tok = cfg.image_token_index
    assert img_tok == TOKEN_IDS["image"]

    def num_tokens(pv):  # LlavaProcessor's count
        h, w = pv.shape[-2:]
        n = (h // pre_cfg["patch_size"]) * (w // pre_cfg["patch_size"]) + pre_cfg["num_additional_image_tokens"]
        return n - 1 if pre_cfg["vision_feature_select_strategy"] == "default" else n

    cases = []
    for name, pics, texts in [
        ("one_image", [(45, 29, 3)], [[1, 17, 42], [99, 3, 64, 5]]),
        ("two_images", [(45, 29, 3), (29, 45, 7)], [[1, 17, 42], [7, 33, 88], [99, 3, 64, 5]]),
    ]:
        res = proc([pil(make_image, *p) for p in pics], return_tensors="np")
        pv = torch.from_numpy(np.asarray(res["pixel_values"], dtype=np.float32))
        images, ids = [], list(texts[0])
        for i, (w, h, s) in enumerate(pics):
            n = num_tokens(pv[i])
            images.append({"width": w, "height": h, "seed": s, "num_image_tokens": n,
                           "pixel_shape": list(pv[i].shape)})
            ids += [img_tok] * n + texts[i + 1]
        input_ids = torch.tensor([ids])
        with torch.no_grad():
            logits = model(input_ids=input_ids, pixel_values=pv).logits[0, -1]
            feats = torch.cat(list(model.get_image_features(
                pixel_values=pv, vision_feature_layer=cfg.vision_feature_layer,
                vision_feature_select_strategy=cfg.vision_feature_select_strategy).pooler_output), dim=0)
        n = check_merge(model, input_ids, img_tok, feats, logits)
        assert n == sum(im["num_image_tokens"] for im in images)
        gen, gap, _ = greedy(model, {"input_ids": input_ids, "pixel_values": pv}, len(ids))
        cases.append({"name": name, "images": images, "input_ids": ids,
                      "last_logits": [f32(v) for v in logits.tolist()], "greedy_ids": gen, "greedy_min_gap": gap,
                      "image_effect": image_effect(model, input_ids, pv, logits)})
        print("llava", name, "tokens", [im["num_image_tokens"] for im in images], "greedy", gen,
              "gap", gap, "image effect", cases[-1]["image_effect"])
    return cases


def idefics3_expansion(rows, cols, seq_len):
    """Idefics3Processor's image string, as ids (TOKEN_IDS)."""
    t = TOKEN_IDS
    img = [t["image"]] * seq_len
    if rows == 0 and cols == 0:
        return [t["fake_token_around_image"], t["global_img"]] + img + [t["fake_token_around_image"]]
    out = []
    for r in range(1, rows + 1):
        for c in range(1, cols + 1):
            out += [t["fake_token_around_image"], t["row_col_base"] + (r - 1) * cols + (c - 1)] + img
        out.append(t["newline"])
    out += [t["newline"], t["fake_token_around_image"], t["global_img"]] + img + [t["fake_token_around_image"]]
    return out


def idefics3_ids(d, make_image):
    import transformers
    from transformers import Idefics3ImageProcessorPil

    seq_len = json.load(open(os.path.join(d, "processor_config.json")))["image_seq_len"]
    model = transformers.AutoModelForImageTextToText.from_pretrained(d, torch_dtype=torch.float32).eval()
    img_tok = model.config.image_token_id
    assert img_tok == TOKEN_IDS["image"]
    proc = Idefics3ImageProcessorPil.from_pretrained(d)
    cases = []
    # The checkpoint's processor resizes every picture's longest edge up or down to
    # size.longest_edge = 64 > max_image_size = 32, so with its own settings every picture is
    # split; the unsplit case passes do_image_splitting=False to the image processor (what
    # Idefics3Processor's images_kwargs do).
    for name, (w, h, s), kwargs in [("split", (70, 30, 5), {}),
                                    ("unsplit", (20, 13, 9), {"do_image_splitting": False})]:
        res = proc(pil(make_image, w, h, s), return_tensors="np", return_row_col_info=True, **kwargs)
        pv = torch.from_numpy(np.asarray(res["pixel_values"], dtype=np.float32))  # (1, frames, 3, S, S)
        rows = int(np.asarray(res["rows"]).reshape(-1)[0])
        cols = int(np.asarray(res["cols"]).reshape(-1)[0])
        assert pv.shape[1] == (rows * cols + 1 if rows * cols else 1), (pv.shape, rows, cols)
        exp = idefics3_expansion(rows, cols, seq_len)
        n = exp.count(img_tok)
        ids = [1, 17, 42] + exp + [99, 3, 64, 5]
        input_ids = torch.tensor([ids])
        with torch.no_grad():
            logits = model(input_ids=input_ids, pixel_values=pv).logits[0, -1]
            feats = model.get_image_features(pixel_values=pv).pooler_output.reshape(-1, model.config.text_config.hidden_size)
        assert check_merge(model, input_ids, img_tok, feats, logits) == n == pv.shape[1] * seq_len
        gen, gap, _ = greedy(model, {"input_ids": input_ids, "pixel_values": pv}, len(ids))
        case = {"name": name, "images": [{"width": w, "height": h, "seed": s, "rows": rows, "cols": cols,
                                          "num_image_tokens": n, "pixel_shape": list(pv.shape[1:])}],
                "input_ids": ids, "last_logits": [f32(v) for v in logits.tolist()], "greedy_ids": gen,
                "greedy_min_gap": gap, "image_effect": image_effect(model, input_ids, pv, logits)}
        if kwargs:
            case["image_processor_kwargs"] = kwargs
        cases.append(case)
        print("idefics3", name, "rows", rows, "cols", cols, "tokens", n, "greedy", gen,
              "gap", gap, "image effect", case["image_effect"])
    return cases


# -- part 2: llava_stories ---------------------------------------------------------------------

CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% if message['role'] == 'user' %}{{ 'USER: ' }}{% else %}{{ 'ASSISTANT: ' }}{% endif %}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}{{ '<image>\n' }}"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}"
    "{% if message['role'] == 'user' %}{{ ' ' }}{% else %}{{ eos_token }}{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}"
)


def build_llava_stories(models, tokenizer_json, vis, seed=55, name="llava_stories"):
    from tokenizers import AddedToken, Tokenizer
    from transformers import CLIPVisionConfig, LlavaConfig, LlavaForConditionalGeneration
    from transformers import GenerationConfig

    src = os.path.join(models, "llava")
    base = json.load(open(os.path.join(src, "config.json")))
    d = os.path.join(models, name)
    os.makedirs(d, exist_ok=True)

    tok = Tokenizer.from_file(tokenizer_json)
    assert tok.get_vocab_size() == 512
    tok.add_special_tokens([AddedToken("<image>", special=True, normalized=False)])
    image_id = tok.token_to_id("<image>")
    assert image_id == 512
    tok.save(os.path.join(d, "tokenizer.json"), pretty=False)

    text = vis.tiny_llama()
    text.vocab_size = 513
    text.tie_word_embeddings = True
    vc = {k: base["vision_config"][k] for k in ("hidden_size", "intermediate_size", "num_hidden_layers",
                                                "num_attention_heads", "image_size", "patch_size",
                                                "hidden_act", "layer_norm_eps")}
    torch.manual_seed(seed)
    cfg = LlavaConfig(vision_config=CLIPVisionConfig(**vc), text_config=text, image_token_index=image_id,
                      vision_feature_layer=base["vision_feature_layer"],
                      vision_feature_select_strategy=base["vision_feature_select_strategy"],
                      projector_hidden_act=base["projector_hidden_act"],
                      multimodal_projector_bias=base["multimodal_projector_bias"],
                      image_seq_length=base["image_seq_length"], tie_word_embeddings=True)
    model = LlavaForConditionalGeneration(cfg).eval()
    vis.randomize(model, seed)
    assert model.lm_head.weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()
    model.generation_config = GenerationConfig(bos_token_id=1, eos_token_id=2, pad_token_id=0)
    model.save_pretrained(d)
    for f in ("preprocessor_config.json", "processor_config.json"):
        with open(os.path.join(src, f)) as a, open(os.path.join(d, f), "w") as b:
            b.write(a.read())

    specials = {0: "<unk>", 1: "<s>", 2: "</s>", 512: "<image>"}
    tcfg = {
        "add_bos_token": True, "add_eos_token": False,
        "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": None,
        "clean_up_tokenization_spaces": False, "model_max_length": 512,
        "tokenizer_class": "PreTrainedTokenizerFast",
        "added_tokens_decoder": {str(i): {"content": c, "lstrip": False, "normalized": False, "rstrip": False,
                                          "single_word": False, "special": True} for i, c in specials.items()},
        "chat_template": CHAT_TEMPLATE,
    }
    write_json(os.path.join(d, "tokenizer_config.json"), tcfg, indent=2)
    return d


def chat_case(model, processor, tokenizer, messages, pics, make_image):
    images = [pil(make_image, *p) for p in pics]
    prompt = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    assert prompt == tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    # The template writes BOS itself, so the rendered text is tokenized without adding special
    # tokens (what processor.apply_chat_template(tokenize=True) does; checked below).
    res = processor(text=[prompt], images=images, add_special_tokens=False, return_tensors="pt")
    input_ids, pv = res["input_ids"], res["pixel_values"]
    # the same through the processor's own chat path, with the pictures inside the messages
    msgs_img = copy.deepcopy(messages)
    it = iter(images)
    for m in msgs_img:
        for part in m["content"] if isinstance(m["content"], list) else []:
            if part["type"] == "image":
                part["image"] = next(it)
    res2 = processor.apply_chat_template(msgs_img, add_generation_prompt=True, tokenize=True,
                                         return_dict=True, return_tensors="pt")
    assert res2["input_ids"].tolist() == input_ids.tolist(), (res2["input_ids"].tolist(), input_ids.tolist())
    assert torch.equal(res2["pixel_values"], pv)
    ids = input_ids[0].tolist()
    assert ids[0] == 1 and ids[1] != 1, ids[:3]
    cfg = model.config
    with torch.no_grad():
        logits = model(input_ids=input_ids, pixel_values=pv).logits[0, -1]
        feats = torch.cat(list(model.get_image_features(
            pixel_values=pv, vision_feature_layer=cfg.vision_feature_layer,
            vision_feature_select_strategy=cfg.vision_feature_select_strategy).pooler_output), dim=0)
    per_image = (pv.shape[-2] // processor.patch_size) * (pv.shape[-1] // processor.patch_size)
    n = check_merge(model, input_ids, cfg.image_token_index, feats, logits)
    assert n == per_image * len(images), (n, per_image)
    gen, gap, _ = greedy(model, {"input_ids": input_ids, "pixel_values": pv}, len(ids))
    return {"messages": messages,
            "images": [{"width": w, "height": h, "seed": s, "num_image_tokens": per_image} for (w, h, s) in pics],
            "prompt": prompt, "input_ids": ids, "last_logits": [f32(v) for v in logits.tolist()],
            "greedy_ids": gen, "greedy_min_gap": gap, "greedy_text": tokenizer.decode(gen),
            "image_effect": image_effect(model, input_ids, pv, logits)}


def llava_stories_reference(d, make_image):
    import transformers
    from transformers import LlavaImageProcessorPil, LlavaProcessor, PreTrainedTokenizerFast

    model = transformers.AutoModelForImageTextToText.from_pretrained(d, torch_dtype=torch.float32).eval()
    assert model.lm_head.weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()
    tcfg = json.load(open(os.path.join(d, "tokenizer_config.json")))
    tokenizer = PreTrainedTokenizerFast(tokenizer_file=os.path.join(d, "tokenizer.json"), bos_token="<s>",
                                        eos_token="</s>", unk_token="<unk>",
                                        chat_template=tcfg["chat_template"])
    assert tokenizer.convert_tokens_to_ids("<image>") == 512 and len(tokenizer) == 513
    pcfg = json.load(open(os.path.join(d, "processor_config.json")))
    processor = LlavaProcessor(image_processor=LlavaImageProcessorPil.from_pretrained(d), tokenizer=tokenizer,
                               chat_template=tcfg["chat_template"], **pcfg)
    cases = []
    one = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Once upon a time"}]}]
    c = chat_case(model, processor, tokenizer, one, [(45, 29, 3)], make_image)
    c["name"] = "one_turn"
    cases.append(c)
    two = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Once upon a time"}]},
           {"role": "assistant", "content": [{"type": "text", "text": "there was a little girl."}]},
           {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What did she see?"}]}]
    c = chat_case(model, processor, tokenizer, two, [(45, 29, 3), (29, 45, 7)], make_image)
    c["name"] = "two_turns"
    cases.append(c)
    for c in cases:
        print("llava_stories", c["name"], repr(c["prompt"]))
        print("   ids", c["input_ids"])
        print("   greedy", c["greedy_ids"], repr(c["greedy_text"]), "gap", c["greedy_min_gap"],
              "image effect", c["image_effect"])
    return {"tokenizer": "PreTrainedTokenizerFast(tokenizer_file=tokenizer.json), add_special_tokens=False "
                         "(the template writes BOS)",
            "image_token": "<image>", "image_token_id": 512, "cases": cases}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", required=True, help="a copy of tests/data/mm/models (written into)")
    ap.add_argument("--tokenizer", required=True, help="stories260K-hf/tokenizer.json")
    args = ap.parse_args()
    torch.set_num_threads(2)
    import transformers
    make_image = load_module("mmref", "make-mm-references.py").make_image
    vis = load_module("visref", "make-vision-references.py")
    note = ("greedy_ids: generate(do_sample=False, max_new_tokens=16, min_new_tokens=16) with "
            "generation_config.eos_token_id = None (no stop, no eos suppression); equals an argmax loop")
    for name, fn in (("llava", llava_ids), ("idefics3", idefics3_ids)):
        d = os.path.join(args.models, name)
        cases = fn(d, make_image)
        write_json(os.path.join(d, "vlm_logits.json"),
                   {"family": name, "transformers": transformers.__version__, "token_ids": TOKEN_IDS,
                    "greedy": note, "cases": cases})
    d = build_llava_stories(args.models, args.tokenizer, vis)
    ref = llava_stories_reference(d, make_image)
    ref["transformers"] = transformers.__version__
    ref["greedy"] = note
    write_json(os.path.join(d, "chat_reference.json"), ref)
    print(d, sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d)), "bytes:",
          {f: os.path.getsize(os.path.join(d, f)) for f in sorted(os.listdir(d))})


if __name__ == "__main__":
    main()
