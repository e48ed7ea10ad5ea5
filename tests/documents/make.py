#!/usr/bin/env python3
"""Makes the test documents whose true text is known: the seed articles, and the
poquad-dev passages, rendered as PDF, HTML, DOCX, ODT and EPUB.

The true text of each document is written beside it (truth/NAME.txt: the title, then one
paragraph or heading per line, headings marked with "# "). akapit's extraction is compared
with it by bench/fidelity.py and tests/documents.rs.

Needs (never in CI; the generated files are committed):
  - Python packages from tests/documents/requirements.txt (reportlab, pyphen);
  - Debian's pandoc (2.17) for DOCX, ODT and EPUB;
  - Debian's fonts-dejavu-core (DejaVu Sans, which has every Polish letter).
Run from the repository root:  python3 tests/documents/make.py
"""

import html
import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

from reportlab.lib.enums import TA_JUSTIFY
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (BaseDocTemplate, Frame, FrameBreak, NextPageTemplate,
                                PageTemplate, Paragraph, Spacer)

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "documents"
FONTS = Path("/usr/share/fonts/truetype/dejavu")
# PDFs carry their creation date and a random id unless told otherwise; fixed, they rebuild
# byte-identically.
os.environ["SOURCE_DATE_EPOCH"] = "1700000000"

pdfmetrics.registerFont(TTFont("DejaVu", str(FONTS / "DejaVuSans.ttf")))
pdfmetrics.registerFont(TTFont("DejaVu-Bold", str(FONTS / "DejaVuSans-Bold.ttf")))

BODY = ParagraphStyle("body", fontName="DejaVu", fontSize=10, leading=13.5,
                      alignment=TA_JUSTIFY, spaceAfter=6, hyphenationLang="pl_PL",
                      embeddedHyphenation=1, uriWasteReduce=0.3)
H1 = ParagraphStyle("h1", fontName="DejaVu-Bold", fontSize=17, leading=21, spaceAfter=10)
H2 = ParagraphStyle("h2", fontName="DejaVu-Bold", fontSize=12.5, leading=16, spaceBefore=6,
                    spaceAfter=6)

RUNNING_HEADER = "Ośrodek Analiz Wschodnich · Komentarze · 2025"


# ---------------------------------------------------------------- true text

def is_copy_furniture(block):
    """What the seeds' authors copied along with the article from a web page or PDF and the
    rendered documents should not carry as article text: publication stamps, photo credits,
    "read more" markers, link lists, source credits made of domain names."""
    return (block.startswith(("Publikacja:", "Foto:", "Czytaj więcej"))
            or "http://" in block or "https://" in block
            or re.fullmatch(r"[\w.-]+\.(pl|by|ru|com|org)( / [\w.-]+\.(pl|by|ru|com|org))*", block)
            is not None)


def seed_truth(path):
    """The seed's paragraphs: blank-line blocks joined, a hyphen at a line end before a
    lowercase letter dropped; a short block without a final stop is a heading; the first
    heading is the title. Lone numbers (page numbers of the copied PDF), the furniture of
    the copied page (`is_copy_furniture`: with the teaser after a "read more" marker and the
    caption before a credit) and repeated paragraphs are left out."""
    text = path.read_text(encoding="utf-8")
    blocks = []
    for block in re.split(r"\n\s*\n", text):
        lines = [l.strip() for l in block.split("\n") if l.strip()]
        # Photo captions and credits of the copied web page are not article text.
        lines = [l for l in lines if "Zdjęcie:" not in l]
        if not lines:
            continue
        if max(len(l) for l in lines) > 200:
            # A web copy: one paragraph per line.
            blocks.extend(re.sub(r"\s+", " ", l) for l in lines)
            continue
        joined = lines[0]
        for line in lines[1:]:
            if joined.endswith("-") and line[:1].islower() and not joined.endswith(" -"):
                joined = joined[:-1] + line
            else:
                joined += " " + line
        joined = re.sub(r"\s+", " ", joined).strip()
        if re.fullmatch(r"[\d\s]+", joined) or joined.startswith(("http://", "https://", "www.")):
            continue
        blocks.append(joined)
    kept = []
    skip_next = False
    for block in blocks:
        if skip_next:
            skip_next = False
            continue
        if block.startswith("Czytaj więcej"):
            skip_next = True
            continue
        if block.startswith("Foto:"):
            # The caption above the credit, given twice (alt text and caption).
            while kept and len(kept[-1]) < 60:
                kept.pop()
            continue
        if is_copy_furniture(block) or block in kept:
            continue
        kept.append(block)
    blocks = kept
    title, items = None, []
    for index, block in enumerate(blocks):
        heading = len(block) < 90 and not block.endswith((".", ":", ";", ","))
        if heading and index == 0:
            title = block
        elif heading:
            items.append(("h", block))
        else:
            items.append(("p", block))
    return title or f"Komentarz {path.stem[:3]}", items


