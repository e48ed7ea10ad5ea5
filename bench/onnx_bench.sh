#!/usr/bin/env bash
# Runs ONNX Runtime on multilingual-e5-small (a second reference for `akapit bench`) from a
# private venv in bench/.venv-onnx, creating it on first use. The first run also exports
# akapit's own model folder to bench/out/onnx/ (model.onnx f32, model-int8.onnx; delete the
# folder to export again). Arguments go to bench/onnx_bench.py:
#   bash bench/onnx_bench.sh [--precision f32|int8] warm PASSAGES.jsonl QUERIES.jsonl
#   bash bench/onnx_bench.sh [--precision f32|int8] cold QUESTION
#   bash bench/onnx_bench.sh fidelity [--akapit BINARY]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv="$here/.venv-onnx"
out="$here/out/onnx"
model="$here/../models/multilingual-e5-small"
# What the measurement imports.
runtime=(onnxruntime==1.32.0 numpy==2.4.6 tokenizers==0.23.3)
# The export only. torch's wheel on the package index is the CUDA build: with --no-deps
# `import torch` fails looking for libcublasLt, so it comes with its nvidia-* wheels (~4 GB).
exporter=(torch==2.15.0 transformers==5.24.0 onnx==1.23.2 onnxscript==0.7.2)
pip() { "$venv/bin/pip" install --quiet --disable-pip-version-check "$@" >&2; }
if ! "$venv/bin/python" -c "import onnxruntime, numpy, tokenizers" 2>/dev/null; then
    echo "bench: installing ONNX Runtime into $venv" >&2
    python3 -m venv "$venv"
    pip "${runtime[@]}"
fi
if [[ ! -f $out/model.onnx || ! -f $out/model-int8.onnx ]]; then
    if ! "$venv/bin/python" -c "import torch, transformers, onnx" 2>/dev/null; then
        echo "bench: installing the exporter (torch, transformers) into $venv" >&2
        pip "${runtime[@]}" "${exporter[@]}"
    fi
    echo "bench: exporting $model to $out" >&2
    rm -rf "$out.tmp"
    "$venv/bin/python" "$here/onnx_export.py" "$model" "$out.tmp" >&2
    rm -rf "$out"
    mv "$out.tmp" "$out"
fi
exec "$venv/bin/python" "$here/onnx_bench.py" "$@"
