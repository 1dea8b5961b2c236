"""An article's body read from what a reader sees after the date line, and checked against an
independent reading (trafilatura) of the same page.

Themes write bodies as ``<p>`` in a box or straight in the article, as ``<br>`` lines in one
box, as ``div`` paragraphs; they put quoted releases in ``blockquote`` or boxes, figures
with captions in between, and share, related-article and author boxes after. The reader
starts at the first text block after the anchor (the date line, or the title), reads the
box that holds it (or its following siblings when they sit straight in the article) in
document order, looks into quotes and boxes, leaves out figures, buttons and link-only
lines, and stops at the first box that is page furniture (a share, related or author box:
recognised by its heading or first words, or by being mostly links).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection
from dataclasses import dataclass

import lxml.etree
from lxml.html import HtmlElement

from crawler.checks import Check
from crawler.html_page import HEADINGS, HtmlPage, clean, clean_block

__all__ = ["BodyReading", "compare_with_extractor", "read_body"]

_INLINE = frozenset(
    {
        "a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "del", "dfn", "em", "font", "i", "ins",
        "kbd", "label", "mark", "q", "rp", "rt", "ruby", "s", "samp", "small", "span", "strong", "sub",
        "sup", "time", "u", "var", "wbr",
    }
)  # fmt: skip
_LEFT_OUT = frozenset({"figure", "figcaption", "button", "img", "picture", "video", "audio", "input", "hr"})
# The first words of boxes that follow a body: share, related, author, tags, pager, comments.
_FURNITURE = tuple(
    unicodedata.normalize("NFKC", w).casefold()
    for w in (
        "シェア", "関連記事", "関連リンク", "関連ニュース", "この記事を書いた人", "執筆者", "著者", "プロフィール",
        "タグ", "前の記事", "次の記事", "コメント", "おすすめ", "人気記事", "share", "related", "tags",
        "about the author", "comments", "read more",
    )
)  # fmt: skip
_FURNITURE_REACH = 24  # characters of a box's first text looked at
_FURNITURE_BOX = 300  # a box opening with a furniture label and longer than this may be a body
_LINK_DENSE = 0.6


def _key(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def _link_density(el: HtmlElement) -> float:
    text = _key(el.text_content())
    if not text:
        return 0.0
    linked = sum(len(_key(a.text_content())) for a in el.iter("a"))
    return linked / len(text)


def _first_text(el: HtmlElement) -> str:
    for node in el.iter(lxml.etree.Element):
        if node.text and node.text.strip():
            return _key(node.text)[:_FURNITURE_REACH]
    return ""


def is_furniture(el: HtmlElement) -> bool:
    """A box after the body that is no part of it: it opens with a share/related/author
    label, or it is a heading over links, or it is mostly links."""
    first = _first_text(el)
    if any(w in first for w in _FURNITURE):
        return True
    links = sum(1 for _ in el.iter("a"))
    return links >= 2 and _link_density(el) >= _LINK_DENSE


def _is_block(el: HtmlElement) -> bool:
    return isinstance(el.tag, str) and el.tag not in _INLINE and el.tag != "br"


def _text_of(el: HtmlElement, skip: Collection[HtmlElement]) -> str:
    """The element's text without what is left out (figures, buttons, skipped elements);
    iterative, so that deep nesting cannot exhaust the stack."""
    if el.tag in _LEFT_OUT:
        return ""
    parts: list[str] = []
    stack: list[tuple[HtmlElement, bool]] = [(el, False)]
    while stack:
        node, done = stack.pop()
        if done:
            if node is not el and node.tail:
                parts.append(node.tail)
            continue
        stack.append((node, True))
        if isinstance(node.tag, str) and (node is el or (node.tag not in _LEFT_OUT and node not in skip)):
            if node.text:
                parts.append(node.text)
            stack.extend((child, False) for child in reversed(node))
    return "".join(parts)


@dataclass
class BodyReading:
    paragraphs: list[str]
    stopped_at: str | None = None  # the furniture box that ended the body (its first words)
    last: HtmlElement | None = None  # the last element whose text was taken


def read_body(page: HtmlPage, anchor: HtmlElement, skip: Collection[HtmlElement]) -> BodyReading:
    """The body paragraphs after ``anchor`` (the date line or the title heading)."""
    start = page.end(anchor)
    first = None
    above = {anchor, *anchor.iterancestors()}
    for el in page.doc.iter(lxml.etree.Element):
        if page.order[el] <= start or el in skip or el.tag in HEADINGS or el.tag in _LEFT_OUT:
            continue
        if el.tag == "time" and el.get("datetime"):
            continue  # a date under the title, no body text
        if any(a.tag in _LEFT_OUT for a in el.iterancestors()):
            continue
        own = clean((el.text or "") + "".join(c.tail or "" for c in el))
        if own and (_link_density(el) < _LINK_DENSE or not any(True for _ in el.iter("a"))):
            if _in_furniture_box(el, above):
                continue  # a share or author box right after the date line: no body yet
            first = el
            break
    if first is None:
        return BodyReading([])
    scope = first
    while scope.getparent() is not None and scope.getparent() not in above:
        scope = scope.getparent()
    reading = BodyReading([])
    if scope is first or not any(_is_block(c) for c in scope):
        parent = first.getparent()
        assert parent is not None
        children = list(parent)
        _walk(parent, children[children.index(first) :], False, skip, reading)
    else:
        _walk(scope, list(scope), True, skip, reading)
    return reading


def _walk(
    container: HtmlElement,
    children: list[HtmlElement],
    own_text: bool,
    skip: Collection[HtmlElement],
    reading: BodyReading,
) -> bool:
    """Read ``children`` of ``container`` in order into ``reading``; True once a furniture
    box ended the body. Iterative over nesting, so deep pages cannot exhaust the stack."""
    # Each frame: the elements still to read, and the text that follows them (the tail of
    # the box they are in).
    stack: list[tuple[list[HtmlElement], int, str]] = [(children, 0, "")]
    line: list[str] = [container.text or ""] if own_text else []
    out = reading.paragraphs
    taken, previous = 0, container

    def flush() -> None:
        text = clean_block("".join(line))
        line.clear()
        if text:
            out.extend(text.split("\n"))

    while stack:
        items, i, after = stack.pop()
        if i >= len(items):
            flush()
            line.append(after)
            continue
        stack.append((items, i + 1, after))
        child = items[i]
        if len(out) > taken:
            reading.last, taken = previous, len(out)
        previous = child
        if not isinstance(child.tag, str):
            line.append(child.tail or "")
            continue
        tag = child.tag
        if child in skip or tag in _LEFT_OUT:
            flush()
        elif tag == "br":
            line.append("\n")
        elif tag in _INLINE:
            line.append(_text_of(child, skip))
        elif tag in HEADINGS:
            flush()
            text = clean(_text_of(child, skip))
            if out and (is_furniture(child) or _furniture_follows(child)):
                reading.stopped_at = text[:40]
                if len(out) > taken:
                    reading.last = previous
                return True
            if text and out:
                out.append(text)
        elif tag == "table":
            flush()
            for row in child.iter("tr"):
                cells = [clean(_text_of(c, skip)) for c in row if isinstance(c.tag, str)]
                text = " ".join(c for c in cells if c)
                if text:
                    out.append(text)
        elif any(_is_block(c) for c in child):
            flush()
            if is_furniture(child):
                if out:
                    reading.stopped_at = clean(child.text_content())[:40]
                    if len(out) > taken:
                        reading.last = previous
                    return True
            else:
                line.append(child.text or "")
                stack.append((list(child), 0, child.tail or ""))
                continue
        else:
            flush()
            if _link_density(child) < _LINK_DENSE or not any(True for _ in child.iter("a")):
                text = clean_block(_text_of(child, skip))
                if text:
                    out.extend(text.split("\n"))
        line.append(child.tail or "")
    flush()
    if len(out) > taken:
        reading.last = previous
    return False


def _in_furniture_box(el: HtmlElement, above: set[HtmlElement]) -> bool:
    """Whether ``el`` sits in a short furniture box (share, author, related) of its own
    beside the date line's ancestors."""
    box = el
    while box.getparent() is not None and box.getparent() not in above:
        box = box.getparent()
    if box is el or not is_furniture(box):
        return False
    return len(_key(box.text_content())) < _FURNITURE_BOX or _link_density(box) >= _LINK_DENSE