def write_truth(name, title, items):
    lines = [title] + [("# " + t if kind == "h" else t) for kind, t in items]
    (OUT / "truth").mkdir(parents=True, exist_ok=True)
    (OUT / "truth" / f"{name}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


# ---------------------------------------------------------------- PDF

def escape(text):
    return html.escape(text, quote=False)


def furniture(canvas, doc):
    """A running header and a page number on every page."""
    canvas.saveState()
    canvas.setFont("DejaVu", 8)
    width, height = A4
    canvas.drawString(56, height - 36, RUNNING_HEADER)
    canvas.line(56, height - 40, width - 56, height - 40)
    canvas.drawCentredString(width / 2, 30, f"– {doc.page} –")
    canvas.restoreState()


def pdf(path, title, items, columns):
    width, height = A4
    margin, gutter, top = 56, 18, 60
    doc = BaseDocTemplate(str(path), pagesize=A4, title=title, author="akapit tests",
                          creator="akapit tests/documents/make.py", invariant=1)
    body_height = height - 2 * top
    if columns == 1:
        frames = [Frame(margin, top, width - 2 * margin, body_height, id="body")]
        doc.addPageTemplates([PageTemplate(id="page", frames=frames, onPage=furniture)])
        story = [Paragraph(escape(title), H1)]
    else:
        column = (width - 2 * margin - gutter) / 2
        title_height = 70
        first = [Frame(margin, height - top - title_height, width - 2 * margin, title_height, id="title"),
                 Frame(margin, top, column, body_height - title_height, id="left1"),
                 Frame(margin + column + gutter, top, column, body_height - title_height, id="right1")]
        later = [Frame(margin, top, column, body_height, id="left"),
                 Frame(margin + column + gutter, top, column, body_height, id="right")]
        doc.addPageTemplates([PageTemplate(id="first", frames=first, onPage=furniture),
                              PageTemplate(id="later", frames=later, onPage=furniture)])
        story = [Paragraph(escape(title), H1), NextPageTemplate("later"), FrameBreak()]
    for kind, text in items:
        story.append(Paragraph(escape(text), H2 if kind == "h" else BODY))
    doc.build(story)


# ---------------------------------------------------------------- HTML

SITE_TOP = """<!DOCTYPE html>
<html lang="pl"><head>
<meta charset="{charset}">
<title>{title} | Portal Wschodni</title>
<link rel="stylesheet" href="/static/site.css">
<script>window.dataLayer = window.dataLayer || []; function gtag(){{dataLayer.push(arguments);}} gtag('config', 'G-TRACKER');</script>
<style>.cookie-consent {{ position: fixed; bottom: 0 }}</style>
</head><body>
<div id="cookie-consent" class="cookie-consent"><p>Ta strona korzysta z plików cookies. Korzystając z serwisu akceptujesz politykę prywatności.</p><button>Akceptuję</button></div>
<header class="site-header"><a class="logo" href="/">Portal Wschodni</a>
<nav class="main-menu"><ul><li><a href="/">Strona główna</a></li><li><a href="/kraj">Kraj</a></li><li><a href="/swiat">Świat</a></li><li><a href="/gospodarka">Gospodarka</a></li><li><a href="/opinie">Opinie</a></li></ul></nav>
<form class="search" action="/szukaj"><input name="q" placeholder="Szukaj w serwisie"></form></header>
<div class="breadcrumbs"><a href="/">Strona główna</a> › <a href="/swiat">Świat</a></div>
<main><article>
<h1>{title}</h1>
<div class="share-buttons"><a href="#">Udostępnij na Facebooku</a> <a href="#">Udostępnij na X</a> <a href="#">Wyślij e-mailem</a></div>
"""

SITE_BOTTOM = """<aside class="related-articles"><h3>Czytaj także</h3><ul>
<li><a href="/a/1">Nowe sankcje wobec importu nawozów sztucznych z Rosji</a></li>
<li><a href="/a/2">Kolejka na przejściu granicznym w Terespolu rośnie</a></li></ul></aside>
<div class="newsletter-box"><h3>Zapisz się na newsletter</h3><p>Codziennie rano najważniejsze wiadomości ze Wschodu w Twojej skrzynce.</p></div>
</article></main>
<aside class="sidebar"><h3>Najczęściej czytane</h3><ol><li><a href="/b/1">Ranking najlepszych uczelni technicznych</a></li><li><a href="/b/2">Prognoza pogody na weekend</a></li></ol></aside>
<footer class="site-footer"><p>© 2025 Portal Wschodni sp. z o.o. Wszelkie prawa zastrzeżone.</p>
<p><a href="/regulamin">Regulamin</a> · <a href="/prywatnosc">Polityka prywatności</a> · <a href="/kontakt">Kontakt z redakcją</a></p></footer>
<script src="/static/analytics.js"></script>
</body></html>
"""

# Words and phrases of the site furniture above; none may reach a passage.
BOILERPLATE = ["cookies", "Akceptuję", "Strona główna", "Gospodarka", "Szukaj w serwisie",
               "Udostępnij", "Wyślij e-mailem", "Czytaj także", "nawozów sztucznych",
               "Terespolu", "newsletter", "skrzynce", "Najczęściej czytane", "uczelni",
               "pogody", "Wszelkie prawa", "Regulamin", "Polityka prywatności",
               "Kontakt z redakcją", "dataLayer", "G-TRACKER", "position: fixed",
               "Portal Wschodni"]


def html_page(path, title, items, charset):
    body = [SITE_TOP.format(title=escape(title), charset=charset)]
    for kind, text in items:
        body.append(f"<h2>{escape(text)}</h2>\n" if kind == "h" else f"<p>{escape(text)}</p>\n")
    body.append(SITE_BOTTOM)
    data = "".join(body).encode(charset)
    path.write_bytes(data)


# ---------------------------------------------------------------- pandoc

def markdown(title, items):
    lines = []
    for kind, text in items:
        # Pandoc reads some punctuation as markup; a backslash keeps it literal.
        text = re.sub(r"([\\`*_{}\[\]<>#|~^$])", r"\\\1", text)
        text = re.sub(r"^(\d+)\.", r"\1\\.", text)
        lines.append(("## " + text) if kind == "h" else text)
        lines.append("")
    return "\n".join(lines)


def pandoc(path, title, items, fmt):
    args = ["pandoc", "-f", "markdown-smart-auto_identifiers", "-t", fmt, "-o", str(path),
            "--metadata", f"title={title}", "--metadata", "lang=pl-PL",
            "--metadata", "date=2025-01-01"]
    if fmt == "epub":
        args += ["--epub-chapter-level=2"]
    subprocess.run(args, input=markdown(title, items), text=True, check=True)


# ---------------------------------------------------------------- poquad-dev in PDFs

def poquad_groups(per_file=20):
    """poquad-dev passages grouped by article, articles packed into files of about
    `per_file` passages, in corpus order."""
    articles = {}
    with open(ROOT / "eval" / "poquad-dev" / "corpus.jsonl", encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            articles.setdefault(record["title"], []).append(record)
    files, current = [], []
    for title, records in articles.items():
        current.append((title, records))
        if sum(len(r) for _, r in current) >= per_file:
            files.append(current)
            current = []
    if current:
        files.append(current)
    return files


def poquad():
    out = OUT / "poquad-pdf"
    out.mkdir(parents=True, exist_ok=True)
    # Which corpus passages each file holds, in order: the test writes the same text as plain
    # text files from the corpus, and maps passages found back to corpus ids.
    groups = {}
    for n, group in enumerate(poquad_groups()):
        name = f"poquad-{n:02d}"
        title = group[0][0]
        items = []
        for article, records in group:
            items.append(("h", article))
            items.extend(("p", r["text"]) for r in records)
        pdf(out / f"{name}.pdf", title, items, columns=1)
        groups[name] = [[article, [r["_id"] for r in records]] for article, records in group]
    (out / "groups.json").write_text(json.dumps(groups, ensure_ascii=False, indent=1) + "\n",
                                     encoding="utf-8")


# ---------------------------------------------------------------- inputs that must fail well

def bad_inputs():
    from reportlab.pdfgen import canvas
    from reportlab.lib import pdfencrypt
    out = OUT / "bad"
    out.mkdir(parents=True, exist_ok=True)
    # Encrypted with a user password.
    enc = pdfencrypt.StandardEncryption("tajne", ownerPassword="wlasciciel", strength=128)
    c = canvas.Canvas(str(out / "encrypted.pdf"), encrypt=enc, invariant=1)
    c.setFont("DejaVu", 12)
    c.drawString(72, 720, "Tajny raport o sankcjach.")
    c.showPage()
    c.save()
    # Only an image, no text layer (what a scanner makes).
    from PIL import Image, ImageDraw
    image = Image.new("L", (600, 200), 255)
    ImageDraw.Draw(image).text((20, 80), "Skan strony bez warstwy tekstu", fill=0)
    image_path = out / "scan.png"
    image.save(image_path)
    c = canvas.Canvas(str(out / "scanned.pdf"), invariant=1)
    c.drawImage(str(image_path), 72, 500, width=450, height=150)
    c.showPage()
    c.save()
    image_path.unlink()
    # A PDF cut short, as by a failed download.
    seed_pdf = (OUT / "seeds-pdf").glob("*.pdf")
    whole = sorted(seed_pdf)[0].read_bytes()
    (out / "truncated.pdf").write_bytes(whole[: len(whole) * 6 // 10])
    # A thousand pages.
    c = canvas.Canvas(str(out / "pages-1000.pdf"), invariant=1)
    rng = random.Random(13)
    words = "sankcje rozmowy więźniowie granica reżim wybory gospodarka eksport import".split()
    for page in range(1, 1001):
        c.setFont("DejaVu", 10)
        for line in range(40):
            c.drawString(56, 780 - line * 18, " ".join(rng.choice(words) for _ in range(9)) + ".")
        c.drawCentredString(297, 30, str(page))
        c.showPage()
    c.save()


def main():
    seeds = sorted((ROOT / "seeds").glob("*.txt"))
    for folder in ["seeds-pdf", "seeds-html", "seeds-docx", "seeds-odt", "seeds-epub"]:
        (OUT / folder).mkdir(parents=True, exist_ok=True)
    for index, seed in enumerate(seeds):
        name = seed.stem
        title, items = seed_truth(seed)
        write_truth(name, title, items)
        # Every other article in two columns.
        pdf(OUT / "seeds-pdf" / f"{name}.pdf", title, items, columns=2 if index % 2 else 1)
        # One page in a legacy Polish code page, declared in a <meta>.
        html_page(OUT / "seeds-html" / f"{name}.html", title, items,
                  "windows-1250" if index == 1 else "utf-8")
        pandoc(OUT / "seeds-docx" / f"{name}.docx", title, items, "docx")
        pandoc(OUT / "seeds-odt" / f"{name}.odt", title, items, "odt")
        pandoc(OUT / "seeds-epub" / f"{name}.epub", title, items, "epub")
    (OUT / "boilerplate.txt").write_text("\n".join(BOILERPLATE) + "\n", encoding="utf-8")
    poquad()
    bad_inputs()


if __name__ == "__main__":
    sys.exit(main())
