#!/usr/bin/env python3
"""A tiny random BERT encoder (BGE / E5 / all-MiniLM layout) and transformers' embeddings of it,
for tests/engine/bert_embedding_test.cpp and tests/net_e2e/e2e_bert_embeddings_test.cpp.

Writes into OUT (tests/data/bert):
  tiny-bert/          a sentence-transformers directory: config.json (BertModel), F16
                      model.safetensors (weights named without the `bert.` prefix, as
                      sentence-transformers saves them), tokenizer.json from
                      BertTokenizerFast over the small WordPiece vocabulary below, modules.json
                      and 1_Pooling/config.json (mean pooling) and a Normalize module
  tiny-bert-f16.gguf  the same model through llama.cpp's convert_hf_to_gguf.py (--outtype f16)
  references.json     per sentence: transformers' token ids, and the mean- and CLS-pooled
                      L2-normalized embeddings (what sentence-transformers computes for the
                      directory, and for a CLS-pooling config)

The weights are rounded to F16 before the reference runs in F32, so the references are exact
for the stored weights. Runs where transformers, torch and llama.cpp's converter are (the
peer chroot):

    R=/opt/peer-sid; W=$R/tmp/bertref; rm -rf $W; mkdir -p $W
    cp tools/make-bert-references.py $W/
    chroot $R python3 /tmp/bertref/make-bert-references.py /tmp/bertref/out
    rm -rf tests/data/bert; cp -r $W/out tests/data/bert
"""
import json
import os
import subprocess
import sys

import torch
import transformers

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = ["the", "a", "cat", "dog", "sat", "on", "mat", "is", "runs", "fast", "slow", "red", "blue",
         "embedding", "model", "text", "hello", "world", "play", "##ing", "##ed", "##s", "un",
         "##able", "token", "##izer", "bert", "small", "big", "and", "of", "to", "in"]
PUNCT = [".", ",", "!", "?", "'", "-"]
LETTERS = [chr(c) for c in range(ord("a"), ord("z") + 1)]
VOCAB = SPECIAL + PUNCT + LETTERS + ["##" + c for c in LETTERS] + WORDS

SENTENCES = [
    "Hello world!",
    "The cat sat on the mat.",
    "A red dog runs fast, the blue cat is slow.",
    "Playing unplayable tokenizers xyz",
    "embedding",
]

CONVERTER = "/usr/share/doc/llama.cpp-tools/scripts/convert_hf_to_gguf.py"
CONVERT_AS_BGE = f"""
import runpy, sys
sys.path.insert(1, '/usr/share/llama.cpp/llama.cpp-tools')
import conversion.base
conversion.base.TextModel.get_vocab_base_pre = lambda self, tokenizer: 'bert-bge'
sys.argv = ['convert_hf_to_gguf.py'] + sys.argv[1:]
runpy.run_path('{CONVERTER}', run_name='__main__')
"""


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def pooled(hidden, mask, mode):
    if mode == "cls":
        v = hidden[0]
    else:
        m = mask.unsqueeze(-1).to(hidden.dtype)
        v = (hidden * m).sum(0) / m.sum(0)
    return torch.nn.functional.normalize(v, dim=0)


def main(out):
    d = os.path.join(out, "tiny-bert")
    os.makedirs(os.path.join(d, "1_Pooling"), exist_ok=True)
    tok = transformers.BertTokenizerFast(vocab={t: i for i, t in enumerate(VOCAB)},
                                         do_lower_case=True)
    tok.save_pretrained(d)

    torch.manual_seed(17)
    cfg = transformers.BertConfig(vocab_size=len(VOCAB), hidden_size=32, num_hidden_layers=2,
                                  num_attention_heads=4, intermediate_size=64,
                                  max_position_embeddings=64, type_vocab_size=2,
                                  hidden_act="gelu", layer_norm_eps=1e-12)
    model = transformers.BertModel(cfg, add_pooling_layer=False).eval()
    with torch.no_grad():  # non-trivial norms and biases, so a missing one shows
        for name, p in model.named_parameters():
            if "LayerNorm.weight" in name:
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn_like(p))
            else:
                p.copy_(0.3 * torch.randn_like(p))
            p.copy_(p.half().float())  # the references are exact for the F16 file
    model.half().save_pretrained(d, safe_serialization=True)
    model.float()

    write_json(os.path.join(d, "modules.json"), [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize",
         "type": "sentence_transformers.models.Normalize"},
    ])
    write_json(os.path.join(d, "1_Pooling", "config.json"), {
        "word_embedding_dimension": 32, "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False, "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": False, "include_prompt": True})
    write_json(os.path.join(d, "sentence_bert_config.json"),
               {"max_seq_length": 64, "do_lower_case": False})

    refs = []
    for s in SENTENCES:
        enc = tok(s, return_tensors="pt")
        with torch.no_grad():
            hidden = model(**enc).last_hidden_state[0]
        mask = enc["attention_mask"][0]
        refs.append({"text": s, "ids": enc["input_ids"][0].tolist(),
                     "mean": pooled(hidden, mask, "mean").tolist(),
                     "cls": pooled(hidden, mask, "cls").tolist()})
    write_json(os.path.join(out, "references.json"),
               {"transformers": transformers.__version__, "torch": torch.__version__,
                "sentences": refs})

    # The converter names the pre-tokenizer by hashing how the tokenizer splits a fixed text;
    # a vocabulary of its own hashes to no known name, so the converter runs with BGE's name
    # (bert-bge: BERT's basic pre-tokenizer, the one this tokenizer has).
    subprocess.run([sys.executable, "-c", CONVERT_AS_BGE, d,
                    "--outtype", "f16", "--outfile", os.path.join(out, "tiny-bert-f16.gguf")],
                   check=True)
    for s, r in zip(SENTENCES, refs):
        print(r["ids"], s)


if __name__ == "__main__":
    main(sys.argv[1])
