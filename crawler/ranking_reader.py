"""Reading a tabbed "most read" block from its structure, and checking what was read.

Themes build the block in many ways (tabs as ``li``, ``button``, ``a href="#…"``, ``dt`` or
``span``; panels as ``ol``, ``ul``, cards or ``dl``, beside the tab bar or in one wrapper,
hidden or not; a thumbnail link before each title link; rank numbers as text, images or
CSS). So the reader keys on what every theme shares: a few short elements whose text is a
known window label (``24時間``, ``1週間``, ``1ヶ月``) close together, and article links near
them. Panels are matched to tabs by the references the tabs carry (``aria-controls``,
``href="#id"``, ``data-*``), else by document order (``dt``/``dd``), else as the boxes of
links beside the tab bar, one per tab, in order.

Each window comes with its self-checks (:mod:`crawler.checks`): 5-20 distinct articles,
visible rank numbers 1..n without gaps, every entry titled, titles not repeated, no entry of
its list linking a page of the site outside the article URL shape (:mod:`crawler.url_shape`). The
caller stores only the windows that pass, and says why the others were refused.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import lxml.etree
from lxml.html import HtmlElement

from crawler.checks import Check, failures
from crawler.html_page import HtmlPage, Link, clean, descendants, links
from crawler.ranking_entries import MAX_ENTRIES, MIN_ENTRIES, read_windows
from crawler.url_shape import link_lists

__all__ = ["MAX_ENTRIES", "MIN_ENTRIES", "RankingBlock", "RankingSelectors", "read_ranking"]

# How far apart (levels to their common ancestor) the tabs of one block may sit.
_TAB_REACH = 4
# How far above the tab bar the block may reach for its lists, never past these.
_BLOCK_REACH = 3
_BOUNDARIES = frozenset({"aside", "footer", "section", "article", "main", "nav", "body", "html"})
_LABEL_MAX = 40
_REF_ATTRS = ("aria-controls", "href", "data-target", "data-bs-target", "data-href")


@dataclass(frozen=True)
class RankingSelectors:
    """A source's own selectors for the block (``[sources.selectors]``), used first: each a
    function from an element to the elements it selects."""

    block: Callable[[HtmlElement], list[HtmlElement]] | None = None
    tabs: Callable[[HtmlElement], list[HtmlElement]] | None = None
    lists: Callable[[HtmlElement], list[HtmlElement]] | None = None


@dataclass
class RankingBlock:
    """A ranking block as read: window -> ordered entries, the checks of each window, and
    ``problem`` when the block as a whole cannot be read (then nothing in it is usable)."""

    element: HtmlElement | None = None
    windows: dict[str, list[Link]] = field(default_factory=dict)
    checks: dict[str, list[Check]] = field(default_factory=dict)
    problem: str | None = None
    route: str = "structure"  # structure | selectors
    checked: bool = True  # False: read for its bounds only, its windows' checks not run

    @property
    def found(self) -> bool:
        return self.element is not None

    def elements(self) -> set[HtmlElement]:
        """What to leave out of lists and bodies: the block, when it was read. An unreadable
        block's bounds are a guess, and a guess too wide would hide the page's own list."""
        return descendants(self.element) if self.element is not None and self.problem is None else set()

    def failed(self, window: str) -> list[Check]:
        self._must_be_checked()
        return failures(self.checks.get(window, []))

    def passing(self) -> dict[str, list[Link]]:
        """The windows whose every check passed."""
        self._must_be_checked()
        if self.problem is not None:
            return {}
        return {w: entries for w, entries in self.windows.items() if not self.failed(w)}

    def _must_be_checked(self) -> None:
        if not self.checked:  # an unchecked window must never pass for a checked one
            raise ValueError("this ranking block was read without its checks (checks=False)")


def _key(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def _short_key(el: HtmlElement) -> str | None:
    text = el.text_content()
    if len(text) > 4 * _LABEL_MAX and len("".join(text.split())) > 4 * _LABEL_MAX:
        return None
    key = _key(text)
    return key if len(key) <= _LABEL_MAX else None


def read_ranking(
    page: HtmlPage,
    *,
    heading_words: Iterable[str],
    tab_labels: Mapping[str, str],
    accept: Callable[[str], bool],
    selectors: RankingSelectors | None = None,
    checks: bool = True,
) -> RankingBlock:
    """The page's ranking block (``found`` False when there is none).

    Several groups of tabs may look like a ranking: the one under a heading containing one
    of ``heading_words`` is preferred; two readable blocks that disagree are a problem.

    ``checks=False`` reads the block for its bounds only (an article page's block, left out
    of its body): the same block, windows and problem, without running the windows' self-
    checks, which decide only whether a window may be stored as a snapshot; such a block
    refuses :meth:`RankingBlock.passing` and :meth:`RankingBlock.failed`."""
    labels = {_key(label): window for label, window in tab_labels.items()}
    if selectors is not None and selectors.block is not None:
        return _read_selected(page, selectors, labels, accept, checks)
    words = [_key(w) for w in heading_words]
    readable: list[tuple[bool, RankingBlock]] = []
    unreadable: RankingBlock | None = None
    for tabs in _tab_groups(page, labels):
        block = _read_group(page, tabs, accept, checks)
        if block.element is None:
            continue
        if block.problem is None:
            readable.append((_has_heading(block.element, words), block))
        elif unreadable is None:
            unreadable = block
    if not readable:
        return unreadable or _headed_without_tabs(page, words, accept)
    headed = [b for h, b in readable if h] or [b for _, b in readable]
    first = headed[0]
    if len(headed) > 1 and any(_urls(b) != _urls(first) for b in headed[1:]):
        return RankingBlock(
            element=first.element,
            problem=f"{len(headed)} blocks look like a ranking and list different articles",
        )
    return first


def _headed_without_tabs(page: HtmlPage, words: Sequence[str], accept: Callable[[str], bool]) -> RankingBlock:
    """A block under a ranking heading that holds article links but no known tab labels:
    found, and unreadable (the labels changed, or the tabs are drawn by script)."""
    for el in page.doc.iter("h2", "h3", "h4", "h5", "h6", "p", "div", "span"):
        key = _short_key(el)
        if not key or not any(w in key for w in words) or any(True for _ in el.iter("a")):
            continue
        block = el.getparent()
        for _ in range(2):
            if block is None or block.tag in ("body", "html"):
                break
            if links(page, accept, within=block):
                return RankingBlock(element=block, problem="ranking block has no tabs with known labels")
            if block.tag in _BOUNDARIES:
                break
            block = block.getparent()
    return RankingBlock()


def _urls(block: RankingBlock) -> dict[str, list[str]]:
    return {w: [link.url for link in entries] for w, entries in block.windows.items()}


def _has_heading(block: HtmlElement, words: Sequence[str]) -> bool:
    for el in block.iter(lxml.etree.Element):
        key = _short_key(el)
        if key and any(w in key for w in words):
            return True
    parent = block.getparent()  # a heading just before the block (a widget title)
    previous = block.getprevious()
    for el in (previous, parent):
        if el is not None and el.tag in ("h2", "h3", "h4", "h5", "h6"):
            key = _short_key(el)
            if key and any(w in key for w in words):
                return True
    return False


# ---- tabs ------------------------------------------------------------------------------------------


def _tab_groups(page: HtmlPage, labels: Mapping[str, str]) -> list[list[tuple[HtmlElement, str]]]:
    """Elements showing a window label (the outermost of nested ones), grouped: consecutive
    ones, close together, each window once."""
    found: list[tuple[HtmlElement, str]] = []
    taken: set[HtmlElement] = set()
    for el in page.doc.iter(lxml.etree.Element):
        if el in taken or el.tag in ("html", "head", "title", "body"):
            continue
        key = _short_key(el)
        window = labels.get(key) if key else None
        if window is not None:
            taken |= descendants(el)
            found.append((el, window))
    groups: list[list[tuple[HtmlElement, str]]] = []
    for el, window in found:
        group = groups[-1] if groups else None
        if (
            group is not None
            and window not in {w for _, w in group}
            and _distance(group[0][0], el) <= _TAB_REACH
        ):
            group.append((el, window))
        else:
            groups.append([(el, window)])
    return [g for g in groups if len(g) >= 2]


def _distance(a: HtmlElement, b: HtmlElement) -> int:
    """Levels from ``a`` and ``b`` up to their common ancestor (the larger)."""
    up_a = [a, *a.iterancestors()]
    index = {el: i for i, el in enumerate(up_a)}
    for j, el in enumerate([b, *b.iterancestors()]):
        if el in index:
            return max(index[el], j)
    return 1 << 30


def _common(elements: Sequence[HtmlElement]) -> HtmlElement:
    first = elements[0]
    chain = [first, *first.iterancestors()]
    for other in elements[1:]:
        ancestors = {other, *other.iterancestors()}
        chain = [el for el in chain if el in ancestors]
    return chain[0]


# ---- one block --------------------------------------------------------------------------------------


def _read_group(
    page: HtmlPage, tabs: list[tuple[HtmlElement, str]], accept: Callable[[str], bool], checks: bool = True
) -> RankingBlock:
    tab_inside: set[HtmlElement] = set()
    for el, _ in tabs:
        tab_inside |= descendants(el)
    block = _common([el for el, _ in tabs])
    found = _entry_links(page, block, tab_inside, accept)  # once a level, kept for the last
    for _ in range(_BLOCK_REACH + 1):
        if found:
            break
        parent = block.getparent()
        if block.tag in _BOUNDARIES or parent is None or parent.tag in ("body", "html"):
            break
        if any(True for _ in parent.iter("main", "article", "h1")):
            break  # never up into the page's own content
        block = parent
        found = _entry_links(page, block, tab_inside, accept)
    if not found:
        outside = [u for x in link_lists(page, accept, within=block) for u in x.outside]
        if outside:
            return RankingBlock(
                element=block,
                problem=f"ranking block has {len(tabs)} tabs and {len(outside)} entry links, none in "
                f"the site's article URL shape (e.g. {outside[0]})",
            )
        return RankingBlock(
            element=block,
            problem=f"ranking block has {len(tabs)} tabs and no article links (lists built by script?)",
        )
    panels = _panels_by_reference(block, tabs, tab_inside) or _panels_by_order(page, tabs, found)
    if panels is None:
        boxes = _boxes(
            block, tab_inside, {link.element for link in found if link.element is not None}, len(tabs)
        )
        if len(boxes) != len(tabs):
            return RankingBlock(
                element=block, problem=f"ranking block has {len(tabs)} tabs but {len(boxes)} lists"
            )
        panels = [{link.element for link in found if link.element in descendants(box)} for box in boxes]
    return _entries(page, block, tabs, panels, found, accept, checks)


def _entry_links(
    page: HtmlPage, el: HtmlElement, exclude: set[HtmlElement], accept: Callable[[str], bool]
) -> list[Link]:
    return [link for link in links(page, accept, within=el) if link.element not in exclude]


def _panels_by_reference(
    block: HtmlElement, tabs: list[tuple[HtmlElement, str]], tab_inside: set[HtmlElement]
) -> list[set[HtmlElement]] | None:
    """Panels named by the tabs: ``aria-controls``/``href="#id"`` -> an element with that id,
    or a ``data-*`` value that one other element in the block carries too."""
    by_id: dict[str, list[HtmlElement]] = {}
    by_data: dict[str, list[HtmlElement]] = {}
    for el in block.iter(lxml.etree.Element):
        if el in tab_inside:
            continue
        if el.get("id"):
            by_id.setdefault(el.get("id", ""), []).append(el)
        for name, value in el.attrib.items():
            if name.startswith("data-") and value:
                by_data.setdefault(value, []).append(el)
    panels: list[set[HtmlElement]] = []
    for tab, _ in tabs:
        target = None
        for el in [tab, *tab.iterdescendants(), tab.getparent()]:
            if el is None or not isinstance(el.tag, str):
                continue
            for attr in _REF_ATTRS:
                ref = (el.get(attr) or "").strip()
                ref = ref.split("#", 1)[1] if "#" in ref else (ref if attr == "aria-controls" else "")
                if ref and len(by_id.get(ref, [])) == 1:
                    target = by_id[ref][0]
                    break
            if target is None:
                for name, value in el.attrib.items():
                    if name.startswith("data-") and len(by_data.get(value, [])) == 1:
                        target = by_data[value][0]
                        break
            if target is not None:
                break
        if target is None:
            return None
        panels.append(descendants(target))
    if any(a & b for i, a in enumerate(panels) for b in panels[i + 1 :]):
        return None  # duplicated ids or one panel named twice: not a reliable match
    return panels


def _panels_by_order(
    page: HtmlPage, tabs: list[tuple[HtmlElement, str]], found: list[Link]
) -> list[set[HtmlElement]] | None:
    """Tabs that each head their own links (``dt``/``dd``, a label over each list): every
    link goes with the last tab before it, when no link comes before the first tab."""
    starts = [page.order[el] for el, _ in tabs]
    panels: list[set[HtmlElement]] = [set() for _ in tabs]
    for link in found:
        assert link.element is not None
        position = page.order[link.element]
        owner = max((i for i, s in enumerate(starts) if s < position), default=None)
        if owner is None:
            return None
        panels[owner].add(link.element)
    return panels if all(panels) else None


def _boxes(
    block: HtmlElement, tab_inside: set[HtmlElement], targets: set[HtmlElement], k: int
) -> list[HtmlElement]:
    """The boxes of links beside the tab bar, in order: the block's children holding entry
    links (a child with the tabs in it is looked into), seen through wrappers around the
    panels (one child holding every link, whose own children are ``k`` boxes)."""
    node = block
    while True:
        boxes = _holding(node, tab_inside, targets)
        if len(boxes) != 1 or k == 1:
            return boxes
        inner = _holding(boxes[0], tab_inside, targets)
        if len(inner) == k and not any(el.tag in ("li", "a", "tr") for el in inner):
            return inner
        if len(inner) != 1:
            return boxes
        node = boxes[0]


def _holding(node: HtmlElement, tab_inside: set[HtmlElement], targets: set[HtmlElement]) -> list[HtmlElement]:
    out: list[HtmlElement] = []
    stack = [node]
    while stack:
        current = stack.pop()
        children = [c for c in current.iterchildren(lxml.etree.Element) if descendants(c) & targets]
        for child in reversed(children):
            if descendants(child) & tab_inside and child is not node:
                stack.append(child)
            else:
                out.append(child)
    # The stack visits in reverse; put the boxes back in document order.
    order = {el: i for i, el in enumerate(node.iter(lxml.etree.Element))}
    return sorted(out, key=order.__getitem__)


def _entries(
    page: HtmlPage,
    block: HtmlElement,
    tabs: list[tuple[HtmlElement, str]],
    panels: list[set[HtmlElement]],
    found: list[Link],
    accept: Callable[[str], bool],
    checks: bool = True,
) -> RankingBlock:
    windows, window_checks = read_windows(page, block, tabs, panels, found, accept, checks)
    return RankingBlock(element=block, windows=windows, checks=window_checks, checked=checks)


# ---- a source's own selectors ------------------------------------------------------------------------


def _read_selected(
    page: HtmlPage,
    selectors: RankingSelectors,
    labels: Mapping[str, str],
    accept: Callable[[str], bool],
    checks: bool = True,
) -> RankingBlock:
    assert selectors.block is not None
    found = selectors.block(page.doc)
    if not found:
        return RankingBlock()
    block = found[0]
    tab_elements = selectors.tabs(block) if selectors.tabs else []
    tabs = []
    order = list(dict.fromkeys(labels.values()))  # the windows, shortest first
    for i, el in enumerate(tab_elements):
        key = _short_key(el)
        window = labels.get(key) if key else None
        if window is None and len(tab_elements) == len(order):
            window = order[i]  # labels of the site's own: the selector's tabs in window order
        if window is None:
            return RankingBlock(
                element=block,
                problem=f"the tabs selector matched {clean(el.text_content())[:40]!r}, no known window",
                route="selectors",
            )
        tabs.append((el, window))
    if not tabs:
        return RankingBlock(element=block, problem="the tabs selector matched nothing", route="selectors")
    tab_inside = set().union(*(descendants(el) for el, _ in tabs))
    entry_links = _entry_links(page, block, tab_inside, accept)
    if selectors.lists is not None:
        boxes = selectors.lists(block)
    else:
        boxes = _boxes(
            block, tab_inside, {link.element for link in entry_links if link.element is not None}, len(tabs)
        )
    if len(boxes) != len(tabs):
        return RankingBlock(
            element=block,
            problem=f"ranking block has {len(tabs)} tabs but {len(boxes)} lists (selectors)",
            route="selectors",
        )
    panels = [descendants(box) for box in boxes]
    result = _entries(page, block, tabs, panels, entry_links, accept, checks)
    result.route = "selectors"
    return result
