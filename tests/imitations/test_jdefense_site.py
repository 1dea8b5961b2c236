"""The J-Defense imitation, checked over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import re
import socket
import time
import unicodedata
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest

from imitations import shared_story
from imitations.jdefense import FAULT_KINDS, JDefenseSite
from imitations.jdefense import data as D
from imitations.server import SiteServer

ARTICLE_HREF = re.compile(r"/docs/([a-z]+)/(\d{6})\.html$")
DATE_LINE = re.compile(r"\b\d{4}-\d{1,2}-\d{1,2} \d{2}:\d{2}\b")
FEED_PATHS = ["/atom.xml", "/index.rdf", "/feed", "/feed/", "/rss", "/rss.xml", "/feed.xml", "/index.xml"]
WINDOW_OF = {
    "rank-24h": "24h",
    "rank-1w": "1w",
    "rank-1m": "1m",
    "daily": "24h",
    "weekly": "1w",
    "monthly": "1m",
}


# ---- HTTP and HTML helpers -------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def fetch(url: str, timeout: float = 10.0, method: str = "GET") -> Response:
    req = urllib.request.Request(url, method=method)
    try:
        with _OPENER.open(req, timeout=timeout) as r:
            return Response(r.status, dict(r.headers.items()), r.read())
    except urllib.error.HTTPError as e:
        return Response(e.code, dict(e.headers.items()), e.read())


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    ancestors: list[Element]
    text: str = ""

    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def within(self, pred: Callable[[Element], bool]) -> bool:
        return any(pred(a) for a in self.ancestors)


VOID = {"meta", "link", "img", "br", "hr", "input"}


@dataclass
class Page(HTMLParser):
    elements: list[Element] = field(default_factory=list)

    def __post_init__(self) -> None:
        HTMLParser.__init__(self)
        self._stack: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        el = Element(tag, {k: v or "" for k, v in attrs}, list(self._stack))
        self.elements.append(el)
        if tag not in VOID:
            self._stack.append(el)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self._stack) - 1, -1, -1):
            if self._stack[i].tag == tag:
                del self._stack[i:]
                return

    def handle_data(self, data: str) -> None:
        for el in self._stack:
            el.text += data

    def find(self, pred: Callable[[Element], bool]) -> list[Element]:
        return [e for e in self.elements if pred(e)]

    def article_links(self, pred: Callable[[Element], bool] = lambda e: True) -> list[tuple[str, str]]:
        """(id, text) of links to article pages that satisfy pred, in document order."""
        out = []
        for e in self.elements:
            m = ARTICLE_HREF.search(e.attrs.get("href", "")) if e.tag == "a" else None
            if m and pred(e):
                out.append((m.group(2), e.text))
        return out

    def rankings(self) -> dict[str, list[tuple[str, str]]]:
        """window -> [(id, title)] from either ranking markup."""
        out: dict[str, list[tuple[str, str]]] = {}
        for e in self.elements:
            m = ARTICLE_HREF.search(e.attrs.get("href", "")) if e.tag == "a" else None
            if not m:
                continue
            for anc in e.ancestors:
                key = anc.attrs.get("id", "") if anc.attrs.get("id", "").startswith("rank-") else ""
                if "rank-list" in anc.classes():
                    key = anc.attrs.get("data-tab", "")
                if key:
                    out.setdefault(WINDOW_OF[key], []).append((m.group(2), e.text))
        return out

    def meta(self, prop: str) -> str | None:
        for e in self.find(lambda e: e.tag == "meta" and e.attrs.get("property") == prop):
            return e.attrs.get("content")
        return None


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


def extract(page: Page, variant: str) -> dict[str, object]:
    """Title, categories, date line and body paragraphs, by the variant's own markup."""
    if variant == "a":
        title = page.find(lambda e: e.tag == "h1" and "entry-title" in e.classes())
        cats = page.find(lambda e: e.tag == "li" and e.within(lambda a: "cat" in a.classes()))
        date = page.find(lambda e: e.tag == "div" and "date" in e.classes())
        body = page.find(lambda e: e.tag == "p" and e.within(lambda a: "entry-body" in a.classes()))
    else:
        title = page.find(lambda e: e.tag == "h2" and "post_ttl" in e.classes())
        cats = page.find(lambda e: e.tag == "span" and e.within(lambda a: "post-cat" in a.classes()))
        date = page.find(lambda e: e.tag == "p" and "post-date" in e.classes())
        body = page.find(lambda e: e.tag == "p" and e.within(lambda a: "txt" in a.classes()))
    return {
        "title": [e.text for e in title],
        "cats": [e.text for e in cats],
        "date": [e.text for e in date],
        "body": [e.text for e in body],
    }


