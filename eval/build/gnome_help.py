"""Builds the gnome-help-pl and gnome-help-en evaluation sets from GNOME's desktop help
(Debian package gnome-user-docs, pinned below): each topic page's title (how a user asks,
often as a question: "Jak skalibrować drukarkę?", "Why is my screen blurry?") against the
body of every topic page in that language. One relevant page per query; the title is not
in the passage, so matching it means understanding the answer.

    python3 eval/build/gnome_help.py        (from the repository root; needs apt-get)

Writes eval/gnome-help-pl/ and eval/gnome-help-en/ (corpus.jsonl, queries.jsonl,
qrels.tsv). Deterministic: the same package gives the same bytes.
"""
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

PACKAGE = "gnome-user-docs"
VERSION = "43.0-2"
DEB = f"{PACKAGE}_{VERSION}_all.deb"
MALLARD = "{http://projectmallard.org/1.0/}"
LANGS = {"pl": "gnome-help-pl", "C": "gnome-help-en"}
# Elements whose text is not part of the page's answer.
SKIP = {"info", "title", "desc", "media", "comment"}


def fetch(work):
    subprocess.run(["apt-get", "download", f"{PACKAGE}={VERSION}"], cwd=work, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    path = os.path.join(work, DEB)
    digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
    expected = open(os.path.join(os.path.dirname(__file__), "gnome_help.sha256")).read().split()[0]
    if digest != expected:
        sys.exit(f"{DEB}: sha256 {digest}, expected {expected}")
    subprocess.run(["dpkg-deb", "-x", path, os.path.join(work, "x")], check=True)
    return os.path.join(work, "x", "usr", "share", "help")


def text_of(element):
    """The visible text of an element, markup dropped, whitespace collapsed."""
    return re.sub(r"\s+", " ", "".join(element.itertext())).strip()


def blocks(element, out):
    """Paragraph-like pieces of a page body in document order: paragraphs, list items, table
    cells, section titles (they name what follows), code."""
    for child in element:
        tag = child.tag.replace(MALLARD, "")
        if tag in SKIP and not (tag == "title" and element.tag != f"{MALLARD}page"):
            continue
        if tag in {"p", "title", "code", "screen"}:
            text = text_of(child)
            if text:
                out.append(text)
        else:
            blocks(child, out)
    return out


def page(path):
    root = ET.parse(path).getroot()
    if root.get("type") != "topic":
        return None
    title = root.find(f"{MALLARD}title")
    if title is None:
        return None
    body = blocks(root, [])
    if not body:
        return None
    return root.get("id"), text_of(title), " ".join(body)


def build(help_dir, lang, name, out_dir):
    pages = []
    folder = os.path.join(help_dir, lang, "gnome-help")
    for file in sorted(os.listdir(folder)):
        if file.endswith(".page"):
            found = page(os.path.join(folder, file))
            if found:
                pages.append(found)
    target = os.path.join(out_dir, name)
    os.makedirs(target, exist_ok=True)
    corpus = [{"_id": pid, "title": "", "text": body} for pid, _, body in pages]
    random.Random(12).shuffle(corpus)
    with open(os.path.join(target, "corpus.jsonl"), "w", encoding="utf-8") as f:
        for record in corpus:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    # Pages that share a title (the steps of one troubleshooter) make one query that each
    # of them answers.
    by_title = {}
    for pid, title, _ in pages:
        by_title.setdefault(title, []).append(pid)
    with open(os.path.join(target, "queries.jsonl"), "w", encoding="utf-8") as f:
        for title, pids in by_title.items():
            f.write(json.dumps({"_id": f"q-{pids[0]}", "text": title}, ensure_ascii=False) + "\n")
    with open(os.path.join(target, "qrels.tsv"), "w", encoding="utf-8") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        for title, pids in by_title.items():
            for pid in pids:
                f.write(f"q-{pids[0]}\t{pid}\t1\n")
    print(f"{name}: {len(pages)} pages, {len(by_title)} queries")


def main():
    out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    with tempfile.TemporaryDirectory() as work:
        help_dir = fetch(work)
        for lang, name in LANGS.items():
            build(help_dir, lang, name, out_dir)


if __name__ == "__main__":
    main()
