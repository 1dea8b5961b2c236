"""Generate the imitation's PDFs into files/ from pdf_docs.py; the outputs are committed.

Run after changing a PDF in pdf_docs.py:  .venv/bin/python -m imitations.mod.make_pdfs

Needs reportlab (a test extra) and, for the one PDF with an embedded font, the IPAex
Gothic TrueType file shipped by matplotlib-fontja. The server itself only reads the files.
Output is byte-for-byte reproducible (reportlab's invariant mode).
"""

from __future__ import annotations

import sys
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from imitations.mod import data
from imitations.mod.layout import wrap

FILES = Path(__file__).parent / "files"
MARGIN = 56.0
SIZE = 10.5
LEADING = 18.0


def register_fonts() -> None:
    """Make the fonts data.PdfDoc.font names known to reportlab (idempotent)."""
    for name in ("HeiseiKakuGo-W5", "HeiseiMin-W3"):
        pdfmetrics.registerFont(UnicodeCIDFont(name))
    import matplotlib_fontja

    ttf = Path(matplotlib_fontja.__file__).parent / "fonts" / "ipaexg.ttf"
    pdfmetrics.registerFont(TTFont("IPAexGothic", str(ttf)))


def file_for(path: str) -> Path:
    """Where the file served at ``path`` lives."""
    return FILES / path.lstrip("/")


def render(doc: data.PdfDoc) -> bytes:
    """The document on A4 pages, one drawn line per wrapped line, top to bottom."""
    from io import BytesIO

    out = BytesIO()
    page = canvas.Canvas(out, pagesize=A4, invariant=True)
    page.setTitle(doc.lines[2] if doc.path.startswith("/j/press/news/") else doc.lines[0])
    page.setAuthor("防衛省")
    width, height = A4
    y = height - MARGIN
    for line in wrap(doc.lines):
        if y < MARGIN:
            page.showPage()
            y = height - MARGIN
        page.setFont(doc.font, SIZE)
        page.drawString(MARGIN, y, line)
        y -= LEADING
    page.showPage()
    page.save()
    return out.getvalue()


def main() -> int:
    register_fonts()
    for doc in data.ALL_PDFS.values():
        target = file_for(doc.path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(render(doc))
        print(f"{target.relative_to(FILES)}  {target.stat().st_size} bytes  ({doc.font})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
