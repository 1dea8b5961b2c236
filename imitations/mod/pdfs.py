"""The PDF bodies the site serves: the committed files, and the faulty variants.

The committed files come from make_pdfs.py; reading them needs nothing but the file
system. The ~3 MB PDF of the big-pdf fault is built on demand, without reportlab, as an
incremental update of a committed file: the same pages and text, plus an unreferenced
3,000,000-byte image object. It stays a valid PDF that any reader opens.
"""

from __future__ import annotations

import functools
import random
import re
from pathlib import Path

FILES = Path(__file__).parent / "files"

_IMAGE_SIDE = 1000  # a 1000 x 1000 RGB image: 3,000,000 bytes of samples


@functools.cache
def committed(path: str) -> bytes:
    """The bytes of the PDF served at ``path`` (files/<path>)."""
    return (FILES / path.lstrip("/")).read_bytes()


def _trailer_value(pdf: bytes, key: bytes) -> bytes:
    match = re.search(rb"/" + key + rb"\s+(\d+(?:\s+\d+\s+R)?)", pdf[pdf.rindex(b"trailer") :])
    if match is None:
        raise ValueError(f"no /{key.decode()} in the trailer")
    return match.group(1)


@functools.cache
def enlarged(path: str) -> bytes:
    """The PDF at ``path`` grown to a little over 3 MB by an incremental update."""
    base = committed(path)
    number = int(_trailer_value(base, b"Size"))
    prev = int(re.findall(rb"startxref\s+(\d+)", base)[-1])
    samples = random.Random(path).randbytes(_IMAGE_SIDE * _IMAGE_SIDE * 3)
    out = bytearray(base)
    if not out.endswith(b"\n"):
        out += b"\n"
    offset = len(out)
    out += (
        f"{number} 0 obj\n<< /Type /XObject /Subtype /Image /Width {_IMAGE_SIDE}"
        f" /Height {_IMAGE_SIDE} /ColorSpace /DeviceRGB /BitsPerComponent 8"
        f" /Length {len(samples)} >>\nstream\n"
    ).encode()
    out += samples + b"\nendstream\nendobj\n"
    xref = len(out)
    out += f"xref\n0 1\n0000000000 65535 f \n{number} 1\n{offset:010d} 00000 n \n".encode()
    out += b"trailer\n<< /Size %d /Root %s /Info %s /Prev %d >>\n" % (
        number + 1,
        _trailer_value(base, b"Root"),
        _trailer_value(base, b"Info"),
        prev,
    )
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


@functools.cache
def garbage(path: str) -> bytes:
    """Bytes that are not a PDF at all (no %PDF- header), served as application/pdf."""
    return random.Random(path).randbytes(2048)
