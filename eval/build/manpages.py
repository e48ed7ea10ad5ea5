"""Builds the manpages-pl evaluation set from the Polish manual pages (Debian package
manpages-pl, pinned below): each page's one-line summary from its NAME section ("kopiuje
pliki i katalogi") against the paragraphs of every page's DESCRIPTION (OPIS). The relevant
paragraph is the first of the page's description; every other paragraph of the same page
(options, details, in the same vocabulary) is a distractor beside those of all other pages:
the answer is one paragraph among many that share its words.

    python3 eval/build/manpages.py        (from the repository root; needs apt-get, groff)

Writes eval/manpages-pl/. Deterministic: the same package, rendered by the same groff
(bookworm's 1.22.4), gives the same bytes.
"""
import gzip
import os
import random
import re
import subprocess
import tempfile

import beir
from pinned_deb import unpack

PACKAGE = "manpages-pl"
VERSION = "1:4.18.1-1"
DEB = "manpages-pl_1%3a4.18.1-1_all.deb"
NAME = "manpages-pl"
# Paragraphs kept per page (the long pages, bash's or gcc's, would otherwise dominate).
MAX_PARAGRAPHS = 40
MIN_WORDS = 4


def fetch(work):
    return os.path.join(unpack(PACKAGE, VERSION, DEB, "manpages.sha256", work), "usr", "share", "man", "pl")


def render(path):
    """The page as plain UTF-8 text, one line per paragraph, no hyphenation."""
    source = gzip.open(path).read()
    out = subprocess.run(
        ["groff", "-k", "-man", "-Tutf8", "-P-cbou", "-rLL=3000n", "-rHY=0"],
        input=source, capture_output=True, check=True,
    )
    return out.stdout.decode("utf-8")


def sections(text):
    """Section name → its lines (indentation kept)."""
    found, current = {}, None
    for line in text.splitlines():
        if line and not line[0].isspace() and line.strip() == line.strip().upper() and len(line) < 60:
            current = line.strip()
            found[current] = []
        elif current is not None:
            found[current].append(line)
    return found


def paragraphs(lines):
    """Blank-line separated paragraphs, whitespace collapsed, short ones (option names) joined
    to the paragraph they head."""
    out, block = [], []
    for line in lines + [""]:
        if line.strip():
            block.append(line.strip())
        elif block:
            out.append(re.sub(r"\s+", " ", " ".join(block)))
            block = []
    merged = []
    for paragraph in out:
        if merged and len(merged[-1].split()) < MIN_WORDS:
            merged[-1] = f"{merged[-1]} {paragraph}"
        else:
            merged.append(paragraph)
    return merged


def main():
    out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", NAME)
    with tempfile.TemporaryDirectory() as work:
        man = fetch(work)
        pages = []
        for section in sorted(os.listdir(man)):
            for file in sorted(os.listdir(os.path.join(man, section))):
                text = render(os.path.join(man, section, file))
                parts = sections(text)
                name_lines = " ".join(l.strip() for l in parts.get("NAZWA", []))
                summary = re.split(r"\s[-–—]\s", name_lines, maxsplit=1)
                body = paragraphs(parts.get("OPIS", []))[:MAX_PARAGRAPHS]
                if len(summary) != 2 or len(summary[1].split()) < 2 or not body:
                    continue
                page_id = file.removesuffix(".gz")
                pages.append((page_id, summary[1].strip(), body))
    # A summary shared by several pages (man pages of one tool family) makes one query
    # whose relevant paragraphs are each page's first.
    by_summary = {}
    for page_id, summary, _ in pages:
        by_summary.setdefault(summary, []).append(page_id)
    corpus = [
        {"_id": f"{page_id}-p{i}", "title": "", "text": paragraph}
        for page_id, _, body in pages
        for i, paragraph in enumerate(body)
    ]
    random.Random(12).shuffle(corpus)
    beir.write(out_dir, corpus,
               [(f"q-{ids[0]}", summary) for summary, ids in by_summary.items()],
               [(f"q-{ids[0]}", f"{page_id}-p0") for ids in by_summary.values() for page_id in ids])
    print(f"{NAME}: {len(pages)} pages, {len(corpus)} paragraphs, {len(by_summary)} queries")


if __name__ == "__main__":
    main()