# ---- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[SiteServer, JDefenseSite]]:
    site = JDefenseSite()
    with SiteServer({"jdefense": site}) as server:
        yield server, site


@pytest.fixture
def site(served: tuple[SiteServer, JDefenseSite]) -> Iterator[JDefenseSite]:
    _, s = served
    yield s
    s.epoch = 0
    s.faults.clear()
    s.timeout_delay = 5.0
    s.home_ranking = True


@pytest.fixture
def get(served: tuple[SiteServer, JDefenseSite], site: JDefenseSite) -> Callable[..., Response]:
    server, _ = served

    def _get(path: str, **kw: object) -> Response:
        return fetch(server.url("jdefense", path), **kw)  # type: ignore[arg-type]

    return _get


def _in_news_list(el: Element) -> bool:
    return el.within(lambda a: "news-list" in a.classes())


def _path(article_id: str) -> str:
    return D.BY_ID[article_id].path


# ---- the data itself -------------------------------------------------------------------------


def test_interface_defaults() -> None:
    s = JDefenseSite()
    assert (s.epoch, s.faults, s.timeout_delay, s.home_ranking) == (0, {}, 5.0, True)
    assert set(FAULT_KINDS) == {"500", "timeout", "truncated", "no-date", "redirect-offsite", "shift_jis"}


def test_data_shapes() -> None:
    ids = [a.id for a in D.ARTICLES]
    assert len(ids) == len(set(ids)) and all(re.fullmatch(r"\d{6}", i) for i in ids)
    assert ids == sorted(ids)
    assert not set(D.MISSING_IDS) & set(ids)
    assert len(D.articles_at(0)) >= 30
    assert {a.section for a in D.ARTICLES} == set(D.SECTIONS) and len(D.SECTIONS) >= 2
    for a in D.ARTICLES:
        assert a.section_label == D.SECTIONS[a.section]
        assert a.published.utcoffset().total_seconds() == 9 * 3600  # type: ignore[union-attr]
        y, m, d = a.date_line.split()[0].split("-")
        assert a.published.strftime("%Y-%m-%d %H:%M") == f"{y}-{int(m):02d}-{int(d):02d} {a.date_line[-5:]}"
        assert len(a.body) >= 3 and all(p.strip() for p in a.body)
        assert a.variant in ("a", "b")
        (a.title + "".join(a.body)).encode("shift_jis")  # every page can be served as Shift_JIS
    # newer ids are newer articles, new ones arrive at epochs 1, 2 and 3 with higher ids
    pubs = [a.published for a in D.ARTICLES]
    assert pubs == sorted(pubs)
    for e in (1, 2, 3):
        new = [a.id for a in D.ARTICLES if a.epoch == e]
        assert new and min(new) > max(a.id for a in D.ARTICLES if a.epoch < e)
    titles = [a.title for a in D.articles_at(0)]
    assert any(
        re.match(r"人事発令 令和7年\d+月\d+日付け、将補人事\(陸自\d+名、海自\d+名、空自\d+名\)$", t)
        for t in titles
    )
    assert any(t.startswith("《レポート》") for t in titles)
    assert any(t.startswith("《特集》") for t in titles)
    assert any(re.match(r"中谷防衛大臣が記者会見 .+\(10月\d+日\)$", t) for t in titles)
    assert any(re.match(r"防衛省が.+の概要を発表$", t) for t in titles)
    for i in D.ASEAN_HALFWIDTH_IDS:
        assert "ASEAN" in D.BY_ID[i].title
    for i in D.ASEAN_FULLWIDTH_IDS:
        assert "ＡＳＥＡＮ" in D.BY_ID[i].title
        assert unicodedata.normalize("NFKC", D.BY_ID[i].title).count("ASEAN") == 1
    for i in D.IDEOGRAPHIC_SPACE_TITLE_IDS:
        t = D.BY_ID[i].title
        assert "\u3000" in t and "「" in t and "」" in t
    assert {D.BY_ID[i].published.weekday() for i in D.WEEKEND_IDS} <= {5, 6}
    assert D.UNPADDED_DATE_IDS and all(D.BY_ID[i].epoch == 0 for i in D.UNPADDED_DATE_IDS)
    assert all(re.match(r"2025-10-0\d ", D.BY_ID[i].date_line) for i in D.PADDED_DAY_IDS)
    bodies = "\n".join(p for a in D.ARTICLES for p in a.body)
    for needle in ("令和7年10月17日(金)11時~11時38分", "令和7(2025)年10月28日(火)", "令和7年(2025)11月21日"):
        assert needle in bodies
    assert "午前" in bodies and "午後" in bodies and re.search("[０-９]", bodies)
    assert "令和7年10月20日(火)" in "".join(D.BY_ID[D.WRONG_WEEKDAY_IDS[0]].body)
    assert {a.variant for a in D.articles_at(0)} == {"a", "b"}


