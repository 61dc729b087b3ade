#!/bin/sh
# make-mmproj-references.sh: converts the tiny HF vision checkpoints of tests/data/mm/models/
# (made by tools/make-vision-references.py) into llama.cpp mmproj GGUFs with llama.cpp's own
# converters, run in the peer chroot, for tests/engine/vision_mmproj_test.cpp:
#   idefics3, qwen25vl: convert_hf_to_gguf.py --mmproj --outtype f16 and q8_0
#                       (llama.cpp-tools 0.7.0)
#   llava:              tools/mtmd/legacy-models/convert_image_encoder_to_gguf.py (LLaVA-1.5's
#                       "mlp" projector is only written by this legacy script; Debian does not
#                       ship it: pass a llama.cpp checkout's copy in LLAMA_CPP_LEGACY_CONVERTER)
# Only the mmproj part is converted: convert_hf_to_gguf.py refuses the tiny text models
# (Idefics3ForConditionalGeneration is registered for --mmproj only; the Qwen2.5-VL and Llama
# text models need a tokenizer, which the tiny checkpoints do not have), and the tests need
# only the vision side. Exception: llava_stories (a tokenizer, a chat template) becomes the
# GGUF text model + mmproj pair of tests/data/mm/models/llava_stories_gguf, served by
# tests/actors/vlm_engine_test.cpp.
#
# Usage (as root, peer chroot set up with ../shared/tools/peer/setup-peer.sh --transformers):
#   LLAMA_CPP_LEGACY_CONVERTER=/path/to/convert_image_encoder_to_gguf.py \
#       tools/make-mmproj-references.sh
# About 1 minute. Without LLAMA_CPP_LEGACY_CONVERTER the llava file is left as it is.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
chroot_dir=${PEER_CHROOT:-/opt/peer-sid}
models="$root/tests/data/mm/models"
converter=/usr/share/doc/llama.cpp-tools/scripts/convert_hf_to_gguf.py
work_rel=tmp/actorlm-mmproj.$$
work="$chroot_dir/$work_rel"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work"
py() { chroot "$chroot_dir" python3 "$@"; }

# -- idefics3 ------------------------------------------------------------------------------
cp -r "$models/idefics3" "$work/idefics3"
# convert_mmproj CASE OUTTYPE: convert_hf_to_gguf.py --mmproj into mmproj-CASE-OUTTYPE.gguf
# (q8_0 quantizes the 2-D matrices and keeps the patch embedding and vectors f32).
convert_mmproj() {
    py "$converter" --mmproj --outtype "$2" --outfile "/$work_rel/$1-$2.gguf" \
        "/$work_rel/$1" > "$work/$1-$2.log" 2>&1 || { cat "$work/$1-$2.log"; exit 1; }
    cp "$work/$1-$2.gguf" "$models/$1/mmproj-$1-$2.gguf"
}
convert_mmproj idefics3 f16
convert_mmproj idefics3 q8_0

# -- qwen25vl ------------------------------------------------------------------------------
# The converter reads image_mean / image_std from preprocessor_config.json, which the tiny
# checkpoint leaves to Qwen2VLImageProcessor's defaults (OpenAI CLIP's): write them out.
cp -r "$models/qwen25vl" "$work/qwen25vl"
py - "/$work_rel/qwen25vl/preprocessor_config.json" <<'EOF'
import json, sys
path = sys.argv[1]
cfg = json.load(open(path))
cfg.setdefault("image_mean", [0.48145466, 0.4578275, 0.40821073])
cfg.setdefault("image_std", [0.26862954, 0.26130258, 0.27577711])
json.dump(cfg, open(path, "w"), indent=1)
EOF
convert_mmproj qwen25vl f16
convert_mmproj qwen25vl q8_0

# -- llava, llava_stories (legacy converter) ----------------------------------------------
if [ -z "${LLAMA_CPP_LEGACY_CONVERTER:-}" ]; then
    echo "LLAMA_CPP_LEGACY_CONVERTER unset: llava and llava_stories_gguf not rebuilt" >&2
    exit 0
fi
cp "$LLAMA_CPP_LEGACY_CONVERTER" "$work/convert_image_encoder_to_gguf.py"
# The legacy script walks transformers 4's CLIPVisionModel.vision_model (and names tensors
# after it); transformers 5 dropped that level, so it gets the model wrapped one level down.
cat > "$work/legacy_shim.py" <<'EOF'
import runpy, sys, torch
from transformers.models.clip import modeling_clip
_load = modeling_clip.CLIPVisionModel.from_pretrained
def _v4_layout(path, *args, **kwargs):
    w = torch.nn.Module()
    w.vision_model = _load(path, *args, **kwargs)
    return w
modeling_clip.CLIPVisionModel.from_pretrained = _v4_layout
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
EOF

# legacy_mmproj CASE OUT [--use-f32]: the surgery llama.cpp's LLaVA instructions do by hand
# (the CLIP tower as its own CLIPVisionModel directory, the projector as a torch file with
# HF names), then the legacy script. --use-f32 keeps the tower's matrices f32; the script
# writes the patch embedding and the projector's matrices as f16 regardless.
legacy_mmproj() {
    case_name=$1 out=$2
    shift 2
    cp -r "$models/$case_name" "$work/$case_name"
    py - "/$work_rel/$case_name" "/$work_rel/$case_name-vit" "/$work_rel/$case_name.projector" <<'EOF'
import sys, torch
from transformers import LlavaForConditionalGeneration
src, vit, proj = sys.argv[1:4]
m = LlavaForConditionalGeneration.from_pretrained(src, dtype=torch.float32)
m.model.vision_tower.save_pretrained(vit)
torch.save({"multi_modal_projector." + k: v.clone()
            for k, v in m.model.multi_modal_projector.state_dict().items()}, proj)
EOF
    py "/$work_rel/legacy_shim.py" "/$work_rel/convert_image_encoder_to_gguf.py" \
        -m "/$work_rel/$case_name-vit" --llava-projector "/$work_rel/$case_name.projector" \
        --output-dir "/$work_rel/$case_name-out" --clip-model-is-vision \
        --image-mean 0.48145466 0.4578275 0.40821073 \
        --image-std 0.26862954 0.26130258 0.27577711 "$@" > "$work/$case_name.log" 2>&1 ||
        { cat "$work/$case_name.log"; exit 1; }
    cp "$work/$case_name-out"/mmproj-model-*.gguf "$out"
}

legacy_mmproj llava "$models/llava/mmproj-llava-f16.gguf"

mkdir -p "$models/llava_stories_gguf"
legacy_mmproj llava_stories "$models/llava_stories_gguf/mmproj-llava_stories-f32.gguf" --use-f32

# llava_stories as llama-server serves it: the text model as a GGUF (convert_hf_to_gguf.py
# reads LlavaForConditionalGeneration's language model, its tokenizer.json and chat
# template) beside the legacy mmproj.
py "$converter" --outtype f32 --outfile "/$work_rel/llava_stories-text.gguf" \
    "/$work_rel/llava_stories" > "$work/llava_stories-text.log" 2>&1 ||
    { cat "$work/llava_stories-text.log"; exit 1; }
cp "$work/llava_stories-text.gguf" "$models/llava_stories_gguf/llava_stories-f32.gguf"
ls -l "$models"/*/mmproj-*.gguf "$models/llava_stories_gguf"