def key_of(text: str) -> str:
    """A line as the readings compare it (NFKC, case and spaces folded)."""
    return _key(text)


def _furniture_follows(heading: HtmlElement) -> bool:
    following = heading.getnext()
    return following is not None and is_furniture(following)


def non_body_text(
    page: HtmlPage, anchor: HtmlElement, last: HtmlElement | None, skip: Collection[HtmlElement]
) -> str:
    """Text on the page known to be no part of the body: everything up to the anchor (title,
    categories, date line), page furniture (navigation, sidebars, the ranking), and the
    share, related, author and link-only boxes after the body. What trafilatura reads beyond
    the visible body and outside this text is body text the visible reading missed."""
    parts: list[str] = []
    end = page.end(anchor)
    for el in page.doc.iter(lxml.etree.Element):
        if page.order[el] > end:
            break
        parts.append(el.text or "")
        parts.append(el.tail or "")
    for el in skip:
        parent = el.getparent()
        if parent is None or parent not in skip:
            parts.extend(el.itertext())
    node = last
    while node is not None and node.tag not in ("body", "html"):
        for sibling in node.itersiblings():
            if not isinstance(sibling.tag, str):
                continue
            if (
                sibling in skip
                or is_furniture(sibling)
                or (sibling.tag in HEADINGS and _furniture_follows(sibling))
                or (any(True for _ in sibling.iter("a")) and _link_density(sibling) >= _LINK_DENSE)
            ):
                parts.extend(sibling.itertext())
        node = node.getparent()
    return "\n".join(parts)


