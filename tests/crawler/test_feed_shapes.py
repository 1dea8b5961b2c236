"""Feeds in the wild through ``defwatch crawl``: real-world shapes (WordPress content:encoded,
RDF dc:date as Japanese ministries publish, nested xml:base, Shift_JIS as text/xml without a
charset, undeclared Asian encodings, fragment-linked items, zones and date-only values) and
bad input (bad bytes repaired by a later fetch, wrong and unknown labels, BOM against the
prolog, control characters, 50,000 items, years 1 and 9999)."""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from imitations.server import SiteServer
from store import Store
from tests.conftest import Defwatch
from tests.crawler.feedsite import config_toml, source_toml

JST = ZoneInfo("Asia/Tokyo")
CP932_TITLE = "宮﨑防衛副大臣の訪問について　①髙橋～令和８年度"  # U+3000 and CP932-only characters


def _rss(items: str, encoding: str | None = "utf-8", extra_ns: str = "", language: str = "ja") -> str:
    prolog = f'<?xml version="1.0" encoding="{encoding}"?>' if encoding else '<?xml version="1.0"?>'
    return (
        f'{prolog}\n<rss version="2.0" {extra_ns}><channel><title>t</title><link>/</link>'
        f"<language>{language}</language>{items}</channel></rss>"
    )


def _item(title: str, link: str, date: str = "Thu, 13 Feb 2025 09:05:00 +0900", more: str = "") -> str:
    return f"<item><title>{title}</title><link>{link}</link><pubDate>{date}</pubDate>{more}</item>"


WORDPRESS = _rss(
    _item(
        "JMSDF Commissions &#8220;Noshiro&#8221;",
        "/index.html?id=12&amp;b=2",
        more="<content:encoded><![CDATA[<p>First paragraph.</p><p>Second paragraph.</p>"
        "<p>The post X appeared first on Naval News.</p>]]></content:encoded>",
    ),
    extra_ns='xmlns:content="http://purl.org/rss/1.0/modules/content/"',
    language="en",
)

RDF = """<?xml version="1.0" encoding="Shift_JIS"?>
<rdf:RDF xmlns="http://purl.org/rss/1.0/" xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
 xmlns:dc="http://purl.org/dc/elements/1.1/" xml:lang="ja">
<channel rdf:about="/rdf"><title>防衛省</title><link>/</link><dc:language>ja</dc:language>
<items><rdf:Seq><rdf:li rdf:resource="/j/press/news/2025/02/13a.html"/></rdf:Seq></items></channel>
<item rdf:about="/j/press/news/2025/02/13a.html"><title>TITLE</title>
<link>/j/press/news/2025/02/13a.html</link><dc:date>2025-02-13T09:05:00+09:00</dc:date></item>
<item rdf:about="/j/press/news/2025/02/12a.html"><title>人事発令（２月１２日付）</title>
<link>/j/press/news/2025/02/12a.html</link><dc:date>2025-02-12</dc:date></item>
</rdf:RDF>""".replace("TITLE", CP932_TITLE)