def test_route_witnesses_match_routes() -> None:
    for e, ids in D.HOME_ONLY_NEW.items():
        for i in ids:
            assert D.BY_ID[i].epoch == e and "home" in D.ROUTES[e][i]
    for e, i in D.SECTION_ONLY.items():
        assert D.BY_ID[i].epoch == e and D.ROUTES[e][i] == {"section"}
        assert "home" in D.ROUTES[e + 1][i]
    for e, i in D.PROBE_ONLY.items():
        assert D.BY_ID[i].epoch == e and D.ROUTES[e][i] == {"probe"}
        assert D.ROUTES[e + 1][i] >= {"home", "section"}
        # a probe from the highest linked id steps over at most a missing id or two
        linked = [j for j, r in D.ROUTES[e].items() if r - {"probe"}]
        assert int(i) - int(max(linked)) <= 3
    for e in D.EPOCHS:
        assert D.ROUTES[e][D.RANKING_ONLY_OLD] == {"ranking"}
        assert D.BY_ID[D.RANKING_ONLY_OLD].routes[e] == {"ranking"}
    # an id inside the probed range is missing at epoch 1 (004440 between 004439 and 004441)
    assert D.SECTION_ONLY[1] < "004440" < D.PROBE_ONLY[1] and "004440" in D.MISSING_IDS


def test_ranking_movements() -> None:
    lists = [D.RANKINGS[e]["24h"] for e in D.EPOCHS]
    entered = left = climbed = fell = new_top = returned = False
    for k in range(1, len(lists)):
        prev, cur = lists[k - 1], lists[k]
        entered |= bool(set(cur) - set(prev))
        left |= bool(set(prev) - set(cur))
        new_top |= cur[0] != prev[0]
        for i in set(prev) & set(cur):
            climbed |= cur.index(i) < prev.index(i)
            fell |= cur.index(i) > prev.index(i)
        earlier = set().union(*lists[: k - 1]) if k > 1 else set()
        returned |= bool((set(cur) - set(prev)) & earlier)
    assert entered and left and climbed and fell and new_top and returned
    for e in D.EPOCHS:
        r = D.RANKINGS[e]
        assert set(r) == set(D.WINDOWS)
        for w, ids in r.items():
            assert len(ids) == len(set(ids))
            assert all(D.BY_ID[i].epoch <= e for i in ids)
            if D.HALF_LOADED.get(e) != w:
                assert 5 <= len(ids) <= 10
        assert set(r["24h"]) & set(r["1w"])  # the same article in two tabs
    assert len(D.RANKINGS[4]["1w"]) == 1 and len(D.RANKINGS[3]["1w"]) == 8
    assert all(D.RANKING_ONLY_OLD in D.RANKINGS[e]["1m"] for e in D.EPOCHS)  # ranked for weeks


