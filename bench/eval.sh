#!/usr/bin/env bash
# Reproduces the retrieval tables in the README: every set in eval/, every mode,
# then the keyword analyzers (lexical mode) and a fusion grid (hybrid mode) that chose the
# defaults. Embedded corpora are kept in bench/out/eval-cache, so reruns only rank.
#   bash bench/eval.sh [MODEL]        (default multilingual-e5-small)
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-multilingual-e5-small}
sets=${EVAL_SETS:-"poquad-dev xquad-en tatoeba-en-pl"}
out=bench/out
mkdir -p "$out/eval-cache"
cargo build --release --quiet
akapit=${CARGO_TARGET_DIR:-target}/release/akapit

for set in $sets; do
    echo "== $set: all modes ($model)"
    "$akapit" eval "eval/$set" --model "$model" --quiet \
        --keep-index "$out/eval-cache/$set-$model" --json > "$out/$set-$model.json"
    python3 - "$out/$set-$model.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for m in r["results"]:
    print(f'| {r["dataset"].split("/")[-1]} | {r["model"]} | {m["mode"]} | {m["ndcg@10"]:.4f} | {m["recall@10"]:.4f} | {m["recall@100"]:.4f} | {m["mrr@10"]:.4f} | {m["latency_p50_ms"]:.1f} / {m["latency_p95_ms"]:.1f} |')
PY
done

if [ "$model" = multilingual-e5-small ]; then
    for set in $sets; do
        echo "== $set: analyzers (lexical nDCG@10)"
        for analyzer in plain snowball-polish prefix5 prefix6 prefix7; do
            "$akapit" eval "eval/$set" --mode lexical --analyzer "$analyzer" --quiet \
                --keep-index "$out/eval-cache/$set-$model" --json |
                python3 -c "import json,sys; r=json.load(sys.stdin); print('  $analyzer', round(r['results'][0]['ndcg@10'], 4))"
        done
    done
    for set in $sets; do
        echo "== $set: fusion (hybrid nDCG@10)"
        for fusion in rrf:60:1:0 rrf:60:1:1 rrf:60:1:2 rrf:60:1:3 rrf:60:0.5:2 rrf:20:1:2 convex:10:0.3:2 convex:10:0.3:4 convex:10:0.4:4 convex:5:0.3:3; do
            "$akapit" eval "eval/$set" --mode hybrid --fusion "$fusion" --quiet \
                --keep-index "$out/eval-cache/$set-$model" --json |
                python3 -c "import json,sys; r=json.load(sys.stdin); print('  $fusion', round(r['results'][0]['ndcg@10'], 4))"
        done
    done
fi
