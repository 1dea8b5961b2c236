"""Text forms used across the pipeline: the normalized form for keyword matching and content
comparison, whitespace folding, short summaries, and the content hash."""

from __future__ import annotations

import hashlib
import re
import unicodedata

__all__ = ["content_hash", "fold_whitespace", "normalize", "summarize"]

# Invisible format characters that pages sprinkle into text; they would make equal text
# compare unequal and hide keywords from matching.
# (A compiled regex deletes them about twice as fast as str.translate with a dict.)
_INVISIBLE = re.compile("[\u00ad\u200b\u2060\ufeff]")

# Full-width ends always close a sentence; ASCII ones only before a space, so that 3.5 and
# "Yahoo!ニュース" are not cut.
_SENTENCE_ENDS = "。！？"
_ASCII_ENDS = ".!?"
_CLOSERS = "」』）)】〕\"'”’"
_ZWJ = "\u200d"


def fold_whitespace(text: str) -> str:
    """Runs of any whitespace (spaces, U+3000, tabs, newlines) as one space, ends stripped."""
    return " ".join(text.split())


def _nfkc_casefold(text: str) -> str:
    # Case folding can yield characters NFKC would rewrite, and NFKC can yield characters case
    # folding would rewrite; repeating until nothing changes makes normalize() idempotent.
    for _ in range(4):
        folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
        if folded == text:
            break
        text = folded
    return text


def normalize(text: str) -> str:
    """NFKC, case-folded, whitespace-folded text: ＡＳＥＡＮ, ａｓｅａｎ and ASEAN all read ``asean``."""
    result = text
    for _ in range(4):
        # Folding whitespace can bring a combining mark next to a new base character, which
        # NFKC may then compose; go round until the text is stable.
        folded = fold_whitespace(_nfkc_casefold(_INVISIBLE.sub("", result)))
        if folded == result:
            break
        result = folded
    return result


def _continues_cluster(text: str, index: int) -> bool:
    """Whether cutting ``text`` before ``index`` would split a user-perceived character."""
    if index <= 0 or index >= len(text):
        return False
    char, before = text[index], text[index - 1]
    if unicodedata.category(char) in ("Mn", "Mc", "Me") or char == _ZWJ or before == _ZWJ:
        return True
    code = ord(char)
    if 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF or 0x1F3FB <= code <= 0x1F3FF:
        return True  # variation selectors and skin-tone modifiers belong to the character before
    if 0xDC00 <= code <= 0xDFFF and 0xD800 <= ord(before) <= 0xDBFF:
        return True  # a surrogate pair smuggled in through surrogateescape
    if _is_regional_indicator(char) and _is_regional_indicator(before):
        # Flags are pairs of regional indicators: a cut is inside one after an odd count.
        run = 0
        while index - run - 1 >= 0 and _is_regional_indicator(text[index - run - 1]):
            run += 1
        return run % 2 == 1
    return False


def _is_regional_indicator(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def _sentence_cut(text: str, limit: int) -> int | None:
    """The end of the last sentence that finishes within ``limit`` and in its last third."""
    floor = limit - limit // 3
    for end in range(limit, floor - 1, -1):
        char = text[end - 1]
        if char in _SENTENCE_ENDS or (char in _ASCII_ENDS and text[end].isspace()):
            # Keep the closing bracket of a quoted sentence with it: …した。」
            while end < len(text) and end < limit and text[end] in _CLOSERS:
                end += 1
            return end
        if char in _CLOSERS and end >= 2 and text[end - 2] in _SENTENCE_ENDS:
            return end
    return None


def summarize(text: str, limit: int = 200) -> str:
    """The start of ``text`` in about ``limit`` characters, whitespace folded.

    Ends on a sentence boundary (。, ". ", ！, ？) when one falls in the last third of the
    limit; otherwise cuts at ``limit`` characters, never inside a combining sequence, and
    appends "…". The result never ends in whitespace.
    """
    if limit < 1:
        raise ValueError(f"summarize limit must be at least 1, got {limit}")
    text = fold_whitespace(text)
    if len(text) <= limit:
        return text
    sentence_end = _sentence_cut(text, limit)
    if sentence_end is not None:
        return text[:sentence_end].rstrip()
    cut = limit
    while cut > 0 and _continues_cluster(text, cut):
        cut -= 1
    if cut == 0:
        cut = limit  # one giant cluster: better a split mark than an empty summary
    return text[:cut].rstrip() + "…"


def content_hash(title: str, body: str) -> str:
    """SHA-256 hex of the normalized title and body, so cosmetic edits do not count as changes."""
    return hashlib.sha256(
        f"{normalize(title)}\n{normalize(body)}".encode("utf-8", "surrogatepass")
    ).hexdigest()