def test_shared_story_data() -> None:
    a = D.BY_ID[D.SHARED_STORY_ID]
    assert (a.epoch, a.section) == (0, "mod")
    assert a.title == shared_story.JDEFENSE_TITLE and a.date_line == shared_story.JDEFENSE_DATE_LINE
    assert a.body[1:] == shared_story.RELEASE_TEXT.split("\n")
    assert len(a.body[0]) < 100


# ---- over HTTP -------------------------------------------------------------------------------


def test_robots_and_no_feed(get: Callable[..., Response]) -> None:
    r = get("/robots.txt")
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
    assert "User-agent: *" in r.text and "Disallow: /wp-admin/" in r.text
    for p in FEED_PATHS:
        assert get(p).status == 404, p
    assert get("/img/logo.png").body.startswith(b"\x89PNG")


def test_home_page(get: Callable[..., Response], site: JDefenseSite) -> None:
    for e in D.EPOCHS:
        site.epoch = e
        r = get("/")
        assert r.status == 200 and r.headers["Content-Type"] == "text/html; charset=utf-8"
        page = parse(r.text)
        listed = page.article_links(lambda el: el.within(lambda a: "news-list" in a.classes()))
        assert [i for i, _ in listed] == D.home_ids(e)
        assert [t for _, t in listed] == [D.BY_ID[i].title for i in D.home_ids(e)]
        assert len(listed) == D.HOME_SIZE
        assert not DATE_LINE.search(r.text)  # titles only, no dates
        for s in D.SECTIONS:
            assert f'href="/docs/{s}/"' in r.text


def test_section_pages(get: Callable[..., Response], site: JDefenseSite) -> None:
    for e in D.EPOCHS:
        site.epoch = e
        for s, label in D.SECTIONS.items():
            r = get(f"/docs/{s}/")
            assert r.status == 200
            page = parse(r.text)
            assert [x.text for x in page.find(lambda el: "cat-ttl" in el.classes())] == [label]
            listed = page.article_links(lambda el: el.within(lambda a: "news-list" in a.classes()))
            assert [i for i, _ in listed] == D.section_ids(s, e)
            assert all(D.BY_ID[i].section == s for i, _ in listed)
            assert not DATE_LINE.search(r.text)
            assert "Ranking" not in r.text
    r = get("/docs/mod")
    assert r.status == 301 and r.headers["Location"] == "/docs/mod/"
    assert get("/docs/mod/index.html").status == 200
    assert get("/docs/nosuch/").status == 404


def test_id_gaps_and_future_ids_answer_404(get: Callable[..., Response], site: JDefenseSite) -> None:
    for e in D.EPOCHS:
        site.epoch = e
        for i in D.MISSING_IDS:
            for s in D.SECTIONS:
                assert get(f"/docs/{s}/{i}.html").status == 404
        for a in D.ARTICLES:
            status = get(a.path).status
            assert status == (200 if a.epoch <= e else 404), (e, a.id)
        top = max(a.id for a in D.articles_at(e))
        for k in range(1, 4):
            assert get(f"/docs/mod/{int(top) + k:06d}.html").status == 404
    # an article answers only under its own section
    assert get("/docs/world/004433.html").status == 404


