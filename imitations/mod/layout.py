"""How a PDF's logical lines are laid out on the page: long lines wrap, Japanese style.

make_pdfs.py draws ``wrap(lines)``; tests compare the text extracted from a PDF with it.
Widths are counted in full-width cells: a half-width character (ASCII, half-width kana)
takes half a cell.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

LINE_CELLS = 40  # full-width cells per line on an A4 page at 10.5 pt with 56 pt margins

# Never at the start of a line (kinsoku): the line before takes them even if it overflows.
_NO_LINE_START = frozenset("、。，．）」』】〕・ー？！")


def _cells(char: str) -> float:
    return 1.0 if unicodedata.east_asian_width(char) in "WFA" else 0.5


def wrap_line(line: str, cells: int = LINE_CELLS) -> list[str]:
    out: list[str] = []
    current = ""
    width = 0.0
    for char in line:
        w = _cells(char)
        if current and width + w > cells and char not in _NO_LINE_START:
            out.append(current)
            current, width = "", 0.0
        current += char
        width += w
    out.append(current)
    return out


def wrap(lines: Iterable[str], cells: int = LINE_CELLS) -> list[str]:
    """The lines as drawn on the page."""
    return [part for line in lines for part in wrap_line(line, cells)]