ATOM_BASE = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://example.org/a/"><title>t</title>
<entry xml:base="b/"><title>Nested base</title><id>urn:x:1</id><link href="c.html"/>
<updated>2025-02-13T09:05:00Z</updated></entry></feed>"""

WHATS_NEW = _rss(
    _item("第１報", "/whatsnew.html#a1")
    + _item("第２報", "/whatsnew.html#a2")
    + _item("第３報", "/whatsnew.html#a3")
    + _item("同じ記事", "/same.html")
    + _item("同じ記事", "/same.html")
    # One page under three titles, no fragments: one story, newest title, two revisions.
    + _item("訂正版の題名", "/story.html", "Thu, 13 Feb 2025 12:00:00 +0900")
    + _item("最初の題名", "/story.html", "Thu, 13 Feb 2025 08:00:00 +0900")
    + _item("二番目の題名", "/story.html", "Thu, 13 Feb 2025 10:00:00 +0900")
)

DATES = _rss(
    _item("china", "/d/cn", "2025-02-13T09:05:00+08:00")
    + _item("korea", "/d/kst", "Thu, 13 Feb 2025 09:05:00 KST")
    + _item("us", "/d/edt", "2025-02-13T09:05:00-05:00")
    + _item("day", "/d/day", "Thu, 13 Feb 2025")
    + _item("month", "/d/month", "2003-12")
    + _item("year-1", "/d/y1", "0001-01-01T00:00:00Z")
    + _item("year-9999", "/d/y9999", "Fri, 31 Dec 9999 23:59:59 -0500")
)

UNDECLARED = {
    "euc-jp": ("euc_jp", "防衛省・自衛隊の人事発令について", "令和８年度自衛官候補生の募集について"),
    "shift-jis": ("cp932", "防衛省・自衛隊の人事発令について", "令和８年度自衛官候補生の募集について"),
    "euc-kr": ("euc_kr", "국방부 대변인 정례브리핑", "북한 미사일 발사에 대한 입장"),
    "gb2312": ("gb2312", "国防部例行记者会", "中国人民解放军东部战区组织演习"),
    "big5": ("big5", "國防部新聞稿", "中華民國國軍年度演習"),
}


def _undeclared(name: str) -> bytes:
    codec, first, second = UNDECLARED[name]
    return _rss(_item(first, f"/u/{name}/1") + _item(second, f"/u/{name}/2"), None).encode(codec)


GOOD_TITLE = "人事発令（３月７日付）"


def _damaged(epoch: int) -> bytes:
    body = _rss(_item("壊れるMARK題名", "/dmg/1") + _item(GOOD_TITLE, "/dmg/2")).encode()
    return body.replace(b"MARK", b"\xff" if epoch == 0 else "の".encode())


MOJIBAKE_PAGE = (
    '<!doctype html><html lang="ja"><body><ul>'
    f'<li><a href="/mp/1">{GOOD_TITLE}</a></li><li><a href="/mp/2">{GOOD_TITLE}２</a></li>'
    "</ul></body></html>"
)

UNDECLARED_PAGE = (
    "<!doctype html><html><body><ul>"
    + "".join(f'<li><a href="/up/{i}">{t}</a></li>' for i, t in enumerate(UNDECLARED["shift-jis"][1:]))
    + "</ul></body></html>"
)


def _huge() -> bytes:
    items = "".join(f"<item><title>n{i}</title><link>/h/{i}</link></item>" for i in range(50_000))
    return _rss(items, language="en").encode()


class ShapesSite:
    def __init__(self) -> None:
        self.epoch = 0
        self.huge = _huge()

    def page(self, path: str) -> tuple[bytes, str] | None:
        rss = "application/rss+xml"
        pages: dict[str, tuple[bytes, str]] = {
            "/wordpress.xml": (WORDPRESS.encode(), f"{rss}; charset=UTF-8"),
            "/ministry.rdf": (RDF.encode("cp932"), "text/xml"),  # no charset: the prolog decides
            "/atom-base.xml": (ATOM_BASE.encode(), "application/atom+xml"),
            "/whatsnew.xml": (WHATS_NEW.encode(), rss),
            "/dates.xml": (DATES.encode(), rss),
            "/damaged.xml": (_damaged(self.epoch), f"{rss}; charset=utf-8"),
            "/wrong-label.xml": (
                _rss(_item(GOOD_TITLE * 3, "/w/1")).encode("cp932"),
                f"{rss}; charset=utf-8",
            ),
            "/unknown-label.xml": (_rss(_item(GOOD_TITLE, "/k/1"), "x-klingon").encode(), rss),
            "/bom.xml": (codecs.BOM_UTF8 + _rss(_item(GOOD_TITLE, "/b/1"), "Shift_JIS").encode(), rss),
            "/controls.xml": (_rss(_item("制御\x00文字\x07入り", "/c/1")).encode(), rss),
            "/huge.xml": (self.huge, rss),
            # UTF-8 declared as ISO-8859-1 (windows-1252 decodes any byte): mojibake.
            "/mojibake.xml": (_rss(_item(GOOD_TITLE, "/m/1")).encode(), f"{rss}; charset=iso-8859-1"),
            # The same for a listing page read with selectors (kind page), lang="ja".
            "/mojibake.html": (MOJIBAKE_PAGE.encode(), "text/html; charset=iso-8859-1"),
            # A Shift_JIS listing page that declares nothing: detected, not taken for Korean.
            "/undeclared.html": (UNDECLARED_PAGE.encode("cp932"), "text/html"),
        }
        for name in UNDECLARED:
            pages[f"/undeclared-{name}.xml"] = (_undeclared(name), rss)
        return pages.get(path)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        found = self.page(environ.get("PATH_INFO", "/"))
        if found is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        body, content_type = found
        start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
        return [body]


SOURCES = {
    "wordpress": "/wordpress.xml",
    "ministry-rdf": "/ministry.rdf",
    "atom-base": "/atom-base.xml",
    "whatsnew": "/whatsnew.xml",
    "dates": "/dates.xml",
    "damaged": "/damaged.xml",
    "wrong-label": "/wrong-label.xml",
    "unknown-label": "/unknown-label.xml",
    "bom": "/bom.xml",
    "controls": "/controls.xml",
    "huge": "/huge.xml",
    "mojibake": "/mojibake.xml",
    **{f"undeclared-{n}": f"/undeclared-{n}.xml" for n in UNDECLARED},
}


@dataclass
class Shapes:
    workdir: Path
    origin: str
    results: list[Any]

    def store(self) -> Store:
        return Store.open(f"sqlite:///{self.workdir / 'defwatch.db'}")

    def stories(self, source: str) -> dict[str, dict[str, Any]]:
        """By link path (and fragment)."""
        with self.store() as store:
            return {s["link"].removeprefix(self.origin): s for s in store.stories(source)}

    def runs(self, source: str) -> list[dict[str, Any]]:
        with self.store() as store:
            return list(reversed(store.runs(source, limit=5)))


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shapes]:
    site = ShapesSite()
    with SiteServer({"shapes": site}) as server:
        origin = server.url("shapes").rstrip("/")
        config = config_toml(
            *(
                source_toml(name=name, kind="feed", url=origin + path, timezone="Asia/Tokyo")
                for name, path in SOURCES.items()
            ),
            source_toml(
                name="undeclared-page",
                kind="page",
                url=origin + "/undeclared.html",
                timezone="Asia/Tokyo",
                item="li",
                link="a::attr(href)",
                title="a",
            ),
            source_toml(
                name="mojibake-page",
                kind="page",
                url=origin + "/mojibake.html",
                timezone="Asia/Tokyo",
                item="li",
                link="a::attr(href)",
                title="a",
            ),
        )
        workdir = tmp_path_factory.mktemp("shapes")
        defwatch = Defwatch(workdir)
        defwatch.write_config(config)
        results = [defwatch("crawl", timeout=300)]
        site.epoch = 1
        results.append(defwatch("crawl", "damaged", timeout=120))
        results.append(defwatch("feeds", timeout=120))
        yield Shapes(workdir, origin, results)


def test_every_command_ends(shapes: Shapes) -> None:
    for result in shapes.results:
        assert "Traceback" not in result.stderr, result.stderr[-3000:]


def test_wordpress_content_encoded_and_the_link_as_published(shapes: Shapes) -> None:
    [story] = shapes.stories("wordpress").values()
    assert story["title"] == "JMSDF Commissions “Noshiro”"
    assert story["body"] == "First paragraph.\nSecond paragraph."
    # Published as found (index.html and the query order kept); only the key is canonical.
    assert story["link"] == shapes.origin + "/index.html?id=12&b=2"
    assert story["url_key"].endswith("/?b=2&id=12")


def test_the_feeds_link_the_story_as_published(shapes: Shapes) -> None:
    published = [p for p in (shapes.workdir / "public").rglob("*") if p.is_file()]
    assert published, shapes.results[2].stdout + shapes.results[2].stderr
    text = "\n".join(p.read_text("utf-8") for p in published)
    assert shapes.origin + "/index.html?id=12&amp;b=2" in text


def test_ministry_rdf_in_shift_jis_as_text_xml(shapes: Shapes) -> None:
    stories = shapes.stories("ministry-rdf")
    first = stories["/j/press/news/2025/02/13a.html"]
    assert first["title"] == CP932_TITLE  # 﨑 ① 髙 ～ and U+3000 as published
    assert first["published"] == datetime(2025, 2, 13, 9, 5, tzinfo=JST)
    day = stories["/j/press/news/2025/02/12a.html"]
    assert day["published"] == datetime(2025, 2, 12, tzinfo=JST)
    assert day["extra"]["published_date_only"] is True
    assert shapes.runs("ministry-rdf")[0]["outcome"] == "ok"


def test_nested_xml_base(shapes: Shapes) -> None:
    with shapes.store() as store:
        [story] = store.stories("atom-base")
    assert story["link"] == "http://example.org/a/b/c.html"


def test_fragment_linked_items_are_distinct_stories(shapes: Shapes) -> None:
    stories = shapes.stories("whatsnew")
    assert {k: s["title"] for k, s in stories.items()} == {
        "/whatsnew.html#a1": "第１報",
        "/whatsnew.html#a2": "第２報",
        "/whatsnew.html#a3": "第３報",
        "/same.html": "同じ記事",
        "/story.html": "訂正版の題名",
    }
    assert shapes.runs("whatsnew")[0]["new_stories"] == 5


def test_one_page_under_several_titles_keeps_the_newest_and_the_others_as_revisions(
    shapes: Shapes,
) -> None:
    story = shapes.stories("whatsnew")["/story.html"]
    with shapes.store() as store:
        revisions = store.revisions(story["id"])
    assert [r["title"] for r in revisions] == ["最初の題名", "二番目の題名"]  # oldest first
    assert [r["valid_from"].hour for r in revisions] == [23, 1]  # when listed (UTC)
    assert [r["replaced_at"].hour for r in revisions] == [1, 3]  # by the next one
    assert "other_titles" not in story["extra"]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/d/cn", datetime(2025, 2, 13, 9, 5, tzinfo=timezone(timedelta(hours=8)))),
        ("/d/kst", datetime(2025, 2, 13, 9, 5, tzinfo=timezone(timedelta(hours=9)))),
        ("/d/edt", datetime(2025, 2, 13, 9, 5, tzinfo=timezone(timedelta(hours=-5)))),
        ("/d/day", datetime(2025, 2, 13, tzinfo=JST)),
        ("/d/month", datetime(2003, 12, 1, tzinfo=JST)),
        ("/d/y1", None),
        ("/d/y9999", None),
    ],
)
def test_dates(shapes: Shapes, path: str, expected: datetime | None) -> None:
    assert shapes.stories("dates")[path]["published"] == expected


def test_years_out_of_range_are_counted(shapes: Shapes) -> None:
    run = shapes.runs("dates")[0]
    assert run["stats"]["date_out_of_range"] == 2 and run["outcome"] == "ok"
    assert shapes.stories("dates")["/d/y1"]["extra"]["published_raw"] == "0001-01-01T00:00:00Z"


@pytest.mark.parametrize("name", UNDECLARED)
def test_undeclared_asian_encodings(shapes: Shapes, name: str) -> None:
    _codec, first, second = UNDECLARED[name]
    stories = shapes.stories(f"undeclared-{name}")
    assert {s["title"] for s in stories.values()} == {first, second}
    assert stories[f"/u/{name}/1"]["extra"]["encoding_assumed"]
    assert shapes.runs(f"undeclared-{name}")[0]["stats"]["encoding_detected"] == 1


def test_one_bad_byte_keeps_one_item_out_until_a_fetch_reads_it_right(shapes: Shapes) -> None:
    first, second = shapes.runs("damaged")
    assert first["outcome"] == "degraded" and "not valid utf-8" in first["reason"]
    assert "not stored" in first["reason"] and first["new_stories"] == 1
    assert first["stats"]["item_text_damaged"] == 1
    assert second["outcome"] == "ok" and second["new_stories"] == 1
    stories = shapes.stories("damaged")
    assert stories["/dmg/2"]["title"] == GOOD_TITLE  # the rest of the feed read right
    whole = stories["/dmg/1"]  # never stored half-decoded: stored once, as published
    assert whole["title"] == "壊れるの題名" and "text_damaged" not in whole["extra"]
    with shapes.store() as store:
        assert store.revisions(whole["id"]) == []


def test_a_wrong_declaration_is_detected(shapes: Shapes) -> None:
    [story] = shapes.stories("wrong-label").values()
    assert story["title"] == GOOD_TITLE * 3
    assert shapes.runs("wrong-label")[0]["stats"]["declared_encoding_wrong"] == 1


def test_an_unknown_label_is_counted(shapes: Shapes) -> None:
    [story] = shapes.stories("unknown-label").values()
    assert story["title"] == GOOD_TITLE
    assert shapes.runs("unknown-label")[0]["stats"]["unknown_encoding_label"] == 1


def test_the_bom_wins_over_the_prolog(shapes: Shapes) -> None:
    [story] = shapes.stories("bom").values()
    assert story["title"] == GOOD_TITLE
    assert shapes.runs("bom")[0]["stats"]["bom_contradicts_declaration"] == 1


def test_control_characters_are_removed_and_counted(shapes: Shapes) -> None:
    [story] = shapes.stories("controls").values()
    assert story["title"] == "制御文字入り"
    assert shapes.runs("controls")[0]["stats"]["control_characters"] == 2


def test_fifty_thousand_items_are_read_up_to_the_limit(shapes: Shapes) -> None:
    run = shapes.runs("huge")[0]
    assert (run["outcome"], run["new_stories"]) == ("degraded", 1000)
    assert run["stats"]["items_over_limit"] == 49_000


def test_a_japanese_feed_read_as_mojibake_is_degraded(shapes: Shapes) -> None:
    run = shapes.runs("mojibake")[0]
    assert run["outcome"] == "degraded" and "mojibake" in run["reason"]
    assert run["stats"]["titles_mojibake"] == 1


def test_a_japanese_listing_page_read_as_mojibake_is_degraded(shapes: Shapes) -> None:
    run = shapes.runs("mojibake-page")[0]
    assert run["outcome"] == "degraded", run
    assert "titles read as mojibake for a ja page (decoded as cp1252)" in run["reason"], run["reason"]
    assert run["stats"]["titles_mojibake"] == 1


def test_a_listing_page_that_declares_no_encoding_is_detected(shapes: Shapes) -> None:
    stories = shapes.stories("undeclared-page")
    assert {s["title"] for s in stories.values()} == set(UNDECLARED["shift-jis"][1:])
    assert {s["extra"]["encoding_assumed"] for s in stories.values()} == {"cp932"}
    run = shapes.runs("undeclared-page")[0]
    assert run["outcome"] == "ok" and run["stats"]["encoding_detected"] == 1