def test_discovery_routes_over_http(get: Callable[..., Response], site: JDefenseSite) -> None:
    for e in D.EPOCHS:
        site.epoch = e
        home = {i for i, _ in parse(get("/").text).article_links(_in_news_list)}
        section = {i for s in D.SECTIONS for i, _ in parse(get(f"/docs/{s}/").text).article_links()}
        ranking = {i for ids in parse(get(_path("004433")).text).rankings().values() for i, _ in ids}
        found: dict[str, set[str]] = {}
        for route, ids in (("home", home), ("section", section), ("ranking", ranking)):
            for i in ids:
                found.setdefault(i, set()).add(route)
        highest = max(found)
        for a in D.articles_at(e):
            expected = set(D.ROUTES[e][a.id])
            if a.id not in found and a.id > highest:
                assert expected == {"probe"}
            else:
                assert expected == found.get(a.id, set()), (e, a.id)


def test_rankings_rendered_in_order(get: Callable[..., Response], site: JDefenseSite) -> None:
    a_id = next(a.id for a in D.articles_at(0) if a.variant == "a")
    b_id = next(a.id for a in D.articles_at(0) if a.variant == "b")
    for e in D.EPOCHS:
        site.epoch = e
        want = {w: [(i, D.BY_ID[i].title) for i in ids] for w, ids in D.RANKINGS[e].items()}
        for path in ("/", _path(a_id), _path(b_id), _path(D.articles_at(e)[0].id)):
            r = get(path)
            page = parse(r.text)
            assert page.rankings() == want, (e, path)
            heading = page.find(lambda el: el.text == D.RANKING_HEADING and el.tag in ("h3", "h4"))
            assert heading, path
            for label in D.WINDOW_LABELS.values():
                assert page.find(lambda el, lb=label: el.text == lb), (path, label)


def test_home_ranking_switch(get: Callable[..., Response], site: JDefenseSite) -> None:
    site.home_ranking = False
    home = get("/").text
    assert "Ranking" not in home and parse(home).rankings() == {}
    assert len(parse(home).article_links()) == D.HOME_SIZE
    assert parse(get(_path("004401")).text).rankings()["24h"]  # article pages keep it


def test_article_pages_both_variants(get: Callable[..., Response], site: JDefenseSite) -> None:
    site.epoch = D.EPOCHS[-1]
    seen = set()
    for a in D.ARTICLES:
        r = get(a.path)
        assert r.status == 200 and r.headers["Content-Type"] == "text/html; charset=utf-8"
        page = parse(r.text)
        got = extract(page, a.variant)
        assert got == {
            "title": [a.title],
            "cats": [a.section_label],
            "date": [a.date_line],
            "body": a.body,
        }, a.id
        other = extract(page, "b" if a.variant == "a" else "a")
        assert other == {"title": [], "cats": [], "date": [], "body": []}
        # visible order: tagline, logo, title, category, date, body, related links, footer
        text = r.text
        order = [
            D.TAGLINE,
            'alt="Jディフェンスニュース"',
            a.title + "</h",
            a.date_line + "<",
            a.body[-1],
            "関連リンク",
        ]
        positions = [text.index(x) if x != a.title + "</h" else text.rindex(x) for x in order]
        assert positions == sorted(positions), a.id
        if a.variant == "b":
            assert page.meta("og:title") == a.title
            assert page.meta("og:type") == "article"
            assert (page.meta("og:url") or "").endswith(a.path)
            (ld,) = page.find(lambda el: el.tag == "script" and el.attrs.get("type") == "application/ld+json")
            doc = json.loads(ld.text)
            assert doc["@type"] == "NewsArticle" and doc["headline"] == a.title
            assert doc["datePublished"] == a.published.isoformat()
            (t,) = page.find(lambda el: el.tag == "time")
            assert t.attrs["datetime"] == a.published.isoformat() and t.text == a.date_line
        else:
            assert "og:" not in text and "ld+json" not in text and "<time" not in text
        seen.add(a.variant)
    assert seen == {"a", "b"}


def test_shared_story_over_http(get: Callable[..., Response]) -> None:
    a = D.BY_ID[D.SHARED_STORY_ID]
    got = extract(parse(get(a.path).text), a.variant)
    assert got["title"] == [shared_story.JDEFENSE_TITLE]
    assert got["date"] == [shared_story.JDEFENSE_DATE_LINE]
    assert got["body"][1:] == shared_story.RELEASE_TEXT.split("\n")


