#!/usr/bin/env bash
# Where a real `akapit index` run spends its time (README, "Where an index run's time goes"):
# every eval/ corpus written as one text file per record, indexed from nothing with the
# default model, timed by /usr/bin/time and sampled by perf (99 Hz, every thread); the
# samples are then grouped by what the symbol belongs to.
#   bash bench/index_profile.sh            (needs perf; Debian: linux-perf)
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out/index-profile
rm -rf "$out" && mkdir -p "$out"
cargo build --release --quiet
akapit=${CARGO_TARGET_DIR:-target}/release/akapit
python3 - "$out/corpus" <<'PY'
import json, os, re, sys
root = sys.argv[1]
for name in ["poquad-dev", "xquad-en", "tatoeba-en-pl", "gnome-help-pl", "gnome-help-en", "manpages-pl"]:
    os.makedirs(f"{root}/{name}", exist_ok=True)
    for line in open(f"eval/{name}/corpus.jsonl", encoding="utf-8"):
        record = json.loads(line)
        file = re.sub(r"[^A-Za-z0-9_.-]", "_", str(record["_id"]))[:80]
        title = (record.get("title") or "").strip()
        text = f"{title}\n\n{record['text']}" if title else record["text"]
        with open(f"{root}/{name}/{file}.txt", "w", encoding="utf-8") as f:
            f.write(text + "\n")
PY
/usr/bin/time -v perf record -F 99 -o "$out/perf.data" \
    "$akapit" index "$out/corpus" --index "$out/index" --json \
    > "$out/index.json" 2> "$out/time.txt"
perf report -i "$out/perf.data" --sort dso,symbol --stdio --no-children 2>/dev/null \
    > "$out/report.txt"
cat "$out/index.json"
grep -E "Elapsed|Percent of CPU|User time|System time" "$out/time.txt"
python3 - "$out/report.txt" <<'PY'
import re, sys
groups = [
    ("encoder: matrix products", ["gemm"]),
    ("encoder: other operations and their threads",
     ["candle", "embed::ops", "Barrier", "rust_begin_short_backtrace", "FnMut", "LocalKey",
      "sched_yield", "rayon", "crossbeam"]),
    ("buffers: memset, memmove, page zeroing", ["memset", "memmove", "memcpy", "clear_page"]),
    ("tokenizer", ["tokenizers", "unigram"]),
    ("vector graph (usearch)", ["usearch", "nk_"]),
    ("SQLite", ["sqlite"]),
    ("reading, cleaning, chunking", ["akapit::ingest", "akapit::text", "regex", "aho_corasick"]),
    ("hashing", ["sha2"]),
]
share = {name: 0.0 for name, _ in groups}
share["kernel, other"] = share["everything else"] = 0.0
for line in open(sys.argv[1]):
    m = re.match(r"\s+([\d.]+)%\s+\S+\s+\[(.)\]\s+(.*)", line)
    if not m:
        continue
    percent, kind, symbol = float(m.group(1)), m.group(2), m.group(3)
    group = next((name for name, keys in groups if any(k in symbol for k in keys)), None)
    group = group or ("kernel, other" if kind == "k" else "everything else")
    share[group] += percent
for name, percent in sorted(share.items(), key=lambda x: -x[1]):
    print(f"{percent:6.2f}%  {name}")
PY
