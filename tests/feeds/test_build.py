"""Building the feed files from a store filled with the imitation sites' stories: valid in
a feed reader's eyes, stable ids, JST dates, copies folded into their origin, rule and
ranking feeds, text that stays text, and files rewritten only when they change."""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any

import pytest

from core.model import RankingSnapshot
from feeds.build import LAST_BUILD, build_all, build_changed, build_due, feed_specs, story_id
from imitations import shared_story
from store import StoryIn, url_key, utcnow
from tests.feeds.conftest import Site
from tests.feeds.data import HOSTILE_SUMMARY, HOSTILE_TITLE, HOSTILE_URL, JDEFENSE_URL, NAVAL_URL, link
from tests.ingesting import ingesting

FEEDS = [
    "all",
    "sources/jdefense",
    "sources/mod",
    "sources/navalnews",
    "rules/asean",
    "rules/jinji",
    "rules/f35",
    "rules/nothing",
    "rules/top",
    "ranking/24h",
    "ranking/1w",
    "ranking/1m",
]
FILES = [f"{feed}.{fmt}" for feed in FEEDS for fmt in ("rss", "atom")]
JST_ARTICLE = f"{JDEFENSE_URL}/docs/mod/004400.html"  # 人事発令, 2025-10-3 09:00 JST


def snapshot(site: Site) -> dict[str, tuple[bytes, int]]:
    return {
        name: ((site.public / name).read_bytes(), (site.public / name).stat().st_mtime_ns) for name in FILES
    }