# ---- faults ----------------------------------------------------------------------------------


def test_fault_500(get: Callable[..., Response], site: JDefenseSite) -> None:
    site.faults["004433"] = "500"
    assert get("/docs/mod/004433.html").status == 500
    assert get("/docs/mod/004432.html").status == 200


def test_fault_timeout(get: Callable[..., Response], site: JDefenseSite) -> None:
    site.faults["004433"] = "timeout"
    site.timeout_delay = 0.5
    with pytest.raises((TimeoutError, socket.timeout, urllib.error.URLError)):
        get("/docs/mod/004433.html", timeout=0.2)
    t0 = time.monotonic()
    r = get("/docs/mod/004433.html", timeout=5)
    assert time.monotonic() - t0 >= 0.45
    assert r.status == 200 and shared_story.JDEFENSE_TITLE in r.text


def test_fault_truncated(get: Callable[..., Response], site: JDefenseSite) -> None:
    for article_id in ("004433", "004432"):  # one of each variant
        a = D.BY_ID[article_id]
        site.faults[article_id] = "truncated"
        r = get(a.path)
        assert r.status == 200
        text = r.text
        assert "</html>" not in text and "</body>" not in text
        assert a.body[0] in text
        assert a.body[1] not in text and a.body[1][: len(a.body[1]) // 2] in text
        assert text.endswith(a.body[1][: len(a.body[1]) // 2])


def test_fault_no_date(get: Callable[..., Response], site: JDefenseSite) -> None:
    for article_id in ("004433", "004432"):
        a = D.BY_ID[article_id]
        site.faults[article_id] = "no-date"
        r = get(a.path)
        assert r.status == 200
        assert a.date_line not in r.text
        assert "datePublished" not in r.text and "<time" not in r.text and 'class="date"' not in r.text
        assert "post-date" not in r.text
        got = extract(parse(r.text), a.variant)
        assert got["title"] == [a.title] and got["body"] == a.body and got["date"] == []


def test_fault_redirect_offsite(get: Callable[..., Response], site: JDefenseSite) -> None:
    site.faults["004433"] = "redirect-offsite"
    r = get("/docs/mod/004433.html")
    assert r.status == 302
    assert r.headers["Location"] == "http://example.invalid/docs/mod/004433.html"


def test_fault_shift_jis(get: Callable[..., Response], site: JDefenseSite) -> None:
    site.epoch = D.EPOCHS[-1]
    for a in D.ARTICLES:
        site.faults[a.id] = "shift_jis"
    for a in D.ARTICLES:
        r = get(a.path)
        assert r.status == 200 and r.headers["Content-Type"] == "text/html"
        with pytest.raises(UnicodeDecodeError):
            r.body.decode("utf-8")
        text = r.body.decode("shift_jis")
        assert '<meta charset="Shift_JIS">' in text
        got = extract(parse(text), a.variant)
        assert got == {"title": [a.title], "cats": [a.section_label], "date": [a.date_line], "body": a.body}
        assert r.body.decode("cp932") == text  # what browsers and w3lib use for Shift_JIS
        assert parse(text).rankings()["24h"][0][1] == D.BY_ID[D.RANKINGS[D.EPOCHS[-1]]["24h"][0]].title


def test_faults_only_touch_their_article(get: Callable[..., Response], site: JDefenseSite) -> None:
    site.faults["004441"] = "500"  # not yet published at epoch 0
    assert get(_path("004441")).status == 404
    site.faults["004433"] = "shift_jis"
    assert get("/").headers["Content-Type"] == "text/html; charset=utf-8"
    assert get(_path("004432")).headers["Content-Type"] == "text/html; charset=utf-8"


def test_head_request(get: Callable[..., Response]) -> None:
    r = get("/docs/mod/004433.html", method="HEAD")
    assert r.status == 200 and r.body == b"" and int(r.headers["Content-Length"]) > 1000
