#!/usr/bin/env bash
# Reproduces the retrieval tables in the README: every set in eval/, every mode, with the
# defaults; then the keyword analyzers (lexical mode). With GRID=1 it also dumps each set's
# candidates under every window policy and lets bench/fusion_grid.py choose the window
# policy, the granularity and the fusion by leave-one-corpus-out evaluation. The README's
# table over both models comes from both models' dumps:
#   python3 bench/fusion_grid.py bench/out/candidates \
#       multilingual-e5-small,embeddinggemma-300m --policies sentences --granularities window
# Embedded corpora are kept in bench/out/eval-cache, so reruns only rank.
#   bash bench/eval.sh [MODEL]          (default multilingual-e5-small)
#   GRID=1 bash bench/eval.sh [MODEL]
#   EVAL_SETS="poquad-dev xquad-en" bash bench/eval.sh
#   PRECISION=int8 bash bench/eval.sh   (the products the encoder runs in; default auto, see
#                                        `akapit models`; results and caches named after it)
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-multilingual-e5-small}
sets=${EVAL_SETS:-"poquad-dev xquad-en tatoeba-en-pl gnome-help-pl gnome-help-en manpages-pl"}
precision=${PRECISION:-auto}
tag=$model
[ "$precision" = auto ] || tag="$model-$precision"
out=bench/out
mkdir -p "$out/eval-cache" "$out/candidates"
# AKAPIT=path/to/akapit runs that binary instead of building one.
if [ -z "${AKAPIT:-}" ]; then
    cargo build --release --quiet
fi
akapit=${AKAPIT:-${CARGO_TARGET_DIR:-target}/release/akapit}

for set in $sets; do
    echo "== $set: all modes ($model, precision $precision)"
    "$akapit" --precision "$precision" eval "eval/$set" --model "$model" --quiet \
        --keep-index "$out/eval-cache/$set-$tag" --json > "$out/$set-$tag.json"
    python3 - "$out/$set-$tag.json" "$precision" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for m in r["results"]:
    print(f'| {r["dataset"].split("/")[-1]} | {r["model"]} | {sys.argv[2]} | {m["mode"]} | {m["ndcg@10"]:.4f} | {m["recall@10"]:.4f} | {m["recall@100"]:.4f} | {m["mrr@10"]:.4f} | {m["latency_p50_ms"]:.1f} / {m["latency_p95_ms"]:.1f} |')
PY
done

if [ "$model" = multilingual-e5-small ] && [ "$precision" = auto ]; then
    for set in $sets; do
        echo "== $set: analyzers (lexical nDCG@10)"
        for analyzer in plain snowball-polish prefix5 prefix6 prefix7; do
            "$akapit" eval "eval/$set" --mode lexical --analyzer "$analyzer" --quiet \
                --keep-index "$out/eval-cache/$set-$model" --json |
                python3 -c "import json,sys; r=json.load(sys.stdin); print('  $analyzer', round(r['results'][0]['ndcg@10'], 4))"
        done
    done
fi

if [ "${GRID:-0}" = 1 ]; then
    for set in $sets; do
        for policy in sentences sentences+whole sentences+context sentences+whole+context; do
            echo "== $set: candidates with windows $policy"
            cache="$out/eval-cache/$set-$model-$policy"
            [ "$policy" = sentences ] && cache="$out/eval-cache/$set-$model"
            "$akapit" eval "eval/$set" --model "$model" --mode lexical --windows "$policy" --quiet \
                --keep-index "$cache" \
                --candidates "$out/candidates/$set.$model.$policy.jsonl" > /dev/null
        done
    done
    python3 bench/fusion_grid.py "$out/candidates" "$model" $sets
fi