def html_text(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", html))


# -- validity --------------------------------------------------------------------------


@pytest.mark.parametrize("name", FILES)
def test_every_file_is_a_valid_feed(built: Site, name: str) -> None:
    parsed = built.parse(name)
    assert parsed.version == ("rss20" if name.endswith(".rss") else "atom10")
    assert parsed.feed.title.startswith("defwatch: ")
    assert parsed.feed.updated  # lastBuildDate / updated


def test_feed_links_point_to_the_site_and_to_the_feed_itself(built: Site) -> None:
    rss, atom = built.parse("sources/mod.rss").feed, built.parse("sources/mod.atom").feed
    assert rss.link == atom.link == "https://www.mod.go.jp/"
    assert {(x.rel, x.href) for x in atom.links} >= {("self", "http://127.0.0.1:8080/sources/mod.atom")}
    assert {(x.rel, x.href) for x in rss.links} >= {("self", "http://127.0.0.1:8080/sources/mod.rss")}
    assert atom.id == "tag:defwatch,2025:feed:sources/mod"


def test_the_configuration_names_every_feed(built: Site) -> None:
    assert [s.path for s in feed_specs(built.config)] == FEEDS
    assert sorted(p.relative_to(built.public).as_posix() for p in built.public.rglob("*.*")) == sorted(
        [*FILES, "index.opml"]
    )


def opml_outlines(site: Site) -> list[dict[str, str | None]]:
    root = ET.fromstring((site.public / "index.opml").read_bytes())
    return [
        {k: o.get(k) for k in ("xmlUrl", "title", "text", "version", "type")}
        for o in root.iter("outline")
        if o.get("xmlUrl")
    ]


def test_index_opml_lists_every_feed_once_as_rss_with_its_title(built: Site) -> None:
    outlines = opml_outlines(built)
    assert [o["xmlUrl"] for o in outlines] == [f"http://127.0.0.1:8080/{feed}.rss" for feed in FEEDS]
    for feed, o in zip(FEEDS, outlines, strict=True):
        assert o["title"] == o["text"] == built.parse(f"{feed}.rss").feed.title
        assert o["type"] == "rss" and o["version"] == "RSS2"


def test_index_opml_can_list_the_atom_files_and_follows_base_url(site: Site) -> None:
    feeds = replace(site.config.feeds, opml_format="atom", base_url="https://news.example.org/defwatch")
    build_all(replace(site.config, feeds=feeds), site.store)
    outlines = opml_outlines(site)
    assert [o["xmlUrl"] for o in outlines] == [f"https://news.example.org/defwatch/{f}.atom" for f in FEEDS]
    assert {o["version"] for o in outlines} == {"ATOM"}


def test_all_holds_every_story_once_newest_first(built: Site) -> None:
    entries = built.parse("all.atom").entries
    groups = len(built.stored.ids) - 1  # one copy is folded into its origin
    assert len(entries) == groups
    assert len({e.id for e in entries}) == groups
    published = [datetime.fromisoformat(e.published) for e in entries]
    assert published == sorted(published, reverse=True)


def test_entry_carries_title_link_summary_and_categories(built: Site) -> None:
    e = built.entry("all.atom", JST_ARTICLE)
    assert e.title == "人事発令 令和7年10月1日付け、1佐職人事(陸自24名、海自9名、空自12名)"
    assert (
        e.id
        == story_id(url_key(JST_ARTICLE))
        == "tag:defwatch,2025:story:j-defense.ikaros.jp/docs/mod/004400.html"
    )
    assert html_text(e.summary).startswith("防衛省は10月1日付けの1佐職人事を発令した。")
    assert {(t.scheme.rsplit(":", 1)[1], t.term) for t in e.tags} == {
        ("source", "jdefense"),
        ("section", "mod"),
        ("rule", "jinji"),
    }
    rss = built.entry("all.rss", JST_ARTICLE)
    assert rss.id == e.id and rss.guidislink is False
    assert {t.term for t in rss.tags} == {"source: jdefense", "section: mod", "rule: jinji"}


# -- dates -----------------------------------------------------------------------------


def test_japanese_sources_are_dated_in_jst(built: Site) -> None:
    atom = (built.public / "sources/jdefense.atom").read_text()
    rss = (built.public / "sources/jdefense.rss").read_text()
    assert "<published>2025-10-03T09:00:00+09:00</published>" in atom
    assert "<pubDate>Fri, 03 Oct 2025 09:00:00 +0900</pubDate>" in rss
    stamps = re.findall(r"<(?:published|updated)>([^<]+)<", atom)
    assert stamps and all(s.endswith("+09:00") for s in stamps)
    assert all(d.endswith("+0900") for d in re.findall(r"<(?:pubDate|lastBuildDate)>([^<]+)<", rss))


def test_other_sources_keep_their_zone_and_the_instant(built: Site) -> None:
    e = built.entry("sources/navalnews.atom", f"{NAVAL_URL}/2025/10/f-35b-lands-on-js-kaga/")
    assert e.published == "2025-10-19T23:30:00+00:00"
    rss = built.entry("sources/navalnews.rss", f"{NAVAL_URL}/2025/10/f-35b-lands-on-js-kaga/")
    assert rss.published == "Sun, 19 Oct 2025 23:30:00 +0000"


@pytest.mark.parametrize("name", FILES)
def test_no_date_is_minus_zero(built: Site, name: str) -> None:
    assert b"-0000" not in (built.public / name).read_bytes()


def test_feed_date_is_its_newest_entry(built: Site) -> None:
    parsed = built.parse("sources/mod.atom")
    newest = max(datetime.fromisoformat(e.updated) for e in parsed.entries)
    assert datetime.fromisoformat(parsed.feed.updated) == newest


# -- text stays text -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["all.rss", "all.atom", "sources/mod.rss", "sources/mod.atom"])
def test_markup_in_a_title_shows_as_text(built: Site, name: str) -> None:
    e = built.entry(name, HOSTILE_URL)
    assert e.title == HOSTILE_TITLE
    assert html_text(e.summary) == HOSTILE_SUMMARY
    raw = (built.public / name).read_text()
    assert "<script>" not in raw and "& " not in raw


def test_characters_xml_cannot_carry_are_dropped(site: Site) -> None:
    url = f"{JDEFENSE_URL}/docs/world/009999.html"
    site.store.save_story(
        StoryIn(url=url, source="jdefense", title="制御\x00文字\x1bを含む見出し", body="本文\x0c。")
    )
    site.build()
    assert site.entry("all.atom", url).title == "制御文字を含む見出し"


# -- copies ----------------------------------------------------------------------------


def test_a_copy_is_folded_into_its_origin(built: Site) -> None:
    origin, copy = built.stored.shared_origin, built.stored.shared_copy
    links = [e.link for e in built.parse("all.atom").entries]
    assert origin in links and copy not in links
    e = built.entry("all.atom", origin)
    assert e.title == shared_story.MOD_TITLE
    assert copy in e.content[0].value
    assert f'href="{copy}"' in built.entry("all.rss", origin).content[0].value


def test_the_copying_source_shows_the_group_under_its_origin(built: Site) -> None:
    # J-Defense's feed shows the story it carried, as the group's one entry, same id.
    e = built.entry("sources/jdefense.atom", built.stored.shared_origin)
    other = built.entry("sources/mod.atom", built.stored.shared_origin)
    story = built.entry("all.atom", built.stored.shared_origin).id
    assert (e.id, other.id) == (f"{story}#sources/jdefense", f"{story}#sources/mod")
    assert built.stored.shared_copy not in [x.link for x in built.parse("sources/jdefense.atom").entries]


def test_a_new_link_updates_the_origin_entry(site: Site) -> None:
    origin = f"{JDEFENSE_URL}/docs/world/004434.html"
    copy = f"{NAVAL_URL}/2025/10/asean-navies-meet/"
    before = site.entry("all.atom", origin)
    link(site.store, site.stored.ids[origin], site.stored.ids[copy])
    site.build()
    after = site.entry("all.atom", origin)
    assert after.id == before.id
    assert datetime.fromisoformat(after.updated) > datetime.fromisoformat(before.updated)
    assert copy in after.content[0].value
    assert copy not in [e.link for e in site.parse("all.atom").entries]
    assert origin in [e.link for e in site.parse("sources/navalnews.atom").entries]


# -- rules and rankings ----------------------------------------------------------------


def test_rule_feed_holds_what_the_rule_matched(built: Site) -> None:
    asean = {e.link for e in built.parse("rules/asean.atom").entries}
    assert f"{JDEFENSE_URL}/docs/world/004431.html" in asean  # 《特集》ASEAN諸国の…
    assert built.stored.shared_origin in asean  # 日ＡＳＥＡＮ… (full width)
    assert f"{NAVAL_URL}/2025/10/asean-navies-meet/" in asean
    assert JST_ARTICLE not in asean
    for e in built.parse("rules/asean.atom").entries:
        assert ("rule", "asean") in {(t.scheme.rsplit(":", 1)[1], t.term) for t in e.tags}


def test_rule_fields_and_sources_are_respected(built: Site) -> None:
    jinji = [e.title for e in built.parse("rules/jinji.atom").entries]
    assert jinji and all(t.startswith("人事発令") for t in jinji)
    f35 = {e.link for e in built.parse("rules/f35.atom").entries}
    assert f"{JDEFENSE_URL}/docs/mod/004411.html" in f35  # F-35Bの臨時配備…
    assert f"{NAVAL_URL}/2025/10/f-35b-lands-on-js-kaga/" in f35


@pytest.mark.parametrize(
    "name", ["rules/nothing.atom", "rules/top.rss", "ranking/24h.atom", "ranking/1m.rss"]
)
def test_empty_feeds_are_valid(built: Site, name: str) -> None:
    assert built.parse(name).entries == []


def test_ranking_feed_lists_movements(site: Site) -> None:
    ingesting(site.store, site.config)
    first = [f"{JDEFENSE_URL}/docs/mod/0044{n:02d}.html" for n in (10, 11, 12, 13)]
    second = [first[1], first[0], first[3], f"{JDEFENSE_URL}/docs/mod/004415.html"]
    for when, urls in (
        (datetime(2025, 10, 20, 9, tzinfo=UTC), first),
        (datetime(2025, 10, 20, 10, tzinfo=UTC), second),
    ):
        entries = [{"rank": i, "url": u, "title": f"記事{u[-11:-5]}"} for i, u in enumerate(urls, 1)]
        site.store.save_ranking_snapshot(RankingSnapshot.of("jdefense", "24h", entries, taken_at=when))
    site.build()
    titles = [e.title for e in site.parse("ranking/24h.atom").entries]
    assert "New #1: 記事004411" in titles
    assert "Up to #1 from #2: 記事004411" in titles
    assert "Down to #2 from #1: 記事004410" in titles
    assert "Entered at #4: 記事004415" in titles
    assert "Left the ranking (was #3): 記事004412" in titles
    assert all(e.published.endswith("+09:00") for e in site.parse("ranking/24h.atom").entries)
    assert site.parse("ranking/1w.atom").entries == []
    # the ranking rule's feed: what came into the top 3 (a move within it does not count)
    assert [e.title for e in site.parse("rules/top.atom").entries] == ["Up to #3 from #4: 記事004413"]
    ids = [e.id for e in site.parse("ranking/24h.atom").entries]
    build_all(site.config, site.store)
    assert [e.id for e in site.parse("ranking/24h.atom").entries] == ids


def test_max_items(tmp_path: pytest.TempPathFactory) -> None:
    site = Site(tmp_path, max_items=3)  # type: ignore[arg-type]
    site.build()
    assert len(site.parse("all.rss").entries) == 3
    assert len(site.parse("rules/asean.atom").entries) == 3
    site.store.close()


# -- identity and writing --------------------------------------------------------------


def test_a_rebuild_changes_no_id_and_no_byte(site: Site) -> None:
    before = snapshot(site)
    for name in FILES:
        (site.public / name).unlink()
    site.build()
    after = snapshot(site)
    assert {n: b for n, (b, _) in after.items()} == {n: b for n, (b, _) in before.items()}


def test_an_unchanged_store_rewrites_nothing(site: Site) -> None:
    before = snapshot(site)
    report = build_all(site.config, site.store)
    assert report.written == [] and len(report.unchanged) == len(FILES) + 1
    assert snapshot(site) == before
    assert not list(site.public.rglob(".*"))  # no temporary file left behind
    assert all(oct(p.stat().st_mode & 0o777) == "0o644" for p in site.public.rglob("*.*"))


def test_a_revision_keeps_the_id_and_updates(site: Site) -> None:
    before = {e.link: e for e in site.parse("all.atom").entries}
    site.store.save_story(
        StoryIn(
            url=JST_ARTICLE,
            source="jdefense",
            title="人事発令 令和7年10月1日付け、1佐職人事(訂正)",
            body="訂正後の本文。",
            published=datetime(2025, 10, 3, 9, 0, tzinfo=UTC) + timedelta(hours=-9),
            section="mod",
        )
    )
    site.build()
    after = {e.link: e for e in site.parse("all.atom").entries}
    assert [e.id for e in after.values()] == [e.id for e in before.values()]
    revised = after[JST_ARTICLE]
    assert revised.title.endswith("(訂正)")
    assert datetime.fromisoformat(revised.updated) > datetime.fromisoformat(before[JST_ARTICLE].updated)
    assert revised.published == before[JST_ARTICLE].published
    assert all(after[k].updated == before[k].updated for k in after if k != JST_ARTICLE)


def test_feeds_no_longer_configured_are_removed(site: Site) -> None:
    from core.config import load_config

    text = (site.public.parent / "defwatch.toml").read_text()
    trimmed = text.replace('[[rules]]\nname = "nothing"\nkeywords = ["該当なしの語"]\n', "")
    (site.public.parent / "defwatch.toml").write_text(trimmed)
    report = build_all(load_config(site.public.parent / "defwatch.toml"), site.store)
    assert report.removed == ["rules/nothing.atom", "rules/nothing.rss"]
    assert b"rules/nothing" not in (site.public / "index.opml").read_bytes()


# -- rebuilding what changed -----------------------------------------------------------


def test_build_changed_touches_only_what_changed(site: Site) -> None:
    before = snapshot(site)
    since = utcnow()
    site.store.save_story(
        StoryIn(
            url=f"{NAVAL_URL}/2025/10/kaga-f-35b-again/",
            source="navalnews",
            title="F-35B returns to JS Kaga",
            published=datetime(2025, 10, 21, 1, 0, tzinfo=UTC),
            body="More trials.",
        )
    )
    report = build_changed(site.config, site.store, since)
    assert sorted(report.built) == ["all", "rules/f35", "sources/navalnews"]
    changed = {n for n, v in snapshot(site).items() if v != before[n]}
    assert changed == {f"{f}.{x}" for f in report.built for x in ("rss", "atom")}
    assert build_changed(site.config, site.store, utcnow()).built == []


def test_build_changed_follows_a_story_out_of_a_rule(site: Site) -> None:
    url = f"{JDEFENSE_URL}/docs/world/004431.html"
    assert url in [e.link for e in site.parse("rules/asean.atom").entries]
    since = utcnow()
    site.store.save_story(
        StoryIn(
            url=url,
            source="jdefense",
            title="《特集》東南アジアの海洋監視",
            body="内容を差し替えた。",
            section="world",
        )
    )
    report = build_changed(site.config, site.store, since)
    assert "rules/asean" in report.built
    assert url not in [e.link for e in site.parse("rules/asean.atom").entries]


def test_build_changed_after_a_link(site: Site) -> None:
    origin = f"{JDEFENSE_URL}/docs/world/004434.html"
    copy = f"{NAVAL_URL}/2025/10/asean-navies-meet/"
    since = utcnow()
    link(site.store, site.stored.ids[origin], site.stored.ids[copy])
    report = build_changed(site.config, site.store, since)
    assert {"all", "sources/jdefense", "sources/navalnews", "rules/asean"} <= set(report.built)
    assert copy not in [e.link for e in site.parse("rules/asean.atom").entries]
    assert origin in [e.link for e in site.parse("rules/asean.atom").entries]
    assert "sources/mod" not in report.built


def test_build_changed_builds_missing_files(site: Site) -> None:
    (site.public / "ranking/1w.rss").unlink()
    assert build_changed(site.config, site.store, utcnow()).built == ["ranking/1w"]
    assert (site.public / "ranking/1w.rss").exists()


# -- build_due: what changed since the last cycle's build (run --once) ----------------


def test_build_due_renders_nothing_when_nothing_changed_then_what_changed(site: Site) -> None:
    every = sorted(spec.path for spec in feed_specs(site.config))
    assert sorted(build_due(site.config, site.store).built) == every  # no record yet: all
    before = snapshot(site)
    assert build_due(site.config, site.store).built == []
    assert snapshot(site) == before
    site.store.save_story(
        StoryIn(
            url=f"{NAVAL_URL}/2025/10/kaga-f-35b-again/",
            source="navalnews",
            title="F-35B returns to JS Kaga",
            published=datetime(2025, 10, 21, 1, 0, tzinfo=UTC),
            body="More trials.",
        )
    )
    assert sorted(build_due(site.config, site.store).built) == ["all", "rules/f35", "sources/navalnews"]
    assert build_due(site.config, site.store).built == []


@pytest.mark.parametrize(
    "change",
    ["rules", "feeds", "record damaged", "record gone"],
)
def test_build_due_rebuilds_everything_when_what_shapes_the_feeds_changed(site: Site, change: str) -> None:
    build_due(site.config, site.store)
    config = site.config
    if change == "rules":
        config = replace(config, rules=config.rules[:-1])
    elif change == "feeds":
        config = replace(config, feeds=replace(config.feeds, max_items=config.feeds.max_items - 1))
    elif change == "record damaged":
        (site.public / LAST_BUILD).write_text("{not json", encoding="utf-8")
    else:
        (site.public / LAST_BUILD).unlink()
    every = sorted(spec.path for spec in feed_specs(config))
    assert sorted(build_due(config, site.store).built) == every


def test_file_paths_use_the_configured_folder(site: Site) -> None:
    assert site.public.is_absolute() and os.path.isdir(site.public / "sources")


# -- build_changed gives what a full build gives ---------------------------------------


def full_build_elsewhere(site: Site, tmp_path: Path) -> Path:
    """The files a full build of the same store writes into another folder."""
    other = replace(site.config, feeds=replace(site.config.feeds, dir=str(tmp_path / "full")))
    build_all(other, site.store)
    return tmp_path / "full"


def assert_same_files(site: Site, full: Path) -> None:
    for name in [*FILES, "index.opml"]:
        assert (site.public / name).read_bytes() == (full / name).read_bytes(), name


def revise(site: Site, url: str, title: str, body: str) -> None:
    old = site.store.get_story(url)
    assert old is not None
    site.store.save_story(
        StoryIn(
            url=url,
            source=old["source"],
            title=title,
            body=body,
            published=old["published"],
            section=old["section"],
        )
    )


CHANGES = {
    "new story matching rules": lambda site: site.store.save_story(
        StoryIn(
            url=f"{NAVAL_URL}/2025/10/asean-f-35a/",
            source="navalnews",
            title="ASEAN air forces look at the F-35A",
            published=datetime(2025, 10, 21, 3, 0, tzinfo=UTC),
            body="Analysis.",
        )
    ),
    "revision out of a rule": lambda site: revise(
        site, f"{JDEFENSE_URL}/docs/world/004431.html", "《特集》東南アジアの海洋監視", "差し替えた本文。"
    ),
    "revision staying in a rule": lambda site: revise(
        site, f"{JDEFENSE_URL}/docs/world/004431.html", "《特集》ASEAN諸国の海洋監視(更新)", "ASEAN。"
    ),
    "copy matching, origin not": lambda site: link(
        site.store,
        site.stored.ids[JST_ARTICLE],
        site.stored.ids[f"{NAVAL_URL}/2025/10/asean-navies-meet/"],
    ),
    "matching story becomes a copy": lambda site: link(
        site.store,
        site.stored.ids[f"{JDEFENSE_URL}/docs/mod/004400.html"],
        site.stored.ids[f"{JDEFENSE_URL}/docs/world/004431.html"],
    ),
}


# Only a story leaving a rule's feed needs the search through every story's text.
READS_EVERY_TEXT = {"revision out of a rule"}


@pytest.mark.parametrize("change", list(CHANGES), ids=list(CHANGES))
def test_build_changed_writes_what_a_full_build_writes(
    site: Site, tmp_path: Path, change: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import feeds.build

    scans: list[int] = []
    read_all = feeds.build.sql.normalized_texts

    def counted(*args: Any, **kwargs: Any) -> Any:
        scans.append(1)
        return read_all(*args, **kwargs)

    monkeypatch.setattr(feeds.build.sql, "normalized_texts", counted)
    since = utcnow()
    CHANGES[change](site)
    report = build_changed(site.config, site.store, since)
    assert report.built and len(report.built) < len(FEEDS)
    assert bool(scans) is (change in READS_EVERY_TEXT)
    monkeypatch.undo()
    assert_same_files(site, full_build_elsewhere(site, tmp_path))
