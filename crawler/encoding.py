"""Bytes to text as a browser does it: WHATWG encoding labels, BOM first, then the HTTP
charset, then the document's own declaration (XML prolog or HTML ``<meta>``), then detection.

Python's codecs differ from the Encoding Standard where it matters for Asian sources:
``shift_jis`` lacks the Windows characters (①, 髙, ～, 﨑) that every browser decodes, so the
label maps to ``cp932``; ``gb2312`` maps to ``gb18030``, ``big5`` to ``big5hkscs``, ``euc-kr``
to ``cp949``, ``iso-8859-1`` and ``us-ascii`` to ``windows-1252``.

A declaration is believed when the bytes decode with it. When they do not, a few bad bytes
are replaced (U+FFFD) and reported as damage, so that the rest of the document still reads
(a later correct fetch repairs what they hit); many bad bytes mean the declaration is wrong,
and the encoding is detected instead (charset-normalizer), which is recorded.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field

__all__ = ["Decoded", "codec_for_label", "decode_document", "looks_like_mojibake"]

_LABELS: dict[str, tuple[str, ...]] = {
    "utf-8": ("unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "utf-8", "utf8", "x-unicode20utf8"),
    "cp932": ("csshiftjis", "ms932", "ms_kanji", "shift-jis", "shift_jis", "sjis", "windows-31j", "x-sjis", "cp932"),
    "euc_jp": ("cseucpkdfmtjapanese", "euc-jp", "x-euc-jp", "eucjp"),
    "iso2022_jp": ("csiso2022jp", "iso-2022-jp"),
    "gb18030": ("chinese", "csgb2312", "csiso58gb231280", "gb2312", "gb_2312", "gb_2312-80", "gbk",
                "iso-ir-58", "x-gbk", "gb18030", "cp936", "euc-cn"),
    "big5hkscs": ("big5", "big5-hkscs", "cn-big5", "csbig5", "x-x-big5"),
    "cp949": ("cseuckr", "csksc56011987", "euc-kr", "iso-ir-149", "korean", "ks_c_5601-1987",
              "ks_c_5601-1989", "ksc5601", "ksc_5601", "windows-949", "cp949"),
    "windows-1252": ("ansi_x3.4-1968", "ascii", "cp1252", "cp819", "csisolatin1", "ibm819", "iso-8859-1",
                     "iso-ir-100", "iso8859-1", "iso88591", "iso_8859-1", "iso_8859-1:1987", "l1",
                     "latin1", "us-ascii", "windows-1252", "x-cp1252"),
    "iso8859_2": ("csisolatin2", "iso-8859-2", "iso-ir-101", "iso8859-2", "iso88592", "iso_8859-2", "l2", "latin2"),
    "iso8859_5": ("csisolatincyrillic", "cyrillic", "iso-8859-5", "iso-ir-144", "iso8859-5", "iso_8859-5"),
    "iso8859_7": ("csisolatingreek", "ecma-118", "elot_928", "greek", "greek8", "iso-8859-7", "iso-ir-126",
                  "iso8859-7", "iso_8859-7"),
    "iso8859_15": ("csisolatin9", "iso-8859-15", "iso8859-15", "iso885915", "iso_8859-15", "l9"),
    "cp874": ("dos-874", "iso-8859-11", "iso8859-11", "iso885911", "tis-620", "windows-874"),
    "cp1250": ("cp1250", "windows-1250", "x-cp1250"),
    "cp1251": ("cp1251", "windows-1251", "x-cp1251"),
    "cp1253": ("cp1253", "windows-1253", "x-cp1253"),
    "cp1254": ("cp1254", "csisolatin5", "iso-8859-9", "iso-ir-148", "iso8859-9", "l5", "latin5", "windows-1254"),
    "cp1255": ("cp1255", "windows-1255", "x-cp1255"),
    "cp1256": ("cp1256", "windows-1256", "x-cp1256"),
    "cp1258": ("cp1258", "windows-1258", "x-cp1258"),
    "koi8_r": ("cskoi8r", "koi", "koi8", "koi8-r", "koi8_r"),
    "koi8_u": ("koi8-ru", "koi8-u"),
    "mac_roman": ("csmacintosh", "mac", "macintosh", "x-mac-roman"),
    "cp866": ("866", "cp866", "csibm866", "ibm866"),
    "utf-16-le": ("csunicode", "iso-10646-ucs-2", "ucs-2", "unicode", "unicodefeff", "utf-16", "utf-16le"),
    "utf-16-be": ("unicodefffe", "utf-16be"),
}  # fmt: skip
# Labels the Standard decodes to one replacement character: never read as text.
_REFUSED = {"csiso2022kr", "hz-gb-2312", "iso-2022-cn", "iso-2022-cn-ext", "iso-2022-kr", "replacement"}
_CODECS = {label: codec for codec, labels in _LABELS.items() for label in labels}

# What detection chooses among when nothing declares the encoding: the field's languages.
_DETECT = ["utf_8", "cp932", "euc_jp", "iso2022_jp", "cp949", "gb18030", "big5hkscs", "cp1252"]


def _whatwg_1252(error: UnicodeError) -> tuple[str, int]:
    # windows-1252 as the Standard has it: the five bytes Python leaves undefined are C1.
    assert isinstance(error, UnicodeDecodeError)
    return chr(error.object[error.start]), error.start + 1


codecs.register_error("defwatch-c1", _whatwg_1252)


def codec_for_label(label: str) -> str | None:
    """The Python codec for an encoding label as the WHATWG Encoding Standard reads it,
    or None for an unknown or refused label."""
    name = label.strip().strip("\"'").lower()
    if name in _REFUSED:
        return None
    codec = _CODECS.get(name)
    if codec is not None:
        return codec
    if name.startswith(("iso-8859-", "iso8859-", "windows-125")):
        try:
            return codecs.lookup(name).name
        except LookupError:
            return None
    return None


@dataclass
class Decoded:
    """A document's text, which encoding was used and why, and what went wrong."""

    text: str
    encoding: str  # Python codec name
    source: str  # bom | http | prolog | meta | default | detected
    damaged: int = 0  # byte sequences that did not decode (now U+FFFD)
    problems: list[str] = field(default_factory=list)  # counted reasons


