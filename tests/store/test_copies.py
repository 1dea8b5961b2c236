"""Cross-source copies on the imitation sites' own text: the J-Defense article quoting the
ministry's release is one story with the ministry item as origin, whatever arrives first;
releases that share only a title stay apart; the index survives restarts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from core.config import load_config
from imitations import shared_story
from imitations.jdefense.data import BY_ID, SHARED_STORY_ID
from imitations.mod.data import ALL_PDFS, SHARED_TITLE, SHARED_TITLE_PATHS_EPOCH0
from imitations.mod.layout import wrap
from store import Store, StoryIn, links
from store import schema as t
from store.copies import CopyDetector, CopySettings, matching_text
from tests.ingesting import ingesting

MOD_SITE = "https://www.mod.go.jp"
JDEFENSE_SITE = "https://j-defense.ikaros.jp"
ARTICLE = BY_ID[SHARED_STORY_ID]


def ministry_release(**changes: object) -> StoryIn:
    """The ministry's PDF release as its spider stores it: the PDF's text, lines wrapped
    where the page wrapped them."""
    story = StoryIn(
        url=MOD_SITE + shared_story.MOD_PATH,
        source="mod",
        title=shared_story.MOD_TITLE,
        published=parsedate_to_datetime(shared_story.MOD_PUBDATE),
        body="\n".join(wrap(shared_story.RELEASE_TEXT.split("\n"))),
        kind="pdf",
    )
    return replace(story, **changes)  # type: ignore[arg-type]


def jdefense_article(**changes: object) -> StoryIn:
    """The J-Defense article: its own intro paragraph, then the release quoted in full."""
    story = StoryIn(
        url=JDEFENSE_SITE + ARTICLE.path,
        source="jdefense",
        title=shared_story.JDEFENSE_TITLE,
        published=datetime.fromisoformat(shared_story.JDEFENSE_DATE_LINE + "+09:00"),
        body="\n".join(ARTICLE.body),
    )
    return replace(story, **changes)  # type: ignore[arg-type]


def pdf_release(path: str, published: datetime) -> StoryIn:
    doc = ALL_PDFS[path]
    return StoryIn(
        url=MOD_SITE + path,
        source="mod",
        title=doc.lines[2],
        published=published,
        body="\n".join(wrap(doc.lines)),
        kind="pdf",
    )


@pytest.fixture
def store(store_factory: Callable[[], Store]) -> Store:
    s = store_factory()
    return ingesting(s, copies=CopyDetector.install(s))


def group(store: Store, story_id: int) -> list[int]:
    with store.engine.connect() as conn:
        return links.group_ids(conn, story_id)


def link_count(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(t.story_links)).scalar_one())


def test_the_shared_story_texts_really_differ_in_form() -> None:
    """What the linking below has to see through: another title, an intro paragraph of
    its own, PDF line breaks in mid-sentence and full-width letters in the title."""
    release, article = ministry_release(), jdefense_article()
    assert release.title != article.title and release.body != article.body
    assert shared_story.RELEASE_TEXT not in release.body  # the PDF broke its lines
    assert matching_text({"body": release.body}) in matching_text({"body": article.body})


@pytest.mark.parametrize("ministry_first", [True, False], ids=["ministry-first", "jdefense-first"])
def test_jdefense_quoting_the_release_is_a_copy_of_the_ministry_item(
    store: Store, ministry_first: bool
) -> None:
    order = [ministry_release(), jdefense_article()]
    if not ministry_first:
        order.reverse()
    results = {s.source: store.save_story(s) for s in order}
    mod, jd = results["mod"].story_id, results["jdefense"].story_id
    assert store.count_stories() == 2
    with store.engine.connect() as conn:
        assert links.group_ids(conn, jd) == links.group_ids(conn, mod) == [mod, jd]
        assert links.origin_id(conn, jd) == mod and links.origin_id(conn, mod) == mod
        assert links.is_copy(conn, jd) and not links.is_copy(conn, mod)
        assert links.also_urls(conn, mod) == [JDEFENSE_SITE + ARTICLE.path]
        assert links.also_urls(conn, jd) == [MOD_SITE + shared_story.MOD_PATH]
        [row] = conn.execute(select(t.story_links)).mappings()
    assert (row["origin_id"], row["copy_id"]) == (mod, jd)
    assert 0.8 < row["similarity"] < 1.0


def test_a_story_alone_is_its_own_group(store: Store) -> None:
    mod = store.save_story(ministry_release()).story_id
    with store.engine.connect() as conn:
        assert links.group_ids(conn, mod) == [mod]
        assert links.origin_id(conn, mod) == mod
        assert links.also_urls(conn, mod) == []
        assert not links.is_copy(conn, mod)


@pytest.mark.parametrize(
    "sources",
    [("mod", "mod"), ("mod", "repost")],
    ids=["both-from-the-ministry", "second-on-another-feed"],
)
def test_releases_sharing_a_title_but_not_text_stay_two_stories(
    store: Store, sources: tuple[str, str]
) -> None:
    """「中国海軍艦艇の動向について」 twice: same title, same template, other ships and days.
    Published a day apart here, so that only the text can keep them apart."""
    day = datetime.fromisoformat("2025-10-28T18:06:48+09:00")
    first, second = (pdf_release(p, day - timedelta(days=i)) for i, p in enumerate(SHARED_TITLE_PATHS_EPOCH0))
    assert first.title == second.title == SHARED_TITLE
    a = store.save_story(first)
    b = store.save_story(replace(second, source=sources[1]))
    assert a.story_id != b.story_id and store.count_stories() == 2
    assert link_count(store) == 0


def test_a_title_only_match_never_links(store: Store) -> None:
    """Title-only items (a challenged page) and bodies too short to judge never link."""
    title = "防衛大臣の海外出張について"
    store.save_story(
        StoryIn(url=MOD_SITE + "/j/press/news/2025/10/22a.html", source="mod", title=title, complete=False)
    )
    store.save_story(
        StoryIn(url=JDEFENSE_SITE + "/docs/mod/009001.html", source="jdefense", title=title, complete=False)
    )
    store.save_story(StoryIn(url="https://repost.example/1", source="repost", title=title, body=title))
    store.save_story(
        StoryIn(
            url="https://other.example/1",
            source="other",
            title=title,
            body="詳細は防衛省のウェブサイトを参照。",
        )
    )
    assert store.count_stories() == 4
    assert link_count(store) == 0


def test_a_title_only_item_read_in_full_later_is_linked(store: Store) -> None:
    jd = store.save_story(jdefense_article()).story_id
    title_only = ministry_release(body="", complete=False)
    mod = store.save_story(title_only).story_id
    assert group(store, jd) == [jd]
    result = store.save_story(ministry_release())
    assert result.status == "completed" and result.story_id == mod
    assert group(store, jd) == [mod, jd]


def test_a_corrected_title_is_one_story_with_a_revision(store: Store) -> None:
    store.save_story(jdefense_article())
    typo = shared_story.MOD_TITLE.replace("次官級", "次官")
    first = store.save_story(ministry_release(title=typo))
    before = store.get_story(MOD_SITE + shared_story.MOD_PATH)
    corrected = store.save_story(ministry_release())
    assert (corrected.story_id, corrected.status) == (first.story_id, "revised")
    assert store.count_stories() == 2
    [revision] = store.revisions(first.story_id)
    assert revision["title"] == typo
    after = store.get_story(MOD_SITE + shared_story.MOD_PATH)
    assert before is not None and after is not None
    assert after["title"] == shared_story.MOD_TITLE and after["updated"] > before["updated"]
    assert revision["valid_from"] == before["updated"] and revision["replaced_at"] == after["updated"]
    assert len(group(store, first.story_id)) == 2 and link_count(store) == 1  # still one group
    with store.engine.connect() as conn:  # re-indexed once, not twice
        assert conn.execute(select(func.count()).select_from(t.copy_signatures)).scalar_one() == 2


@pytest.mark.parametrize(
    ("days_later", "linked"),
    [(6, True), (-6, True), (8, False), (-8, False)],
    ids=["6-days-after", "6-days-before", "8-days-after", "8-days-before"],
)
def test_copies_are_looked_for_within_seven_days(store: Store, days_later: int, linked: bool) -> None:
    release = ministry_release()
    assert release.published is not None
    store.save_story(release)
    jd = store.save_story(jdefense_article(published=release.published + timedelta(days=days_later)))
    assert (len(group(store, jd.story_id)) == 2) is linked


def test_the_threshold_is_a_setting(store_factory: Callable[[], Store]) -> None:
    strict = store_factory()
    ingesting(strict, copies=CopyDetector.install(strict, CopySettings(threshold=0.95)))
    strict.save_story(ministry_release())
    strict.save_story(jdefense_article())
    assert link_count(strict) == 0  # the intro paragraph keeps it under 0.95


def test_without_the_ministry_the_earliest_published_is_the_origin(store: Store) -> None:
    """A re-post on another feed: the original heads the group even when crawled later."""
    repost = store.save_story(jdefense_article(url="https://repost.example/a", source="repost")).story_id
    original = store.save_story(
        jdefense_article(published=datetime.fromisoformat("2025-10-20T08:00:00+09:00"))
    ).story_id
    assert group(store, repost) == [original, repost]


def test_the_ministry_item_arriving_last_heads_every_copy(store: Store) -> None:
    jd = store.save_story(jdefense_article()).story_id
    repost = store.save_story(jdefense_article(url="https://repost.example/a", source="repost")).story_id
    assert group(store, jd) == [jd, repost]
    mod = store.save_story(ministry_release()).story_id
    assert group(store, repost) == [mod, jd, repost]
    with store.engine.connect() as conn:
        rows = {r["copy_id"]: r for r in conn.execute(select(t.story_links)).mappings()}
    assert set(rows) == {jd, repost} and {r["origin_id"] for r in rows.values()} == {mod}
    assert all(0.8 < r["similarity"] < 1.0 for r in rows.values())  # similarity to the new origin


def test_the_index_survives_a_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'restart.db'}"
    with Store.open(url) as first:
        ingesting(first, copies=CopyDetector.install(first))
        first.save_story(jdefense_article())
        with first.engine.connect() as conn:
            built = conn.execute(select(t.copy_index.c.built_at)).scalar_one()
    with Store.open(url) as second:
        ingesting(second, copies=CopyDetector.install(second))
        mod = second.save_story(ministry_release()).story_id
        with second.engine.connect() as conn:
            assert conn.execute(select(t.copy_index.c.built_at)).scalar_one() == built  # not rebuilt
            assert len(links.group_ids(conn, mod)) == 2


def test_stories_stored_before_detection_are_indexed_and_linked_on_install(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'older.db'}"
    with Store.open(url) as plain:  # no hook: as a store from before revision 0003
        jd = plain.save_story(jdefense_article()).story_id
        mod = plain.save_story(ministry_release()).story_id
    with Store.open(url) as store:
        CopyDetector.install(store)
        with store.engine.connect() as conn:
            assert links.group_ids(conn, jd) == [mod, jd]


def test_a_changed_index_fingerprint_rebuilds_the_index(store: Store) -> None:
    store.save_story(ministry_release())
    store.save_story(jdefense_article())
    with store.transaction() as conn:
        conn.execute(text("UPDATE copy_index SET fingerprint = 'from another datasketch'"))
        conn.execute(text("UPDATE copy_bands SET band_key = band_key + 1"))
    CopyDetector.install(store)
    repost = store.save_story(jdefense_article(url="https://repost.example/a", source="repost")).story_id
    assert len(group(store, repost)) == 3


def test_two_processes_starting_on_an_unbuilt_index_build_it_once(pg_admin_url: str | None) -> None:
    """Two crawl processes (two Scrapyd nodes) opening a PostgreSQL store whose index was never
    built: the second waits for the first's build and uses it, rather than building it again
    and failing on the first's fingerprint row (CI, 2026-12-04: ``pk_copy_index`` violated)."""
    if pg_admin_url is None:
        pytest.skip("no PostgreSQL server here (set DEFWATCH_TEST_PG or apt-get install postgresql)")
    from tests import pg

    url = pg.new_database(pg_admin_url)
    with Store.open(url) as plain:  # no hook: stories from before the index
        plain.save_story(ministry_release())
        plain.save_story(jdefense_article())
    errors = pg.race(url, CopyDetector().ensure_index, CopyDetector.install)
    assert errors == []
    with Store.open(url) as store, store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.copy_index)).scalar_one() == 1
        assert conn.execute(select(func.count()).select_from(t.story_links)).scalar_one() == 1


