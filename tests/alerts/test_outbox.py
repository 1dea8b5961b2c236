"""The outbox: matches become deliveries in the story's own transaction, once per story,
rule and channel, whatever is crawled again and whichever copy arrives first."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import replace

import pytest

from alerts.outbox import enqueue_ranking_event
from core.model import Movement
from imitations.shared_story import JDEFENSE_TITLE, MOD_TITLE, RELEASE_TEXT
from store import url_key

from .conftest import Pipeline

RULES = """
[[rules]]
name = "asean"
keywords = ["ASEAN"]
notify = ["hook", "log"]

[[rules]]
name = "jinji"
keywords = ["人事発令"]
fields = ["title"]
on = ["new", "revised"]
notify = ["hook"]

[channels.hook]
type = "webhook"
url = "http://127.0.0.1:9/hook"

[channels.log]
type = "file"
path = "alerts.jsonl"
"""

MOD_URL = "https://www.mod.go.jp/j/press/news/2025/10/17b.pdf"
JD_URL = "https://j-defense.ikaros.jp/docs/2025/10/20/asean.html"
JD_BODY = "防衛省は10月17日、次の通り発表した。\n" + RELEASE_TEXT


@pytest.fixture
def p(pipeline: Callable[..., Pipeline]) -> Pipeline:
    return pipeline(RULES)


def test_a_matching_story_makes_one_delivery_per_channel_with_a_stable_id(p: Pipeline) -> None:
    p.save(MOD_URL, "mod", MOD_TITLE, RELEASE_TEXT)
    rows = p.deliveries()
    assert sorted(r["channel"] for r in rows) == ["hook", "log"]
    key = url_key(MOD_URL)
    for r in rows:
        expected = hashlib.sha256("\x1f".join(["story", key, "asean", r["channel"]]).encode()).hexdigest()
        assert r["id"] == expected
        assert (r["status"], r["kind"], r["rule"], r["attempts"]) == ("pending", "story", "asean", 0)
        assert r["payload"]["matched"] == ["ASEAN"]
        assert r["payload"]["story"]["url"] == MOD_URL
        assert r["payload"]["story"]["source"] == "mod"
        assert r["payload"]["story"]["published"] == "2025-10-18T01:00:00+09:00"


def test_a_story_matching_nothing_makes_none(p: Pipeline) -> None:
    p.save("https://www.mod.go.jp/j/press/news/2025/10/10a.html", "mod", "豪州との協力", "本文")
    assert p.deliveries() == []


def test_saving_the_same_stories_again_makes_no_new_deliveries(
    p: Pipeline, pipeline: Callable[..., Pipeline]
) -> None:
    p.save(MOD_URL, "mod", MOD_TITLE, RELEASE_TEXT)
    p.save(MOD_URL, "mod", MOD_TITLE, RELEASE_TEXT)
    assert len(p.deliveries()) == 2
    p.store.close()
    again = pipeline(RULES)  # a restart: a new store object, a new ingest step
    again.save(MOD_URL, "mod", MOD_TITLE, RELEASE_TEXT)
    assert len(again.deliveries()) == 2


def test_a_revision_alerts_again_only_for_rules_on_revised(p: Pipeline) -> None:
    url = "https://www.mod.go.jp/j/press/jinji/2025/1001.html"
    p.save(url, "mod", "人事発令（10月1日付）ASEAN", "第1版")
    assert sorted((r["rule"], r["channel"]) for r in p.deliveries()) == [
        ("asean", "hook"),
        ("asean", "log"),
        ("jinji", "hook"),
    ]
    assert p.save(url, "mod", "人事発令（10月1日付）ASEAN", "第2版").status == "revised"
    rows = p.deliveries()
    assert len(rows) == 4  # asean is on "new" only: nothing more for it
    revised = rows[-1]
    assert (revised["rule"], revised["payload"]["event"]) == ("jinji", "revised")
    p.save(url, "mod", "人事発令（10月1日付）ASEAN", "第2版")  # unchanged: nothing
    assert len(p.deliveries()) == 4


def test_a_title_only_story_read_in_full_later_still_alerts(p: Pipeline) -> None:
    url = "https://www.mod.go.jp/j/press/news/2025/10/22c.html"
    p.save(url, "mod", "次官級会合について", "", complete=False)
    assert p.deliveries() == []
    assert p.save(url, "mod", "次官級会合について", "ASEAN加盟国の代表").status == "completed"
    assert sorted(r["channel"] for r in p.deliveries()) == ["hook", "log"]
    assert {r["payload"]["event"] for r in p.deliveries()} == {"new"}


def test_a_title_only_story_read_in_full_is_no_revision(p: Pipeline) -> None:
    url = "https://www.mod.go.jp/j/press/news/2025/10/01a.pdf"
    p.save(url, "mod", "人事発令（10月1日付）", "", complete=False)
    [first] = p.deliveries()  # the title matches "jinji" (title only, on new and revised)
    assert (first["rule"], first["payload"]["event"]) == ("jinji", "new")
    assert p.save(url, "mod", "人事発令（10月1日付）", "1等海佐 防衛 太郎").status == "completed"
    assert [r["id"] for r in p.deliveries()] == [first["id"]]
    # a real change of the text afterwards is one
    assert p.save(url, "mod", "人事発令（10月1日付）", "1等海佐 防衛 次郎").status == "revised"
    assert sorted(r["payload"]["event"] for r in p.deliveries()) == ["new", "revised"]


def test_a_copy_of_an_alerted_release_makes_no_new_delivery(p: Pipeline) -> None:
    p.save(MOD_URL, "mod", MOD_TITLE, RELEASE_TEXT)
    before = p.deliveries()
    published = dt.datetime(2025, 10, 20, 0, 10, tzinfo=dt.UTC)
    p.save(JD_URL, "jdefense", JDEFENSE_TITLE, JD_BODY, published=published)
    after = p.deliveries()
    assert [r["id"] for r in after] == [r["id"] for r in before]
    # the pending deliveries now name the copy too
    assert all(r["payload"]["story"]["also"] == [JD_URL] for r in after)


def test_a_copy_arriving_before_the_ministry_release_is_the_one_alerted(p: Pipeline) -> None:
    published = dt.datetime(2025, 10, 20, 0, 10, tzinfo=dt.UTC)
    p.save(JD_URL, "jdefense", JDEFENSE_TITLE, JD_BODY, published=published)
    first = p.deliveries()
    assert len(first) == 2 and all(r["payload"]["story"]["url"] == JD_URL for r in first)
    p.save(MOD_URL, "mod", MOD_TITLE, RELEASE_TEXT)
    assert [r["id"] for r in p.deliveries()] == [r["id"] for r in first]
    assert all(r["payload"]["story"]["also"] == [MOD_URL] for r in p.deliveries())


def test_a_story_not_saved_leaves_no_delivery(p: Pipeline) -> None:
    from store import StoryIn

    with pytest.raises(RuntimeError), p.store.transaction() as conn:
        p.store.save_story(StoryIn(url=MOD_URL, source="mod", title=MOD_TITLE, body=RELEASE_TEXT), conn)
        raise RuntimeError("the crawl's transaction fails after the save")
    assert p.deliveries() == []
    assert p.store.count_stories() == 0


RANKING_RULES = """
[[rules]]
name = "top3"
on = ["ranking"]
windows = ["24h"]
max_rank = 3
notify = ["hook"]

[channels.hook]
type = "webhook"
url = "http://127.0.0.1:9/hook"
"""


def test_a_ranking_movement_makes_one_delivery_per_rule_and_channel(
    pipeline: Callable[..., Pipeline],
) -> None:
    p = pipeline(RANKING_RULES)
    event = Movement(
        id=41,
        source="jdefense",
        window="24h",
        kind="entered",
        rank=2,
        previous_rank=None,
        url=JD_URL,
        title=JDEFENSE_TITLE,
        at=dt.datetime(2025, 10, 20, 3, 0, tzinfo=dt.UTC),
    )
    with p.store.transaction() as conn:
        added = enqueue_ranking_event(conn, p.config, event)
        assert enqueue_ranking_event(conn, p.config, event) == []  # the same movement again
        assert enqueue_ranking_event(conn, p.config, replace(event, id=42, rank=9)) == []
    assert len(added) == 1
    (row,) = p.deliveries()
    assert (row["kind"], row["rule"], row["channel"]) == ("ranking", "top3", "hook")
    assert row["payload"]["ranking"]["rank"] == 2
    assert row["payload"]["ranking"]["at"] == "2025-10-20T12:00:00+09:00"
    assert row["payload"]["story"]["url"] == JD_URL
