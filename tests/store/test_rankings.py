"""store.rankings: the ranking_events table and its migration, and the history queries
(recent movements, one story's rank over time, the current list with its changes)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect

from core.config import load_config
from core.model import Movement, RankingSnapshot
from rankings.movements import recompute_events
from store import Store, head_revisions
from store import rankings as rk
from tests.ingesting import ingesting

T = [datetime(2025, 10, 20, 0, 0, tzinfo=UTC) + timedelta(hours=12 * i) for i in range(8)]


def url(key: str) -> str:
    return f"https://j-defense.example/docs/mod/{key}.html"


def listing(*keys: str) -> list[dict[str, Any]]:
    return [{"rank": r, "url": url(k), "title": f"記事 {k}"} for r, k in enumerate(keys, 1)]


def hooked(path: Path) -> Store:
    return ingesting(Store.open(f"sqlite:///{path}"), load_config(None, environ={}))


@pytest.fixture
def history(tmp_path: Path) -> Iterator[Store]:
    """24h lists every 12 hours: a story ("a") that drops off and returns, an empty
    (invalid) list in the middle and a half-loaded one at the end; a 1w list and another
    source alongside."""
    store = hooked(tmp_path / "db.sqlite")
    for at, keys in [
        (T[0], "abcd"),
        (T[1], "bacd"),
        (T[2], ""),  # empty: invalid
        (T[3], "bcde"),
        (T[4], "abcd"),
        (T[5], "a"),  # 1 of 4: invalid
    ]:
        store.save_ranking_snapshot(RankingSnapshot.of("jdefense", "24h", listing(*keys), taken_at=at))
    store.save_ranking_snapshot(
        RankingSnapshot.of("jdefense", "1w", listing("x", "y", "z", "w", "a"), taken_at=T[0])
    )
    store.save_ranking_snapshot(
        RankingSnapshot.of("jdefense", "1w", listing("y", "x", "z", "w", "a"), taken_at=T[4])
    )
    store.save_ranking_snapshot(RankingSnapshot.of("other", "24h", listing("p", "q"), taken_at=T[0]))
    store.save_ranking_snapshot(RankingSnapshot.of("other", "24h", listing("q", "p"), taken_at=T[6]))
    yield store
    store.close()


def key(event: Movement) -> tuple[Any, ...]:
    return (event.source, event.at, event.kind, event.url.rsplit("/", 1)[1][:1], event.rank)


# ---- the table and its migration ---------------------------------------------------------------------------


def test_migration_adds_ranking_events_and_its_indexes(tmp_path: Path) -> None:
    with Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}") as store:
        assert "0004" in head_revisions() and store.current_revisions() == head_revisions()
        inspector = inspect(store.engine)
        assert {ix["name"] for ix in inspector.get_indexes("ranking_events")} >= {
            "uq_ranking_events_snapshot_kind_url_key",
            "ix_ranking_events_source_window_at",
            "ix_ranking_events_window_at",
            "ix_ranking_events_url_key_window_at",
        }
        assert "ix_ranking_entries_url_key_snapshot_rank" in {
            ix["name"] for ix in inspector.get_indexes("ranking_entries")
        }


def test_upgrade_from_0002_keeps_the_snapshots_and_recomputes_their_movements(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    with Store.open(db, revision="0002") as old:
        assert "ranking_events" not in inspect(old.engine).get_table_names()
        old.save_ranking_snapshot(RankingSnapshot.of("jdefense", "24h", listing("a", "b"), taken_at=T[0]))
        old.save_ranking_snapshot(RankingSnapshot.of("jdefense", "24h", listing("b", "c"), taken_at=T[1]))
    with Store.open(db) as upgraded:
        assert len(upgraded.ranking_snapshots("jdefense", "24h")) == 2
        assert rk.recent_events(upgraded, "jdefense", "24h", 10) == []
        found = recompute_events(upgraded, "jdefense", "24h")
        assert [key(e) for e in found] == [
            ("jdefense", T[1], "new_1", "b", 1),
            ("jdefense", T[1], "climbed", "b", 1),
            ("jdefense", T[1], "entered", "c", 2),
            ("jdefense", T[1], "left", "a", None),
        ]
        assert rk.recent_events(upgraded, "jdefense", "24h", 10) == found


# ---- recent movements --------------------------------------------------------------------------------------


def test_recent_events_newest_first_with_what_they_say(history: Store) -> None:
    events = rk.recent_events(history, "jdefense", "24h", 100)
    assert [key(e) for e in events] == [
        ("jdefense", T[4], "new_1", "a", 1),
        ("jdefense", T[4], "returned", "a", 1),
        ("jdefense", T[4], "fell", "b", 2),
        ("jdefense", T[4], "fell", "c", 3),
        ("jdefense", T[4], "fell", "d", 4),
        ("jdefense", T[4], "left", "e", None),
        ("jdefense", T[3], "climbed", "c", 2),
        ("jdefense", T[3], "climbed", "d", 3),
        ("jdefense", T[3], "entered", "e", 4),
        ("jdefense", T[3], "left", "a", None),
        ("jdefense", T[1], "new_1", "b", 1),
        ("jdefense", T[1], "climbed", "b", 1),
        ("jdefense", T[1], "fell", "a", 2),
    ]
    first = events[0]
    assert isinstance(first, Movement) and first.window == "24h" and first.id > 0
    assert first.title == "記事 a" and first.url == url("a") and first.previous_rank is None
    assert first.at.tzinfo is not None


def test_recent_events_limit_since_and_sources(history: Store) -> None:
    assert [key(e) for e in rk.recent_events(history, "jdefense", "24h", 2)] == [
        ("jdefense", T[4], "new_1", "a", 1),
        ("jdefense", T[4], "returned", "a", 1),
    ]
    # since is exclusive: what happened after the list of T[3].
    assert {e.at for e in rk.recent_events(history, "jdefense", "24h", 100, since=T[3])} == {T[4]}
    every = rk.recent_events(history, None, "24h", 100)
    assert [key(e) for e in every[:3]] == [
        ("other", T[6], "new_1", "q", 1),
        ("other", T[6], "climbed", "q", 1),
        ("other", T[6], "fell", "p", 2),
    ]
    assert len(every) == 3 + 13
    assert [key(e) for e in rk.recent_events(history, None, "1w", 100)] == [
        ("jdefense", T[4], "new_1", "y", 1),
        ("jdefense", T[4], "climbed", "y", 1),
        ("jdefense", T[4], "fell", "x", 2),
    ]
    assert rk.recent_events(history, "jdefense", "1m", 100) == []


# ---- history ---------------------------------------------------------------------------------------------


def test_rank_history_of_one_story(history: Store) -> None:
    assert rk.rank_history(history, url("a"), "24h") == [
        {"at": T[0], "rank": 1, "source": "jdefense"},
        {"at": T[1], "rank": 2, "source": "jdefense"},
        {"at": T[4], "rank": 1, "source": "jdefense"},  # not at T[2] (invalid) nor T[3] (off the list)
    ]
    assert [p["rank"] for p in rk.rank_history(history, url("a"), "1w")] == [5, 5]
    assert [p["at"] for p in rk.rank_history(history, url("a"), "24h", since=T[1])] == [T[1], T[4]]
    assert rk.rank_history(history, url("a"), "24h", source="other") == []
    same_story = url("a").replace("https://", "http://") + "?utm_source=x#top"
    assert rk.rank_history(history, same_story, "24h") == rk.rank_history(history, url("a"), "24h")


def test_rank_history_reads_an_index_not_a_scan(history: Store) -> None:
    plan = rk.rank_history_plan(history, url("a"), "24h")
    assert any("ix_ranking_entries_url_key_snapshot_rank" in step for step in plan), plan
    assert not [step for step in plan if step.startswith("SCAN")], plan


def test_current_ranking_with_changes_and_time_listed(history: Store) -> None:
    current = rk.current_ranking(history, "jdefense", "24h", ago=timedelta(hours=24))
    assert current is not None
    assert current["taken_at"] == T[4]  # T[5] was half-loaded
    assert current["previous_taken_at"] == T[3]
    assert current["ago_taken_at"] == T[1]  # T[2] (24h before) was empty: the one before it
    assert current["newer_invalid"] == [
        {"taken_at": T[5], "reason": "1 entry where the last valid list had 4"}
    ]
    got = [
        (
            e["url_key"][-6],
            e["rank"],
            e["previous_rank"],
            e["rank_ago"],
            e["movement"],
            e["ranked_since"],
            e["ranked_since_first"],
        )
        for e in current["entries"]
    ]
    assert got == [
        ("a", 1, None, 2, "returned", T[4], False),
        ("b", 2, 1, 1, "fell", T[0], True),
        ("c", 3, 2, 3, "fell", T[0], True),
        ("d", 4, 3, 4, "fell", T[0], True),
    ]
    assert current["entries"][0]["title"] == "記事 a" and current["entries"][0]["url"] == url("a")


def test_current_ranking_without_history(tmp_path: Path) -> None:
    with hooked(tmp_path / "db.sqlite") as store:
        assert rk.current_ranking(store, "jdefense", "24h") is None
        store.save_ranking_snapshot(RankingSnapshot.of("jdefense", "24h", [], taken_at=T[0]))
        assert rk.current_ranking(store, "jdefense", "24h") is None  # only an invalid list
        store.save_ranking_snapshot(RankingSnapshot.of("jdefense", "24h", listing("a", "b"), taken_at=T[1]))
        current = rk.current_ranking(store, "jdefense", "24h")
        assert current is not None
        assert current["previous_taken_at"] is None and current["ago_taken_at"] is None
        assert [(e["previous_rank"], e["rank_ago"], e["ranked_since"]) for e in current["entries"]] == [
            (None, None, T[1]),
            (None, None, T[1]),
        ]


def test_window_history_and_sources(history: Store) -> None:
    snaps = rk.window_history(history, "jdefense", "24h", since=T[2])
    assert [(s["taken_at"], s["valid"], s["reason"], len(s["entries"])) for s in snaps] == [
        (T[2], False, "empty list", 0),
        (T[3], True, None, 4),
        (T[4], True, None, 4),
        (T[5], False, "1 entry where the last valid list had 4", 0),
    ]
    assert snaps[1]["entries"][0] == {
        "rank": 1,
        "url": url("b"),
        "url_key": snaps[1]["entries"][0]["url_key"],
        "title": "記事 b",
    }
    assert rk.ranking_sources(history, "24h") == ["jdefense", "other"]
    assert rk.ranking_sources(history, "1m") == []
    assert rk.latest_taken_at(history, "jdefense", "24h") == T[5]
    assert rk.latest_taken_at(history, "jdefense", "1m") is None
