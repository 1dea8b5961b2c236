"""Text out of a PDF the way a reader of Japanese expects it: pypdf (which reads the CID
fonts of ministry PDFs correctly, where pdfminer.six garbles them), then lines that the page
layout wrapped joined back into the lines the author wrote.

Nothing here raises on bad input: a body that is not a PDF, or one pypdf cannot read, comes
back as a :class:`PdfText` without text and with the reason.
"""

from __future__ import annotations

import contextlib
import io
import time
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pypdf import PdfReader

__all__ = ["PdfText", "join_wrapped_lines", "read_pdf", "text_width"]

# Characters that never start a line (kinsoku shori): a layout keeps them on the line
# before, even past the right margin.
_NO_LINE_START = frozenset("、。，．）」』】〕・ー？！")
# A document whose widest line is narrower than this has no wrapped prose to rejoin.
MIN_WRAP_CELLS = 20
# Where the PDF header must appear (readers accept leading junk up to about this far).
_HEADER_WINDOW = 1024
# A PDF bomb is a small file whose page holds megabytes of drawing operators: pypdf parses
# them in Python (1 MB took 1.3 s of CPU) and by default stops at 2,000,000 tokens a stream,
# 7 s of CPU for one page. A dense page of a real order has a few thousand.
MAX_STREAM_TOKENS = 200_000
# CPU seconds one PDF's text may take, whatever its number of pages.
MAX_CPU_SECONDS = 5.0


@dataclass(frozen=True)
class PdfText:
    """What a PDF gave: its text, or why there is none (``problem`` is the counter name)."""

    text: str | None
    problem: str | None = None  # pdf_not_a_pdf | pdf_unreadable | pdf_encrypted | pdf_no_text
    reason: str | None = None  # for a person
    pages: int = 0


def read_pdf(body: bytes, content_type: str = "") -> PdfText:
    """The text of a PDF, wrapped lines joined; or the problem and its reason."""
    if b"%PDF-" not in body[:_HEADER_WINDOW]:
        answered = content_type.split(";")[0].strip().lower()
        if answered and answered not in ("application/pdf", "application/x-pdf", "application/octet-stream"):
            reason = f"not a PDF: the server answered {answered}"
        else:
            reason = f"not a PDF: no %PDF- header in the first {_HEADER_WINDOW} bytes"
        return PdfText(None, "pdf_not_a_pdf", reason)
    started = time.process_time()
    try:
        with _bounded():
            reader = PdfReader(io.BytesIO(body))
            if reader.is_encrypted and not reader.decrypt(""):
                return PdfText(None, "pdf_encrypted", "the PDF is encrypted with a password")
            pages: list[str] = []
            for page in reader.pages:
                if time.process_time() - started > MAX_CPU_SECONDS:
                    return PdfText(
                        None,
                        "pdf_unreadable",
                        f"the PDF took more than {MAX_CPU_SECONDS:g} s of CPU to read "
                        f"({len(pages)} of {len(reader.pages)} pages read): not read",
                    )
                pages.append(page.extract_text() or "")
    except Exception as exc:  # pypdf raises many unrelated types on damaged files
        return PdfText(None, "pdf_unreadable", f"the PDF cannot be read: {type(exc).__name__}: {exc}"[:300])
    lines = join_wrapped_lines("\n".join(pages).splitlines())
    if not lines:
        return PdfText(None, "pdf_no_text", "the PDF has no text layer (a scan?)", len(pages))
    return PdfText("\n".join(lines), pages=len(pages))


@contextlib.contextmanager
def _bounded() -> Iterator[None]:
    """pypdf's own limits, the parsing of a page's stream lowered to MAX_STREAM_TOKENS
    (pypdf 7 has the setting; older versions keep their defaults)."""
    try:
        from pypdf import apply_configuration
    except ImportError:
        yield
        return
    try:
        bounded = apply_configuration(stream_parsing_work_maximum_count=MAX_STREAM_TOKENS)
    except TypeError:  # a pypdf 7 without that setting
        yield
        return
    with bounded:
        yield


def text_width(text: str) -> float:
    """Width in full-width cells: wide and ambiguous characters 1, the rest ½."""
    return sum(1.0 if unicodedata.east_asian_width(c) in "WFA" else 0.5 for c in text)


def _wrap_width(lines: list[str], widths: list[float]) -> float:
    """The width the layout wrapped at, from the widest line; a line that ends past the
    margin on a no-line-start character (…です。) is one character wider than that."""
    widest = max(widths)
    for line, width in zip(lines, widths, strict=True):
        if width == widest and line[-1] in _NO_LINE_START:
            return widest - text_width(line[-1])
    return widest


def _is_table_row(line: str) -> bool:
    # Columns (a name, then its post) are set apart by two spaces or more: such a line is
    # a row of its own however wide it is.
    return "\u3000\u3000" in line or "  " in line or "\t" in line


def _glue(head: str, tail: str) -> str:
    # Japanese wraps between any two characters; only between two Latin words is a space lost.
    if head[-1].isascii() and head[-1].isalnum() and tail[0].isascii() and tail[0].isalnum():
        return f"{head} {tail}"
    return head + tail


def join_wrapped_lines(lines: Iterable[str]) -> list[str]:
    """The lines the author wrote, from the lines a layout wrapped.

    A line that fills the width the layout wrapped at (within half a cell: a half-width
    character left a gap too narrow for a full-width one) continued on the next line, and is
    joined to it with no space. Blank lines and trailing spaces go. Rows of a table (columns
    set apart by two spaces) and documents whose widest line is short are never joined.
    """
    physical = [line.rstrip() for line in lines]
    physical = [line for line in physical if line.strip()]
    if not physical:
        return []
    widths = [text_width(line) for line in physical]
    wrap = _wrap_width(physical, widths)
    joined: list[str] = []
    continues = False
    for line, width in zip(physical, widths, strict=True):
        if continues:
            joined[-1] = _glue(joined[-1], line)
        else:
            joined.append(line)
        continues = wrap >= MIN_WRAP_CELLS and width >= wrap - 0.5 and not _is_table_row(line)
    return joined