# ---- the independent reading ------------------------------------------------------------------------

_AGREE = 0.7  # the visible reading holds this share of trafilatura's text: it stands
_CONTAINS = 0.8  # trafilatura holds this share of the visible reading: it is the fuller one
_SHINGLE = 6  # characters; readings are compared by the runs of text they share


def _shingles(lines: list[str]) -> set[str]:
    """Runs of six characters of each line (a shorter line is one run): line by line, so
    that no run spans two texts that only happen to be next to each other."""
    out: set[str] = set()
    for line in lines:
        # Runs stay within a word: extractors join blocks with a space.
        for word in unicodedata.normalize("NFKC", line).casefold().split():
            out.update(word[i : i + _SHINGLE] for i in range(max(1, len(word) - _SHINGLE + 1)))
    return out


def _found_in(runs: set[str], text: str) -> set[str]:
    """Those of ``runs`` that are runs of ``text`` too (``_shingles(text.split("\\n")) & runs``,
    without cutting all of ``text`` into runs): a six-character run is one of a word of it,
    a shorter one is a whole short word of it."""
    if not runs or not text:
        return set()
    words = unicodedata.normalize("NFKC", text).casefold().split()
    joined = " ".join(w for w in words if len(w) >= _SHINGLE)  # runs hold no space: none spans two words
    short = {w for w in words if len(w) < _SHINGLE}
    return {r for r in runs if (r in joined if len(r) >= _SHINGLE else r in short)}


def compare_with_extractor(
    ours: list[str], theirs: list[str], title: str | None = None, non_body: str = "", route: str = "visible"
) -> tuple[list[str], str, Check]:
    """Which body to keep, by which route, and the check that says why.

    The readings are compared by the runs of six characters they share (line breaks do not
    count; nor does what trafilatura runs in from ``non_body``, the text known to be no body:
    title, date line, share and related boxes). The visible reading stands when it covers
    most of trafilatura's body text. When it covers much less and trafilatura's holds it,
    trafilatura's (the fuller one) is taken. When each covers little of the other, neither
    can be trusted: the check fails."""
    mine = [x for x in ours if _key(x)]
    other = [x for x in theirs if _key(x) and (not title or _key(x) != _key(title))]
    if not other:
        return ours, route, Check("body-agreement", True, "trafilatura read no text")
    if not mine:
        return theirs, "trafilatura", Check("body-agreement", True, "only trafilatura read a body")
    a, b = _shingles(mine), _shingles(other)
    both = a & b
    # trafilatura's body text: what both read, and what only it read outside ``non_body``
    # (only those runs are looked up there: the page's furniture is not cut into runs).
    only_theirs = b - a
    b_body = len(both) + len(only_theirs - _found_in(only_theirs, non_body))
    if not b_body:  # as when it read nothing (this divided by zero before 12-04)
        return ours, route, Check("body-agreement", True, "trafilatura read only text known to be no body")
    ours_cover = len(both) / b_body
    theirs_cover = len(both) / len(a)
    detail = f"the {route} reading covers {ours_cover:.0%} of trafilatura's body text, trafilatura {theirs_cover:.0%} of it"
    if ours_cover >= _AGREE:
        return ours, route, Check("body-agreement", True, detail)
    if theirs_cover >= _CONTAINS:
        return theirs, "trafilatura", Check("body-agreement", True, detail + "; trafilatura's taken (fuller)")
    return ours, route, Check("body-agreement", False, detail)
