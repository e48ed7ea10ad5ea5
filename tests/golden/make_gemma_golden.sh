#!/usr/bin/env bash
# Regenerates tests/golden/embeddinggemma_300m.json: token ids from the model's tokenizer.json
# (Python tokenizers) and embeddings from a float64 numpy forward pass of google/embeddinggemma-300m
# (make_gemma_golden.py), for the sentences in tests/golden/gemma_sentences.txt, plus the model
# card's query/document similarities, which the script checks against the card (within 0.002).
# Needs python3 with venv and pip, and the model's Sentence-Transformers folder (config.json,
# model.safetensors, tokenizer.json, 2_Dense/, 3_Dense/, README.md). Takes ~75 s and ~1.3 GB RAM.
#   bash tests/golden/make_gemma_golden.sh MODEL_DIR [OUT_JSON] [VENV_DIR]
# OUT_JSON defaults to tests/golden/embeddinggemma_300m.json. VENV_DIR is where the pinned venv is
# made (or reused); without it a temporary one is made and removed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ $# -lt 1 ] || [ $# -gt 3 ]; then
    echo "usage: $0 MODEL_DIR [OUT_JSON] [VENV_DIR]" >&2
    exit 2
fi
model=$1
out=${2:-$here/embeddinggemma_300m.json}
if [ $# -ge 3 ]; then
    venv=$3
else
    venv=$(mktemp -d)/venv
    trap 'rm -rf "$(dirname "$venv")"' EXIT
fi

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    numpy==2.4.6 safetensors==0.8.0 tokenizers==0.23.3
"$venv/bin/python" "$here/make_gemma_golden.py" "$model" "$here/gemma_sentences.txt" "$out"
