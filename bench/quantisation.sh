#!/usr/bin/env bash
# The measurement behind the default vector type (README, "Compact vectors"): every set in
# eval/, every mode, with vectors stored as f32, f16 and i8. Each set is embedded once (f32,
# kept in bench/out/eval-cache); the f16 and i8 indexes are converted from a copy of it
# without embedding again, so the three differ only in how the vectors are stored.
#   bash bench/quantisation.sh [MODEL]        (default multilingual-e5-small)
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-multilingual-e5-small}
sets=${EVAL_SETS:-"poquad-dev xquad-en tatoeba-en-pl gnome-help-pl gnome-help-en manpages-pl"}
out=bench/out/quantisation
mkdir -p "$out" bench/out/eval-cache
cargo build --release --quiet
akapit=${CARGO_TARGET_DIR:-target}/release/akapit
echo "| set | mode | f32 nDCG@10 | f16 | i8 | f32 recall@10 | f16 | i8 | vector file f32 / f16 / i8 (KB) |"
echo "|---|---|---|---|---|---|---|---|---|"
for set in $sets; do
    cache="bench/out/eval-cache/$set-$model-v4"
    "$akapit" eval "eval/$set" --model "$model" --quiet --vectors f32 \
        --keep-index "$cache" --json > "$out/$set-$model-f32.json"
    for scalar in f16 i8; do
        rm -rf "$out/index-$scalar"
        cp -r "$cache" "$out/index-$scalar"
        "$akapit" eval "eval/$set" --model "$model" --quiet --vectors "$scalar" \
            --keep-index "$out/index-$scalar" --json > "$out/$set-$model-$scalar.json"
    done
    python3 - "$out" "$set" "$model" "$cache" <<'PY'
import json, os, sys
out, name, model, cache = sys.argv[1:]
runs = {s: json.load(open(f"{out}/{name}-{model}-{s}.json")) for s in ("f32", "f16", "i8")}
def size(d):
    m = json.load(open(os.path.join(d, "manifest.json")))
    return sum(s["files"]["vectors.usearch"]["bytes"] for s in m["segments"]) // 1024
sizes = [size(cache), size(f"{out}/index-f16"), size(f"{out}/index-i8")]
for i, r in enumerate(runs["f32"]["results"]):
    row = [runs[s]["results"][i] for s in ("f32", "f16", "i8")]
    print(f'| {name} | {r["mode"]} | ' + " | ".join(f'{x["ndcg@10"]:.4f}' for x in row) + " | "
          + " | ".join(f'{x["recall@10"]:.4f}' for x in row) + " | " + " / ".join(map(str, sizes)) + " |")
PY
done