def test_candidates_are_found_through_the_band_index(store: Store) -> None:
    """Sublinear: each band is an index seek on copy_bands, never a scan."""
    compiled = str(
        select(t.copy_bands.c.story_id)
        .where(t.copy_bands.c.band_key.in_([1, 2]), t.copy_bands.c.day.between(1, 9))
        .compile(store.engine, compile_kwargs={"literal_binds": True})
    )
    with store.engine.connect() as conn:
        if store.engine.dialect.name == "postgresql":
            # A tiny table is scanned whatever the indexes; forbid that to see the index used.
            conn.execute(text("SET enable_seqscan = off"))
            plan = " ".join(str(r[0]) for r in conn.execute(text("EXPLAIN " + compiled)))
            assert "Index Only Scan using pk_copy_bands" in plan and "band_key = ANY" in plan, plan
            return
        plan = " ".join(str(r[-1]) for r in conn.execute(text("EXPLAIN QUERY PLAN " + compiled)))
    assert "SEARCH copy_bands USING PRIMARY KEY (band_key=? AND day>? AND day<?)" in plan


@pytest.fixture
def configured(store_factory: Callable[[], Store], tmp_path: Path) -> Iterator[Store]:
    (tmp_path / "defwatch.toml").write_text(
        '[[sources]]\nname = "ministry"\nkind = "mod"\nurl = "https://www.mod.go.jp/"\n\n'
        '[[sources]]\nname = "jd"\nkind = "jdefense"\nurl = "https://j-defense.ikaros.jp/"\n',
        encoding="utf-8",
    )
    s = store_factory()
    yield ingesting(s, load_config(tmp_path / "defwatch.toml"))


def test_ingest_links_with_the_configured_ministry(configured: Store) -> None:
    """The ministry is whichever source has kind "mod", whatever its name."""
    jd = configured.save_story(jdefense_article(source="jd")).story_id
    mod = configured.save_story(ministry_release(source="ministry")).story_id
    assert group(configured, jd) == [mod, jd]


def test_signatures_are_datasketchs_very_values() -> None:
    # The signature is computed without datasketch's per-value Python loop; it must be the
    # one datasketch gives (the index stored so far, and its fingerprint, depend on it).
    import random

    import numpy as np

    from store import copies

    copies.fingerprint()  # draws the permutations, decides the route
    assert copies._direct  # the fast route is the one in use with the pinned datasketch
    rng = random.Random(17)
    texts = ["", "防衛省", copies._PROBE, "".join(BY_ID[SHARED_STORY_ID].body)]
    texts += ["".join(chr(rng.randrange(0x3041, 0x9FFF)) for _ in range(n)) for n in (5, 6, 2_003, 9_000)]
    for text_ in texts:
        items = copies.shingles(text_)
        assert np.array_equal(copies._direct_signature(items), copies._datasketch_signature(items)), len(
            text_
        )
