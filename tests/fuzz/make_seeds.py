#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (tests/fuzz/corpus/<target>/), each seed a few
hundred bytes: GGUF and safetensors files built field by field, PNG and GIF images,
tokenizers cut down from ../shared/tokenizers (when present) to a few hundred tokens,
chat templates, structured-output specs and actor messages. Run from anywhere; it
overwrites the generated seeds and leaves the rest (regressions, JPEG/WebP) alone.
The JPEG and WebP seeds were encoded once with libjpeg-turbo and libwebp (4x4 to 9x7
pixels, one with an EXIF orientation) and are kept as files."""
import json
import os
import struct
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
SHARED = os.path.join(HERE, "..", "..", "..", "shared", "tokenizers")


def write(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


# ---- GGUF ----
U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
SCALAR = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f",
          BOOL: "<?", U64: "<Q", I64: "<q", F64: "<d"}


def gguf_str(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gguf_value(t, v):
    if t == STR:
        return gguf_str(v)
    if t == ARR:
        elem, items = v
        return struct.pack("<IQ", elem, len(items)) + b"".join(gguf_value(elem, x) for x in items)
    return struct.pack(SCALAR[t], v)


def gguf(kvs, tensors, alignment=32, version=3):
    """kvs: [(key, type, value)]; tensors: [(name, ggml_type, ne (innermost first), nbytes)]."""
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs))
    for key, t, v in kvs:
        out += gguf_str(key) + struct.pack("<I", t) + gguf_value(t, v)
    offset, infos = 0, b""
    for name, ggml_type, ne, nbytes in tensors:
        infos += gguf_str(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne)
        infos += struct.pack("<IQ", ggml_type, offset)
        offset += (nbytes + alignment - 1) // alignment * alignment
    out += infos
    out += b"\0" * ((-len(out)) % alignment)
    for _, _, _, nbytes in tensors:
        out += bytes((i * 7) & 0xFF for i in range(nbytes)) + b"\0" * ((-nbytes) % alignment)
    return out


def llama_keys(arch, vocab):
    return [("general.architecture", STR, arch), ("general.name", STR, "fuzz seed"),
            ("general.alignment", U32, 32),
            (f"{arch}.context_length", U32, 64), (f"{arch}.embedding_length", U32, 8),
            (f"{arch}.block_count", U32, 1), (f"{arch}.feed_forward_length", U32, 16),
            (f"{arch}.attention.head_count", U32, 2), (f"{arch}.attention.head_count_kv", U32, 1),
            (f"{arch}.rope.dimension_count", U32, 4), (f"{arch}.rope.freq_base", F32, 10000.0),
            (f"{arch}.attention.layer_norm_rms_epsilon", F32, 1e-5),
            ("tokenizer.ggml.bos_token_id", U32, 1), ("tokenizer.ggml.eos_token_id", U32, 2)]


def llama_tensors(vocab):
    return [("token_embd.weight", 0, [8, vocab], 8 * vocab * 4),
            ("output_norm.weight", 0, [8], 32),
            ("blk.0.attn_q.weight", 8, [32, 8], 8 * 34),   # Q8_0: 32 per 34-byte block
            ("blk.0.ffn_down.weight", 1, [16, 8], 16 * 8 * 2)]


def gguf_seeds():
    spm = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)] + \
        ["▁", "a", "b", "c", "▁a", "▁b", "ab", "▁ab", "he", "llo", "▁hello"]
    keys = llama_keys("llama", len(spm)) + [
        ("tokenizer.ggml.model", STR, "llama"), ("tokenizer.ggml.tokens", ARR, (STR, spm)),
        ("tokenizer.ggml.scores", ARR, (F32, [float(-i) for i in range(len(spm))])),
        ("tokenizer.ggml.token_type", ARR, (I32, [2, 3, 3] + [6] * 256 + [1] * (len(spm) - 259))),
        ("tokenizer.ggml.add_bos_token", BOOL, True)]
    write("gguf_fuzz", "llama_spm.gguf", gguf(keys, llama_tensors(len(spm))))

    gpt2 = ["!", "a", "b", "h", "e", "l", "o", "Ġ", "Ġh", "he", "ll", "llo", "Ġhe", "<|endoftext|>"]
    keys = llama_keys("qwen2", len(gpt2)) + [
        ("tokenizer.ggml.model", STR, "gpt2"), ("tokenizer.ggml.pre", STR, "qwen2"),
        ("tokenizer.ggml.tokens", ARR, (STR, gpt2)),
        ("tokenizer.ggml.merges", ARR, (STR, ["Ġ h", "h e", "l l", "ll o", "Ġh e"])),
        ("tokenizer.ggml.token_type", ARR, (I32, [1] * 13 + [3]))]
    write("gguf_fuzz", "qwen2_bpe.gguf", gguf(keys, llama_tensors(len(gpt2))))

    # Every metadata value type, scalars and arrays, and the other tensor types.
    every = [(f"t.{n}", t, v) for n, t, v in [
        ("u8", U8, 200), ("i8", I8, -5), ("u16", U16, 60000), ("i16", I16, -300),
        ("u32", U32, 4000000000), ("i32", I32, -7), ("f32", F32, 0.5), ("bool", BOOL, True),
        ("str", STR, "ünïcode"), ("u64", U64, 2 ** 63 + 1), ("i64", I64, -(2 ** 40)), ("f64", F64, 1e300)]]
    every += [(f"a.{n}", ARR, (t, vs)) for n, t, vs in [
        ("u8", U8, [1, 2]), ("i8", I8, [-1]), ("u16", U16, [3]), ("i16", I16, [-3]),
        ("u32", U32, [5, 6]), ("i32", I32, [-5]), ("f32", F32, [1.5, 2.5]), ("bool", BOOL, [True, False]),
        ("str", STR, ["x", ""]), ("u64", U64, [2 ** 40]), ("i64", I64, [-2]), ("f64", F64, [0.25]),
        ("empty", U32, [])]]
    every.append(("general.alignment", U32, 64))
    tensors = [("f32", 0, [4, 2], 32), ("q4_k", 12, [256], 144), ("bf16", 30, [2, 2, 2], 16),
               ("scalar", 0, [], 4), ("empty", 0, [0, 3], 0)]
    write("gguf_fuzz", "every_type.gguf", gguf(every, tensors, alignment=64))
    write("gguf_fuzz", "v2_header_only.gguf", gguf([("general.architecture", STR, "llama")], [], version=2))


# ---- safetensors ----
def safetensors(tensors, metadata=None):
    header, data = {}, b""
    for name, dtype, shape, nbytes in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + nbytes]}
        data += bytes((i * 13) & 0xFF for i in range(nbytes))
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    text += b" " * ((-len(text)) % 8)
    return struct.pack("<Q", len(text)) + text + data


def safetensors_seeds():
    write("safetensors_fuzz", "two_tensors.safetensors",
          safetensors([("model.embed_tokens.weight", "F32", [2, 3], 24), ("lm_head.weight", "BF16", [4], 8)],
                      {"format": "pt"}))
    write("safetensors_fuzz", "every_dtype.safetensors", safetensors(
        [(f"t.{d}", d, [2], 2 * n) for d, n in [("F64", 8), ("F32", 4), ("F16", 2), ("BF16", 2), ("I64", 8),
                                                ("I32", 4), ("I16", 2), ("I8", 1), ("U8", 1), ("BOOL", 1)]]
        + [("scalar", "F32", [], 4), ("empty", "F16", [0, 5], 0)]))
    write("safetensors_fuzz", "header_only.safetensors", safetensors([], {}))


# ---- images (PNG and GIF by hand; JPEG/WebP are kept files) ----
def png(width, height, color_type, bit_depth, rows, palette=None, trns=None, interlace=0):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, interlace))
    if palette:
        out += chunk(b"PLTE", palette)
    if trns:
        out += chunk(b"tRNS", trns)
    raw = b"".join(b"\0" + r for r in rows)
    return out + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def image_seeds():
    write("image_decode_fuzz", "rgb.png", png(3, 2, 2, 8, [bytes(range(9)), bytes(range(9, 18))]))
    write("image_decode_fuzz", "rgba16.png", png(2, 2, 6, 16, [bytes(range(16)), bytes(range(16, 32))]))
    write("image_decode_fuzz", "gray_alpha.png", png(2, 1, 4, 8, [b"\x10\x80\x20\xff"]))
    write("image_decode_fuzz", "palette_trns.png",
          png(4, 2, 3, 2, [b"\x1b", b"\xe4"], palette=b"\xff\x00\x00\x00\xff\x00\x00\x00\xff\xff\xff\xff", trns=b"\x80"))
    write("image_decode_fuzz", "interlaced.png", png(9, 9, 0, 8, [bytes([i * 9 + j for j in range(9)]) for i in range(9)], interlace=1))
    # 2x2 GIF, 4-colour global palette, LZW minimum code size 2.
    gif = (b"GIF89a" + struct.pack("<HH", 2, 2) + b"\x81\x00\x00" + b"\xff\x00\x00\x00\xff\x00\x00\x00\xff\xff\xff\xff"
           + b"\x21\xf9\x04\x01\x00\x00\x03\x00" + b"\x2c" + struct.pack("<HHHH", 0, 0, 2, 2) + b"\x00"
           + b"\x02\x03\x84\x1d\x05\x00" + b"\x3b")
    write("image_decode_fuzz", "palette.gif", gif)


# ---- tokenizers: tokenizer.json \0 tokenizer_config.json \0 generation_config.json \0 text ----
def cut_tokenizer(path, keep):
    t = json.load(open(path, encoding="utf-8"))
    vocab = {k: v for k, v in t["model"]["vocab"].items() if v < keep}
    added = []
    for i, a in enumerate(t["added_tokens"][:4]):
        a = dict(a, id=keep + i)
        vocab[a["content"]] = a["id"]
        added.append(a)
    merges = []
    for m in t["model"].get("merges", []):
        a, b = m.split(" ", 1) if isinstance(m, str) else m
        if a in vocab and b in vocab and a + b in vocab:
            merges.append(m)
    t["model"]["vocab"], t["model"]["merges"], t["added_tokens"] = vocab, merges, added
    return json.dumps(t, ensure_ascii=False, separators=(",", ":"))


def tokenizer_seeds():
    text = "Hello wörld! 12 <s> <|endoftext|> \t\n  日本"
    for name, keep in [("gpt2", 300), ("llama2", 300), ("qwen3", 300)]:
        path = os.path.join(SHARED, name, "tokenizer.json")
        if not os.path.exists(path):
            print(f"skipping {name}: {path} is absent", file=sys.stderr)
            continue
        cfg = json.dumps({"bos_token": "<s>", "eos_token": {"content": "</s>"}, "add_bos_token": True,
                          "chat_template": "{{ messages }}"})
        gen = json.dumps({"eos_token_id": [2, 5], "bos_token_id": 1})
        write("tokenizer_fuzz", f"{name}_cut.txt", "\0".join([cut_tokenizer(path, keep), cfg, gen, text]))
    wordpiece = {"version": "1.0", "added_tokens": [
        {"id": 0, "content": "[PAD]", "special": True}, {"id": 1, "content": "[UNK]", "special": True},
        {"id": 2, "content": "[CLS]", "special": True}, {"id": 3, "content": "[SEP]", "special": True}],
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                                      {"Sequence": {"id": "A", "type_id": 0}},
                                      {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
                           "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                                              "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100,
                  "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "hello": 4, "world": 5,
                            "##s": 6, "!": 7, "w": 8, "##orld": 9, "日": 10, "本": 11}}}
    write("tokenizer_fuzz", "wordpiece.txt", "\0".join([json.dumps(wordpiece), "", "", "Hello worlds! 日本 naïve"]))


# ---- chat templates: template \0 messages \0 tools \0 kwargs ----
TEMPLATES = {
    "chatml.txt": "{%- for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content | trim }}<|im_end|>\n"
                  "{%- endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}",
    "llama_loop.txt": "{{- bos_token }}{% set ns = namespace(sys='') %}{% for m in messages %}"
                      "{% if m['role'] == 'system' %}{% set ns.sys = m['content'] %}"
                      "{% elif loop.first or m.role == 'user' %}[INST] {{ (ns.sys ~ ' ' ~ m.content) | trim }} [/INST]"
                      "{% else %}{{ m.content }}{{ eos_token }}{% endif %}{% endfor %}",
    "macros_filters.txt": "{% macro show(x, sep=', ') -%}{{ x | map('upper') | join(sep) }}{%- endmacro %}"
                          "{{ show(['a', 'b']) }}|{{ messages | length }}|{{ messages[1:] | map(attribute='role') | list | tojson }}"
                          "|{{ '%s-%d' % ('x', 3) }}|{{ range(3) | sum }}|{{ 'Hi' * 2 }}|{{ {'k': [1, 2.5, none, true]} | tojson(indent=2) }}"
                          "|{{ messages[0].content.split(' ') | reverse | first }}|{{ 'abc'[::-1] }}{{ strftime_now('%Y') }}",
    "tools.txt": "{% if tools %}{% for t in tools %}{{ t.function.name }}:{{ t.function.parameters | tojson }}\n{% endfor %}{% endif %}"
                 "{% for m in messages %}{% if m.tool_calls is defined %}{% for c in m.tool_calls %}"
                 "{{ c.function.name }}({{ c.function.arguments | tojson }}){% endfor %}{% endif %}"
                 "{% if m.role == 'tool' %}<tool>{{ m.content }}</tool>{% endif %}{% endfor %}"
                 "{% if enable_thinking is defined and not enable_thinking %}<think></think>{% endif %}",
    "raise.txt": "{% if messages[0]['role'] != 'user' %}{{ raise_exception('first message must be user') }}{% endif %}",
    "whitespace.txt": "  {%- for i in range(2) -%}\n  {{ i }}{% if not loop.last %},{% endif %}\n{%+ endfor %}\n{# comment #}{% raw %}{{ x }}{% endraw %}",
}


def jinja_seeds():
    messages = json.dumps([{"role": "user", "content": "two words"}, {"role": "assistant", "content": "ok"}])
    tools = json.dumps([{"type": "function", "function": {"name": "get", "parameters": {"type": "object"}}}])
    for name, source in TEMPLATES.items():
        write("jinja_fuzz", name, "\0".join([source, messages, tools, '{"enable_thinking": false}']))
    config = json.dumps({"bos_token": "<s>", "eos_token": {"content": "</s>"},
                         "chat_template": [{"name": "default", "template": TEMPLATES["chatml.txt"]}]})
    write("jinja_fuzz", "tokenizer_config.txt", config + "\0")


# ---- structured output: kind byte, spec \0 text ----
def grammar_seeds():
    specs = {
        "schema_object.txt": (0, json.dumps({"type": "object", "properties": {
            "name": {"type": "string", "maxLength": 8}, "age": {"type": "integer", "minimum": 0, "maximum": 150},
            "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "minItems": 1, "maxItems": 3},
            "when": {"type": "string", "format": "date"}, "ratio": {"type": "number"},
            "kind": {"anyOf": [{"const": 1}, {"type": "null"}]}}, "required": ["name"],
            "additionalProperties": False}), '{"name": "x", "age": 42, "tags": ["a"]}'),
        "schema_refs.txt": (0, json.dumps({"$defs": {"node": {"type": "object", "properties": {
            "next": {"$ref": "#/$defs/node"}}}}, "$ref": "#/$defs/node"}), '{"next": {}}'),
        "regex.txt": (1, r"(\d{3}-)?[A-Za-z_]\w*@(ex|example)\.(com|org)[^\n]{0,4}", "123-ab@ex.com"),
        "gbnf.txt": (2, 'root ::= expr\nexpr ::= term (("+" | "-") term)*\nterm ::= [0-9]+ | "(" expr ")"\n', "(1+2)-3"),
        "choice.txt": (3, "yes\nno\nmaybe not", "maybe"),
        "json_object.txt": (4, "", '{"a": [1, 2, {"b": null}]}'),
    }
    for name, (kind, spec, text) in specs.items():
        write("grammar_fuzz", name, bytes([kind]) + spec.encode() + b"\0" + text.encode())


# ---- actor messages: type selector byte, then CAF's binary form (zeros: empty fields) ----
def actor_seeds():
    for selector in range(17):  # the actorlm type-ID block holds 17 types
        write("actor_messages_fuzz", f"type_{selector:02d}.bin", bytes([selector]) + b"\0" * 64)


def hf_config_seeds():
    llama = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64,
             "intermediate_size": 128, "num_attention_heads": 4, "num_key_value_heads": 2,
             "num_hidden_layers": 2, "vocab_size": 300, "max_position_embeddings": 256, "rms_norm_eps": 1e-5,
             "rope_theta": 10000.0, "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                                     "high_freq_factor": 4.0, "original_max_position_embeddings": 64},
             "tie_word_embeddings": True, "bos_token_id": 1, "eos_token_id": 2}
    gen = {"eos_token_id": [2, 7]}
    write("hf_config_fuzz", "llama.txt", "\0".join([json.dumps(llama), json.dumps(gen), ""]))
    qwen3 = dict(llama, architectures=["Qwen3ForCausalLM"], model_type="qwen3", head_dim=32,
                 sliding_window=16, use_sliding_window=True, max_window_layers=1, rope_scaling=None)
    write("hf_config_fuzz", "qwen3.txt", json.dumps(qwen3))
    gemma2 = dict(llama, architectures=["Gemma2ForCausalLM"], model_type="gemma2", query_pre_attn_scalar=16,
                  final_logit_softcapping=30.0, attn_logit_softcapping=50.0, sliding_window=8,
                  layer_types=["sliding_attention", "full_attention"], rope_scaling=None)
    write("hf_config_fuzz", "gemma2.txt", json.dumps(gemma2))
    vl = {"architectures": ["Qwen2_5_VLForConditionalGeneration"], "model_type": "qwen2_5_vl",
          "text_config": dict(llama, model_type="qwen2_5_vl_text", rope_scaling={"type": "mrope", "mrope_section": [2, 3, 3]}),
          "vision_config": {"depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2, "patch_size": 14,
                            "spatial_merge_size": 2, "temporal_patch_size": 2, "out_hidden_size": 64,
                            "window_size": 112, "fullatt_block_indexes": [1], "hidden_act": "silu"}}
    pre = {"image_processor_type": "Qwen2VLImageProcessor", "min_pixels": 3136, "max_pixels": 12845056,
           "patch_size": 14, "merge_size": 2, "temporal_patch_size": 2,
           "image_mean": [0.48, 0.45, 0.40], "image_std": [0.26, 0.26, 0.27]}
    write("hf_config_fuzz", "qwen2_5_vl.txt", "\0".join([json.dumps(vl), "", json.dumps(pre)]))
    llava = {"architectures": ["LlavaForConditionalGeneration"], "model_type": "llava", "text_config": llama,
             "vision_config": {"model_type": "clip_vision_model", "hidden_size": 32, "intermediate_size": 64,
                               "num_attention_heads": 2, "num_hidden_layers": 2, "image_size": 28, "patch_size": 14,
                               "hidden_act": "quick_gelu"}, "vision_feature_layer": -2, "image_token_index": 5}
    clip = {"image_processor_type": "CLIPImageProcessor", "crop_size": {"height": 28, "width": 28},
            "size": {"shortest_edge": 28}, "do_center_crop": True, "image_mean": [0.5, 0.5, 0.5],
            "image_std": [0.5, 0.5, 0.5], "resample": 3, "rescale_factor": 0.00392156862745098}
    write("hf_config_fuzz", "llava.txt", "\0".join([json.dumps(llava), "", json.dumps(clip)]))


# ---- the Hub's model-info JSON, NUL, a model reference ----
def hub_api_seeds():
    commit = "0123456789abcdef0123456789abcdef01234567"
    gguf = {"id": "org/m-GGUF", "sha": commit, "siblings": [
        {"rfilename": "m-Q4_K_M.gguf", "size": 10, "blobId": "a" * 40,
         "lfs": {"sha256": "b" * 64, "size": 10, "pointerSize": 134}},
        {"rfilename": "m-Q8_0-00001-of-00002.gguf", "size": 5, "blobId": "c" * 40},
        {"rfilename": "mmproj-m-f16.gguf", "size": 5, "blobId": "d" * 40},
        {"rfilename": "README.md", "size": 3, "blobId": "e" * 40}]}
    write("hub_api_fuzz", "gguf.txt", json.dumps(gguf) + "\0org/m-GGUF:Q4_K_M")
    hf = {"id": "org/m", "sha": commit, "siblings": [
        {"rfilename": "config.json", "size": 2, "blobId": "f" * 40},
        {"rfilename": "model.safetensors", "size": 8, "blobId": "1" * 40,
         "lfs": {"sha256": "2" * 64, "size": 8}},
        {"rfilename": "onnx/model.onnx", "size": 8, "blobId": "3" * 40}]}
    write("hub_api_fuzz", "safetensors.txt", json.dumps(hf) + "\0org/m")


if __name__ == "__main__":
    gguf_seeds()
    safetensors_seeds()
    image_seeds()
    tokenizer_seeds()
    jinja_seeds()
    grammar_seeds()
    actor_seeds()
    hf_config_seeds()
    hub_api_seeds()
