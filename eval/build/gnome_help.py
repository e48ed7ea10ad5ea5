"""Builds the gnome-help-pl and gnome-help-en evaluation sets from GNOME's desktop help
(Debian package gnome-user-docs, pinned below): each topic page's title (how a user asks,
often as a question: "Jak skalibrować drukarkę?", "Why is my screen blurry?") against the
body of every topic page in that language. One relevant page per query; the title is not
in the passage, so matching it means understanding the answer.

    python3 eval/build/gnome_help.py        (from the repository root; needs apt-get)

Writes eval/gnome-help-pl/ and eval/gnome-help-en/ (corpus.jsonl, queries.jsonl,
qrels.tsv). Deterministic: the same package gives the same bytes.
"""
import os
import random
import re
import tempfile
import xml.etree.ElementTree as ET

import beir
from pinned_deb import unpack

PACKAGE = "gnome-user-docs"
VERSION = "43.0-2"
DEB = f"{PACKAGE}_{VERSION}_all.deb"
MALLARD = "{http://projectmallard.org/1.0/}"
LANGS = {"pl": "gnome-help-pl", "C": "gnome-help-en"}
# Elements whose text is not part of the page's answer.
SKIP = {"info", "title", "desc", "media", "comment"}


def fetch(work):
    return os.path.join(unpack(PACKAGE, VERSION, DEB, "gnome_help.sha256", work), "usr", "share", "help")


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
    corpus = [{"_id": pid, "title": "", "text": body} for pid, _, body in pages]
    random.Random(12).shuffle(corpus)
    # Pages that share a title (the steps of one troubleshooter) make one query that each
    # of them answers.
    by_title = {}
    for pid, title, _ in pages:
        by_title.setdefault(title, []).append(pid)
    beir.write(target, corpus,
               [(f"q-{pids[0]}", title) for title, pids in by_title.items()],
               [(f"q-{pids[0]}", pid) for pids in by_title.values() for pid in pids])
    print(f"{name}: {len(pages)} pages, {len(by_title)} queries")


def main():
    out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    with tempfile.TemporaryDirectory() as work:
        help_dir = fetch(work)
        for lang, name in LANGS.items():
            build(help_dir, lang, name, out_dir)


if __name__ == "__main__":
    main()
