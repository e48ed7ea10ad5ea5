#!/usr/bin/env python3
"""Extraction fidelity: how close the text akapit reads from a document is to the text the
document was made from (tests/documents/truth), per format, next to poppler's pdftotext on
the same PDFs. Fidelity is 1 - word edit distance / words of the true text (words compared
as they are, case and punctuation included). Also counts the site-furniture phrases of
tests/documents/boilerplate.txt and the PDFs' running header found in any passage.

    python3 bench/fidelity.py [--akapit target/release/akapit]

pdftotext (Debian's poppler-utils) is used if it is installed; it is a reference here,
never a dependency of akapit.
"""

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "tests" / "documents"
FORMATS = ["pdf", "html", "docx", "odt", "epub"]
RUNNING_HEADER = "Ośrodek Analiz Wschodnich"


def edit_distance(a, b):
    """Levenshtein distance between two word lists."""
    ids = {}
    a = [ids.setdefault(w, len(ids)) for w in a]
    b = [ids.setdefault(w, len(ids)) for w in b]
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, y in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y))
        previous = current
    return previous[-1]


def fidelity(found_words, true_words):
    return 1 - edit_distance(found_words, true_words) / max(1, len(true_words))


def truth_words(name):
    lines = (DOCS / "truth" / f"{name}.txt").read_text(encoding="utf-8").splitlines()
    return " ".join(l[2:] if l.startswith("# ") else l for l in lines).split()


def akapit_extract(binary, path):
    out = subprocess.run([binary, "extract", "--json", str(path)], capture_output=True,
                         text=True, check=True)
    [document] = json.loads(out.stdout)
    return [p["text"] for p in document["passages"]]


def pdftotext(path):
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True,
                         text=True, check=True)
    return out.stdout.split()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--akapit", default=str(ROOT / "target" / "release" / "akapit"))
    args = parser.parse_args()
    boilerplate = (DOCS / "boilerplate.txt").read_text(encoding="utf-8").split("\n")
    boilerplate = [b for b in boilerplate if b] + [RUNNING_HEADER]
    has_pdftotext = shutil.which("pdftotext") is not None
    rows = []
    leaks = []
    for fmt in FORMATS:
        scores, reference = [], []
        for path in sorted((DOCS / f"seeds-{fmt}").iterdir()):
            truth = truth_words(path.stem)
            passages = akapit_extract(args.akapit, path)
            scores.append(fidelity(" ".join(passages).split(), truth))
            for phrase in boilerplate:
                leaks.extend(f"{path.name}: {phrase!r}" for p in passages if phrase in p)
            if fmt == "pdf" and has_pdftotext:
                reference.append(fidelity(pdftotext(path), truth))
        rows.append((fmt, scores, reference))
    print("| format | documents | akapit (mean) | akapit (worst) | pdftotext (mean) | pdftotext (worst) |")
    print("|---|---|---|---|---|---|")
    for fmt, scores, reference in rows:
        ref = (f"{sum(reference) / len(reference):.4f} | {min(reference):.4f}"
               if reference else "– | –")
        print(f"| {fmt} | {len(scores)} | {sum(scores) / len(scores):.4f} | {min(scores):.4f} | {ref} |")
    print(f"\nboilerplate phrases found in passages: {len(leaks)}")
    for leak in leaks:
        print(f"  {leak}")
    return 1 if leaks else 0


if __name__ == "__main__":
    sys.exit(main())