_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_PROLOG = re.compile(rb"^\s*<\?xml[^>]*?\sencoding\s*=\s*[\"']([A-Za-z0-9._:-]{1,40})[\"']")
_META = re.compile(
    rb"<meta[^>]+?charset\s*=\s*[\"']?([A-Za-z0-9._:-]{1,40})", re.IGNORECASE
)  # both <meta charset> and http-equiv
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([^\s;\"']+)", re.IGNORECASE)
# Few bad bytes are damage to report and repair; more mean the declaration is wrong.
_FEW = 8


def decode_document(body: bytes, content_type: str = "", *, html: bool = False) -> Decoded:
    """``body`` as text, decoded the way a browser would."""
    problems: list[str] = []
    declared: list[tuple[str, str]] = []  # (codec, source), in the order they are believed
    bom = next(((codec, len(mark)) for mark, codec in _BOMS if body.startswith(mark)), None)
    in_doc = _declared_in_document(body[bom[1] if bom else 0 :][:2048], html)
    if bom is not None:
        codec, skip = bom
        if in_doc is not None and not _same_family(in_doc, codec):
            problems.append("bom_contradicts_declaration")
        return _strict_or_damaged(body[skip:], codec, "bom", problems)
    if match := _CHARSET.search(content_type or ""):
        http = codec_for_label(match[1])
        if http is None:
            problems.append("unknown_encoding_label")
        else:
            declared.append((http, "http"))
    if in_doc is not None:
        own = codec_for_label(in_doc)
        if own is None:
            problems.append("unknown_encoding_label")
        elif all(own != c for c, _ in declared):
            declared.append((own, "meta" if html else "prolog"))
    if len(declared) == 2:
        problems.append("declarations_disagree")
    for codec, source in declared:
        try:
            return Decoded(_decode_as(body, codec), codec, source, 0, problems)
        except UnicodeDecodeError:
            continue
    if declared:
        # None of them fits every byte. A handful of bad bytes is damage in a right
        # declaration; more than that, the declaration is wrong and detection decides.
        codec, source = declared[0]
        bad = _count_bad(body, codec)
        if bad <= _FEW:
            return _strict_or_damaged(body, codec, source, problems)
        problems.append("declared_encoding_wrong")
    else:
        try:
            return Decoded(body.decode("utf-8"), "utf-8", "default", 0, problems)
        except UnicodeDecodeError:
            pass
    detected = _detect(body)
    if detected is not None:
        if not declared:
            problems.append("encoding_detected")
        return Decoded(_decode_as(body, detected), detected, "detected", 0, problems)
    fallback = declared[0][0] if declared else "utf-8"
    return _strict_or_damaged(body, fallback, declared[0][1] if declared else "default", problems)


def _declared_in_document(head: bytes, html: bool) -> str | None:
    match = _PROLOG.match(head)
    if match is None and html:
        match = _META.search(head)
    return match[1].decode("ascii") if match else None


def _same_family(label: str, bom_codec: str) -> bool:
    codec = codec_for_label(label)
    # A UTF-16 document's prolog may say "utf-16" without the byte order.
    return (
        codec is None or codec == bom_codec or (codec.startswith("utf-16") and bom_codec.startswith("utf-16"))
    )


def _errors(codec: str) -> str:
    return "defwatch-c1" if codec == "windows-1252" else "strict"


def _decode_as(body: bytes, codec: str) -> str:
    return body.decode("cp1252" if codec == "windows-1252" else codec, _errors(codec))


def _count_bad(body: bytes, codec: str) -> int:
    text = body.decode(codec, "replace")
    return text.count("\ufffd") - body.decode(codec, "ignore").count("\ufffd")


def _strict_or_damaged(body: bytes, codec: str, source: str, problems: list[str]) -> Decoded:
    try:
        return Decoded(_decode_as(body, codec), codec, source, 0, problems)
    except UnicodeDecodeError:
        text = body.decode(codec, "replace")
        bad = text.count("\ufffd") - body.decode(codec, "ignore").count("\ufffd")
        return Decoded(text, codec, source, bad, [*problems, "invalid_bytes"])


_KANA = re.compile("[\u3041-\u30ff]")


def _japanese(body: bytes) -> str | None:
    """CP932 or EUC-JP when the bytes decode with it into text with plenty of kana: the
    detector alone takes short Shift_JIS titles for Korean."""
    for codec in ("cp932", "euc_jp"):
        try:
            text = body.decode(codec)
        except UnicodeDecodeError:
            continue
        non_ascii = len(_NON_ASCII.findall(text))
        if non_ascii and len(_KANA.findall(text)) / non_ascii >= 0.2:
            return codec
    return None


def _detect(body: bytes) -> str | None:
    from charset_normalizer import from_bytes

    japanese = _japanese(body)
    if japanese is not None:
        return japanese
    best = from_bytes(body, cp_isolation=_DETECT).best()
    if best is None or best.encoding is None:
        return None
    codec = codec_for_label(best.encoding.replace("_", "-")) or best.encoding
    try:
        _decode_as(body, codec)
    except (UnicodeDecodeError, LookupError):
        try:
            body.decode(best.encoding)
        except (UnicodeDecodeError, LookupError):
            return None
        return best.encoding
    return codec


# Latin-1 letters and half-width katakana: what CJK text decoded with the wrong codec shows.
_SUSPECT = re.compile("[\u00c0-\u00ff\u0080-\u00bf\uff61-\uff9f\u0100-\u024f]")
_NON_ASCII = re.compile("[^\x00-\x7f]")


def looks_like_mojibake(text: str) -> bool:
    """Whether text meant to be Japanese, Chinese or Korean reads as mostly Latin-1 letters
    or half-width katakana (the signs of a wrong decoder)."""
    non_ascii = len(_NON_ASCII.findall(text))
    if non_ascii < 4:
        return False
    return len(_SUSPECT.findall(text)) / non_ascii > 0.5
