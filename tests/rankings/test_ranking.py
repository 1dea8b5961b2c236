"""Rankings over time: movements between valid lists, broken lists, recomputing, the alert
outbox hand-over, ranking rules, ``defwatch ranking`` (table and chart), and the whole
path from ``defwatch crawl jdefense`` against the J-Defense imitation.

The lists are the imitation's (``imitations/jdefense/data.py``: RANKINGS, epochs 0-4,
the 1-week list of epoch 4 half-loaded). ``EXPECTED`` below was written by reading those
lists, not computed: it is the oracle.
"""

from __future__ import annotations

import re
import struct
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

import imitations.server as site_server
from core.config import RuleConfig, load_config
from core.errors import CommandError
from core.model import Movement, RankingSnapshot
from core.rules import ranking_rule_matches
from imitations.jdefense import JDefenseSite
from imitations.jdefense import data as D
from imitations.server import SiteServer
from rankings import chart, movements
from store import Store
from store import rankings as rk
from tests.conftest import Defwatch
from tests.ingesting import ingesting

SITE = "http://127.0.0.1:8000"
EPOCH_TIME = {e: datetime(2025, 10, 20, 18, 0, tzinfo=D.JST) + timedelta(days=e) for e in D.EPOCHS}
T = D.BY_ID  # id -> Article (titles)

# (window, epoch) -> the movements of that epoch's list against the last valid one, in
# reading order: (kind, article id, rank, previous rank).
EXPECTED: dict[tuple[str, int], list[tuple[str, str, int | None, int | None]]] = {
    ("24h", 1): [
        ("entered", "004438", 2, None),
        ("entered", "004437", 3, None),
        ("fell", "004432", 4, 2),  # the faller: 2nd -> 4th
        ("fell", "004424", 5, 4),
        ("fell", "004430", 6, 3),
        ("entered", "004436", 7, None),
        ("left", "004427", None, 5),  # the leaver
        ("left", "004431", None, 6),
        ("left", "004435", None, 7),
    ],
    ("24h", 2): [
        ("new_1", "004441", 1, None),  # a new #1 straight onto the list
        ("entered", "004441", 1, None),
        ("fell", "004433", 3, 1),
        ("entered", "004442", 4, None),
        ("returned", "004431", 6, None),  # the returner: listed at 0, gone at 1
        ("fell", "004437", 7, 3),
        ("left", "004432", None, 4),
        ("left", "004430", None, 6),
        ("left", "004436", None, 7),
    ],
    ("24h", 3): [
        ("entered", "004446", 2, None),
        ("entered", "004447", 3, None),
        ("climbed", "004424", 4, 5),  # the climber: 5th -> 4th
        ("fell", "004442", 5, 4),
        ("entered", "004443", 6, None),
        ("fell", "004438", 7, 2),
        ("left", "004433", None, 3),
        ("left", "004431", None, 6),
        ("left", "004437", None, 7),
    ],
    ("24h", 4): [
        ("new_1", "004447", 1, 3),  # a new #1 that climbed 3rd -> 1st
        ("climbed", "004447", 1, 3),
        ("fell", "004441", 3, 1),
        ("entered", "004448", 5, None),
        ("entered", "004444", 6, None),
        ("fell", "004442", 7, 5),
        ("left", "004443", None, 6),
        ("left", "004438", None, 7),
    ],
    ("1w", 1): [
        ("climbed", "004432", 3, 5),
        ("entered", "004438", 4, None),
        ("fell", "004401", 5, 3),
        ("fell", "004420", 7, 4),
        ("entered", "004437", 8, None),
        ("left", "004413", None, 7),
        ("left", "004430", None, 8),
    ],
    ("1w", 2): [
        ("entered", "004441", 2, None),
        ("fell", "004424", 3, 2),
        ("fell", "004432", 5, 3),
        ("fell", "004401", 6, 5),
        ("climbed", "004437", 7, 8),
        ("fell", "004427", 8, 6),
        ("left", "004420", None, 7),
    ],
    ("1w", 3): [
        ("new_1", "004441", 1, 2),
        ("climbed", "004441", 1, 2),
        ("fell", "004433", 2, 1),
        ("entered", "004446", 4, None),
        ("fell", "004438", 5, 4),
        ("entered", "004442", 6, None),
        ("fell", "004401", 7, 6),
        ("fell", "004432", 8, 5),
        ("left", "004437", None, 7),
        ("left", "004427", None, 8),
    ],
    ("1w", 4): [],  # half-loaded (1 entry where there were 8): invalid, says nothing
    ("1m", 1): [
        ("climbed", "004433", 3, 4),
        ("fell", "004409", 4, 3),
        ("entered", "004432", 8, None),
        ("left", "004406", None, 8),
    ],
    ("1m", 2): [
        ("new_1", "004424", 1, 2),
        ("climbed", "004424", 1, 2),
        ("fell", "004401", 2, 1),
        ("entered", "004441", 5, None),
        ("fell", "004403", 6, 5),
        ("fell", "004413", 7, 6),
        ("fell", "004420", 8, 7),
        ("left", "004432", None, 8),
    ],
    ("1m", 3): [
        ("climbed", "004441", 4, 5),
        ("fell", "004409", 5, 4),
        ("entered", "004446", 7, None),
        ("fell", "004413", 8, 7),
        ("left", "004420", None, 8),
    ],
    ("1m", 4): [
        ("climbed", "004433", 2, 3),
        ("fell", "004401", 3, 2),
        ("entered", "004447", 6, None),
        ("fell", "004403", 7, 6),
        ("fell", "004446", 8, 7),
        ("left", "004413", None, 8),
    ],
}
CASES = sorted(EXPECTED)
CASE_IDS = [f"{w}-epoch{e}" for w, e in CASES]


# ---- helpers ---------------------------------------------------------------------------------------


def listing(epoch: int, window: str, ids: list[str] | None = None) -> list[dict[str, Any]]:
    """A ranking list as the spider hands it over: rank, url, title."""
    ids = D.RANKINGS[epoch][window] if ids is None else ids
    return [{"rank": r, "url": f"{SITE}{T[i].path}", "title": T[i].title} for r, i in enumerate(ids, 1)]


def article_id(url: str) -> str:
    return url.rsplit("/", 1)[1][:6]


def hooked(url: str) -> Store:
    return ingesting(Store.open(url), load_config(None, environ={}))


def save_epochs(store: Store, epochs: Any, windows: tuple[str, ...] = D.WINDOWS) -> None:
    for epoch in epochs:
        for window in windows:
            store.save_ranking_snapshot(
                RankingSnapshot.of("jdefense", window, listing(epoch, window), taken_at=EPOCH_TIME[epoch])
            )


def moves(store: Store, window: str, at: datetime) -> list[tuple[str, str, int | None, int | None]]:
    """The movements stored for the list of ``window`` taken at ``at``, in reading order."""
    return [
        (ev.kind, article_id(ev.url), ev.rank, ev.previous_rank)
        for ev in rk.recent_events(store, "jdefense", window, 1000)
        if ev.at == at
    ]


def all_moves(store: Store, window: str) -> list[tuple[Any, ...]]:
    return [
        (ev.at, ev.kind, article_id(ev.url), ev.rank, ev.previous_rank)
        for ev in rk.recent_events(store, "jdefense", window, 10_000)
    ]


def table_rows(text: str) -> list[list[str]]:
    """The body rows of the rich tables in ``text`` (header rows use ┃, body rows │)."""
    return [
        [c.strip() for c in line.strip().strip("│").split("│")]
        for line in text.splitlines()
        if line.startswith("│")
    ]


# ---- the imitation's lists, saved epoch by epoch ------------------------------------------------------


@pytest.fixture(scope="module")
def imitation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """Epochs 0-4 of every window saved through the real ingest step."""
    store = hooked(f"sqlite:///{tmp_path_factory.mktemp('imitation') / 'defwatch.db'}")
    save_epochs(store, D.EPOCHS)
    yield store
    store.close()


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_movements_per_window_and_epoch(imitation: Store, case: tuple[str, int]) -> None:
    window, epoch = case
    assert moves(imitation, window, EPOCH_TIME[epoch]) == EXPECTED[case]


@pytest.mark.parametrize("window", D.WINDOWS)
def test_the_first_list_is_the_baseline(imitation: Store, window: str) -> None:
    assert moves(imitation, window, EPOCH_TIME[0]) == []


def test_the_half_loaded_list_is_recorded_invalid(imitation: Store) -> None:
    verdicts = [(s["valid"], s["reason"]) for s in imitation.ranking_snapshots("jdefense", "1w")]
    assert verdicts == [(True, None)] * 4 + [(False, "1 entry where the last valid list had 8")]
    for window in ("24h", "1m"):
        assert all(s["valid"] for s in imitation.ranking_snapshots("jdefense", window))


def test_the_next_valid_list_is_compared_with_the_last_valid_one(tmp_path: Path) -> None:
    store = hooked(f"sqlite:///{tmp_path / 'db.sqlite'}")
    save_epochs(store, [3, 4], windows=("1w",))
    swapped = ["004433", "004441", *D.RANKINGS[3]["1w"][2:]]  # epoch 3's list, top two swapped
    later = EPOCH_TIME[4] + timedelta(hours=1)
    store.save_ranking_snapshot(
        RankingSnapshot.of("jdefense", "1w", listing(0, "1w", swapped), taken_at=later)
    )
    # Against epoch 3 (valid), not the one-entry list of epoch 4: no flood of "entered".
    assert moves(store, "1w", later) == [
        ("new_1", "004433", 1, 2),
        ("climbed", "004433", 1, 2),
        ("fell", "004441", 2, 1),
    ]
    store.close()


def test_an_empty_list_is_invalid_and_silent(tmp_path: Path) -> None:
    store = hooked(f"sqlite:///{tmp_path / 'db.sqlite'}")
    save_epochs(store, [0], windows=("24h",))
    empty_at = EPOCH_TIME[0] + timedelta(minutes=15)
    store.save_ranking_snapshot(RankingSnapshot.of("jdefense", "24h", [], taken_at=empty_at))
    assert store.ranking_snapshots("jdefense", "24h")[-1]["reason"] == "empty list"
    assert moves(store, "24h", empty_at) == []
    store.save_ranking_snapshot(
        RankingSnapshot.of("jdefense", "24h", listing(1, "24h"), taken_at=EPOCH_TIME[1])
    )
    assert moves(store, "24h", EPOCH_TIME[1]) == EXPECTED[("24h", 1)]
    store.close()


def test_the_spiders_own_verdict_stands(tmp_path: Path) -> None:
    store = hooked(f"sqlite:///{tmp_path / 'db.sqlite'}")
    save_epochs(store, [0], windows=("24h",))
    store.save_ranking_snapshot(
        RankingSnapshot.of(
            "jdefense", "24h", listing(2, "24h"), taken_at=EPOCH_TIME[1], valid=False, reason="challenge page"
        )
    )
    assert [(s["valid"], s["reason"]) for s in store.ranking_snapshots("jdefense", "24h")][-1] == (
        False,
        "challenge page",
    )
    assert all_moves(store, "24h") == []
    from rankings.movements import recompute_events

    assert recompute_events(store, "jdefense", "24h") == []  # and survives a recompute
    assert store.ranking_snapshots("jdefense", "24h")[-1]["reason"] == "challenge page"
    store.close()


# ---- the pure rules: validity and movements ------------------------------------------------------------


def entries(*keys: str) -> list[dict[str, Any]]:
    return [
        {"rank": r, "url": f"https://x.org/{k}", "url_key": k, "title": k.upper()}
        for r, k in enumerate(keys, 1)
    ]


@pytest.mark.parametrize(
    ("listed", "last", "reason"),
    [
        ([], None, "empty list"),
        ([], entries("a", "b"), "empty list"),
        (entries("a"), None, None),
        (entries("a", "b", "c", "d"), entries(*"abcdefgh"), None),  # exactly half: still valid
        (entries("a", "b", "c"), entries(*"abcdefgh"), "3 entries where the last valid list had 8"),
        (entries("z"), entries("a", "b", "c"), "1 entry where the last valid list had 3"),
        (entries(*"stuvwxyz"), entries(*"abcdefgh"), None),  # all new, same length: real turnover
        (
            entries("a", "a", "b"),
            entries("a", "b", "c", "d", "e"),
            "2 entries where the last valid list had 5",
        ),
    ],
    ids=["empty", "empty-after", "first", "half", "lost-most", "one-of-three", "turnover", "duplicates"],
)
def test_invalid_reason(
    listed: list[dict[str, Any]], last: list[dict[str, Any]] | None, reason: str | None
) -> None:
    assert movements.invalid_reason(listed, last) == reason


@pytest.mark.parametrize(
    ("previous", "current", "before", "expected"),
    [
        (entries("a", "b"), entries("a", "b"), set(), []),
        (entries("a", "b"), entries("a", "b", "c"), set(), [("entered", "c", 3, None)]),
        (entries("a", "b"), entries("a", "b", "c"), {"c"}, [("returned", "c", 3, None)]),
        (entries("a", "b", "c"), entries("a", "b"), set(), [("left", "c", None, 3)]),
        (
            entries("a", "b", "c"),
            entries("a", "c", "b"),
            set(),
            [("climbed", "c", 2, 3), ("fell", "b", 3, 2)],
        ),
        (
            entries("a", "b"),
            entries("b", "a"),
            set(),
            [("new_1", "b", 1, 2), ("climbed", "b", 1, 2), ("fell", "a", 2, 1)],
        ),
        (
            entries("a", "b"),
            entries("n", "b"),
            set(),
            [("new_1", "n", 1, None), ("entered", "n", 1, None), ("left", "a", None, 1)],
        ),
        (entries("a", "b"), entries("a", "a", "b"), set(), [("fell", "b", 3, 2)]),
    ],
    ids=["same", "entered", "returned", "left", "swap", "new-1-climbs", "new-1-enters", "duplicate"],
)
def test_movements(
    previous: list[dict[str, Any]],
    current: list[dict[str, Any]],
    before: set[str],
    expected: list[tuple[Any, ...]],
) -> None:
    found = movements.movements(previous, current, before)
    assert [(m.kind, m.url_key, m.rank, m.previous_rank) for m in found] == expected


# ---- recomputing from the snapshots ---------------------------------------------------------------------


def test_recompute_from_snapshots_stored_without_the_hook(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    with Store.open(url) as bare:  # no hooks: as a store upgraded from before movements existed
        save_epochs(bare, D.EPOCHS)
        assert all_moves(bare, "24h") == []
        new = movements.recompute_events(bare, "jdefense", "24h") + movements.recompute_events(
            bare, "jdefense", "1w"
        )
        assert len(new) == sum(len(EXPECTED[("24h", e)]) + len(EXPECTED[("1w", e)]) for e in range(1, 5))
        for epoch in range(1, 5):
            assert moves(bare, "24h", EPOCH_TIME[epoch]) == EXPECTED[("24h", epoch)]
            assert moves(bare, "1w", EPOCH_TIME[epoch]) == EXPECTED[("1w", epoch)]
        assert bare.ranking_snapshots("jdefense", "1w")[-1]["valid"] is False


def test_recompute_keeps_what_is_unchanged(imitation: Store) -> None:
    before = rk.recent_events(imitation, "jdefense", "24h", 1000)
    assert movements.recompute_events(imitation, "jdefense", "24h") == []
    assert rk.recent_events(imitation, "jdefense", "24h", 1000) == before  # same ids too


def test_a_late_list_is_fitted_into_its_place(tmp_path: Path) -> None:
    store = hooked(f"sqlite:///{tmp_path / 'db.sqlite'}")
    save_epochs(store, [0, 2, 3], windows=("24h",))
    save_epochs(store, [1], windows=("24h",))  # arrives last, belongs second
    for epoch in (1, 2, 3):
        assert moves(store, "24h", EPOCH_TIME[epoch]) == EXPECTED[("24h", epoch)]
    store.close()


# ---- handing movements to the alert outbox ---------------------------------------------------------------


def test_each_new_movement_goes_to_the_outbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from alerts.outbox import Outbox

    calls: list[tuple[Any, ...]] = []

    def enqueue_ranking(self: Outbox, conn: Any, event: Movement) -> list[str]:
        # Inside the transaction that stored the snapshot: the movement is already visible.
        stored = conn.exec_driver_sql("SELECT kind FROM ranking_events WHERE id = ?", (event.id,)).scalar()
        calls.append((event.kind, article_id(event.url), stored, type(event)))
        return []

    monkeypatch.setattr(Outbox, "enqueue_ranking", enqueue_ranking)
    store = ingesting(Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}"), load_config(None, environ={}))
    save_epochs(store, [0, 1], windows=("24h",))
    assert calls == [(kind, aid, kind, Movement) for kind, aid, _, _ in EXPECTED[("24h", 1)]]
    store.close()


def test_a_ranking_rule_queues_deliveries(tmp_path: Path) -> None:
    """Through the real alert outbox: "a story comes into the 24h top 3" at epoch 1 is
    004438 (#2) and 004437 (#3), one delivery each for the rule's one channel."""
    path = tmp_path / "defwatch.toml"
    path.write_text(
        f"""
[[rules]]
name = "top3"
on = ["ranking"]
windows = ["24h"]
max_rank = 3
notify = ["log"]

[channels.log]
type = "file"
path = "{tmp_path / "alerts.jsonl"}"
""",
        encoding="utf-8",
    )
    store = ingesting(Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}"), load_config(path, environ={}))
    save_epochs(store, [0, 1], windows=("24h", "1w"))
    assert store.delivery_counts()["pending"] == 2
    store.close()


# ---- ranking rules ----------------------------------------------------------------------------------------


def event(
    kind: str, rank: int | None, previous: int | None, title: str = "人事発令 将補人事", **kw: Any
) -> Movement:
    return Movement(
        id=1,
        source=kw.get("source", "jdefense"),
        window=kw.get("window", "24h"),
        kind=kind,
        rank=rank,
        previous_rank=previous,
        url="https://j-defense.example/docs/mod/004427.html",
        title=title,
        at=EPOCH_TIME[1],
    )


JINJI_TOP5 = RuleConfig(
    name="jinji-top5", keywords=("人事発令",), on=("ranking",), windows=("24h",), max_rank=5
)
ANY_ENTRY = RuleConfig(name="any", on=("ranking",))
ASEAN = RuleConfig(name="asean", keywords=("ASEAN", "東南アジア諸国連合"), on=("new", "ranking"), max_rank=3)
TOP1 = RuleConfig(name="top1", on=("ranking",), max_rank=1)


@pytest.mark.parametrize(
    ("rule", "ev", "expected"),
    [
        (JINJI_TOP5, event("entered", 3, None), ["人事発令"]),
        (JINJI_TOP5, event("entered", 6, None), None),
        (JINJI_TOP5, event("returned", 5, None), ["人事発令"]),
        (JINJI_TOP5, event("climbed", 4, 7), ["人事発令"]),
        (JINJI_TOP5, event("climbed", 2, 4), None),
        (JINJI_TOP5, event("fell", 4, 2), None),
        (JINJI_TOP5, event("left", None, 2), None),
        (JINJI_TOP5, event("new_1", 1, None), None),
        (JINJI_TOP5, event("entered", 3, None, window="1w"), None),
        (JINJI_TOP5, event("entered", 3, None, title="防衛大臣が記者会見"), None),
        (JINJI_TOP5, event("entered", 3, None, title="ｼﾞﾝｼﾞ 人事発令(令和7年)"), ["人事発令"]),
        (ANY_ENTRY, event("entered", 9, None), []),
        (ANY_ENTRY, event("returned", 9, None, window="1m"), []),
        (ANY_ENTRY, event("climbed", 1, 9), None),
        (ASEAN, event("entered", 2, None, title="日ＡＳＥＡＮ防衛当局次官級会合"), ["ASEAN"]),
        (ASEAN, event("entered", 4, None, title="日ＡＳＥＡＮ防衛当局次官級会合"), None),
        (TOP1, event("climbed", 1, 3), []),
        (TOP1, event("entered", 1, None), []),
        (TOP1, event("new_1", 1, 3), None),
        (RuleConfig(name="story", keywords=("人事発令",)), event("entered", 1, None), None),
        (RuleConfig(name="mod-only", on=("ranking",), sources=("mod",)), event("entered", 1, None), None),
        (
            RuleConfig(name="not-shogo", keywords=("人事発令",), exclude=("将補",), on=("ranking",)),
            event("entered", 1, None),
            None,
        ),
        (
            RuleConfig(name="re", regex=r"令和\d+年", on=("ranking",)),
            event("entered", 1, None, title="人事発令 令和7年10月"),
            ["令和7年"],
        ),
    ],
    ids=[
        "enters-top5",
        "enters-below-top5",
        "returns-into-top5",
        "climbs-into-top5",
        "climbs-within-top5",
        "falls",
        "leaves",
        "new-1-alone",
        "other-window",
        "no-keyword",
        "nfkc-title",
        "no-keywords-entered",
        "no-keywords-returned",
        "no-max-rank-climb",
        "fullwidth-asean",
        "asean-below-max",
        "climbs-to-1",
        "enters-at-1",
        "new-1-not-twice",
        "not-a-ranking-rule",
        "other-source",
        "excluded",
        "regex",
    ],
)
def test_ranking_rule_matches(rule: RuleConfig, ev: Movement, expected: list[str] | None) -> None:
    assert ranking_rule_matches(rule, ev) == expected


def test_top_n_rules_on_the_imitations_movements(imitation: Store) -> None:
    """Anything coming into the 24h top 3 fires once per story and epoch; the issue's
    example, "a 人事発令 story enters the 24h top 5", fires once: 004437 entering at #3."""
    top3 = RuleConfig(name="top3", on=("ranking",), windows=("24h",), max_rank=3)
    events = rk.recent_events(imitation, "jdefense", "24h", 1000)
    fired = {
        epoch: [
            article_id(ev.url)
            for ev in events
            if ev.at == EPOCH_TIME[epoch] and ranking_rule_matches(top3, ev) is not None
        ]
        for epoch in range(1, 5)
    }
    assert fired == {1: ["004438", "004437"], 2: ["004441"], 3: ["004446", "004447"], 4: []}
    jinji = [
        (ev.at, article_id(ev.url), ranking_rule_matches(JINJI_TOP5, ev))
        for ev in events
        if ranking_rule_matches(JINJI_TOP5, ev) is not None
    ]
    assert jinji == [(EPOCH_TIME[1], "004437", ["人事発令"])]


# ---- defwatch ranking --------------------------------------------------------------------------------------


def prepared(defwatch: Defwatch, epochs: Any = D.EPOCHS) -> Defwatch:
    """The default store of ``defwatch`` (./data/defwatch.db) holding the imitation's lists."""
    with Store.open(f"sqlite:///{defwatch.cwd / 'data' / 'defwatch.db'}") as store:
        save_epochs(ingesting(store, load_config(None, environ={})), epochs)
    return defwatch


def test_ranking_table_and_movements(defwatch: Defwatch) -> None:
    result = prepared(defwatch)("ranking")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("jdefense · 24h ranking at 2025-10-24 18:00 JST\n")
    rows = table_rows(out)
    assert rows[:7] == [
        ["1", "▲2", "▲2", T["004447"].title, "1d"],
        ["2", "=", "=", T["004446"].title, "1d"],
        ["3", "▼2", "▼2", T["004441"].title, "2d"],
        ["4", "=", "=", T["004424"].title, "≥4d"],
        ["5", "new", "new", T["004448"].title, "0m"],
        ["6", "new", "new", T["004444"].title, "0m"],
        ["7", "▼2", "▼2", T["004442"].title, "2d"],
    ]
    assert "move: since the list of 2025-10-23 18:00; vs 24h: since the list of 2025-10-23 18:00" in out
    assert "movements since 2025-10-23 18:00 JST (24h before the list)" in out
    assert rows[7:] == [
        ["2025-10-24 18:00", "new #1 (was #3)", T["004447"].title],
        ["2025-10-24 18:00", "climbed #3→#1 (▲2)", T["004447"].title],
        ["2025-10-24 18:00", "fell #1→#3 (▼2)", T["004441"].title],
        ["2025-10-24 18:00", "entered at #5", T["004448"].title],
        ["2025-10-24 18:00", "entered at #6", T["004444"].title],
        ["2025-10-24 18:00", "fell #5→#7 (▼2)", T["004442"].title],
        ["2025-10-24 18:00", "left (was #6)", T["004443"].title],
        ["2025-10-24 18:00", "left (was #7)", T["004438"].title],
    ]


def test_ranking_shows_a_returner_as_back(defwatch: Defwatch) -> None:
    result = prepared(defwatch, epochs=[0, 1, 2])("ranking", "--window", "24h")
    assert result.returncode == 0, result.stderr
    assert table_rows(result.stdout)[5] == ["6", "back", "new", T["004431"].title, "0m"]
    assert ["2025-10-22 18:00", "returned at #6", T["004431"].title] in table_rows(result.stdout)


def test_ranking_since_compares_further_back(defwatch: Defwatch) -> None:
    result = prepared(defwatch)("ranking", "--since", "48h")
    assert result.returncode == 0, result.stderr
    rows = table_rows(result.stdout)
    assert [r[2] for r in rows[:7]] == ["new", "new", "▼2", "▲1", "new", "new", "▼3"]  # vs epoch 2
    assert "vs 48h: since the list of 2025-10-22 18:00" in result.stdout
    assert len(rows) - 7 == len(EXPECTED[("24h", 3)]) + len(EXPECTED[("24h", 4)])


def test_ranking_of_a_window_whose_latest_list_was_broken(defwatch: Defwatch) -> None:
    result = prepared(defwatch)("ranking", "--window", "1w")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("jdefense · 1w ranking at 2025-10-23 18:00 JST\n")
    assert (
        "not used: the list of 2025-10-24 18:00 JST (1 entry where the last valid list had 8)"
        in result.stdout
    )
    assert [r[3] for r in table_rows(result.stdout)[:8]] == [T[i].title for i in D.RANKINGS[3]["1w"]]


def test_ranking_on_an_empty_store(defwatch: Defwatch) -> None:
    defwatch.create_store()
    result = defwatch("ranking")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "no 24h ranking stored yet: `defwatch crawl` stores the lists"


@pytest.mark.parametrize("since", ["yesterday", "0h"], ids=["not-a-duration", "zero"])
def test_ranking_since_must_be_a_duration(defwatch: Defwatch, since: str) -> None:
    result = defwatch("ranking", "--since", since)
    assert result.returncode == 2
    assert result.stderr.startswith(f'defwatch: ranking: --since: "{since}"')
    assert len(result.stderr.strip().splitlines()) == 1


# ---- the chart ------------------------------------------------------------------------------------------------


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def test_chart_is_a_png_of_sensible_size(defwatch: Defwatch) -> None:
    result = prepared(defwatch)("ranking", "--chart", "charts/24h.png")
    assert result.returncode == 0, result.stderr
    path = defwatch.cwd / "charts" / "24h.png"
    assert result.stdout.rstrip().endswith("chart: charts/24h.png (17 stories, 24h)")
    assert "missing from font" not in result.stderr  # the Japanese titles had their glyphs
    assert png_size(path) == (1200, 600)
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == (1200, 600)
        colors = image.convert("RGB").getcolors(maxcolors=1 << 20)
        assert colors is not None and len(colors) > 50  # drawn, not blank
    assert 20_000 < path.stat().st_size < 2_000_000


def test_chart_with_nothing_to_draw(defwatch: Defwatch) -> None:
    defwatch.create_store()
    result = defwatch("ranking", "--chart", "c.png")
    assert result.returncode == 2
    assert (
        result.stderr.strip() == "defwatch: ranking --chart: no valid 24h ranking stored yet, nothing to draw"
    )
    assert not (defwatch.cwd / "c.png").exists()


def test_chart_without_a_japanese_font_says_so(defwatch: Defwatch) -> None:
    from matplotlib import font_manager

    fontja = {f.fname for f in font_manager.fontManager.ttflist if "matplotlib_fontja" in f.fname}
    system_cjk = {f.name for f in font_manager.fontManager.ttflist if f.fname not in fontja} & set(
        chart.CJK_FAMILIES
    )
    if system_cjk:
        pytest.skip(f"this machine has a Japanese font of its own: {sorted(system_cjk)}")
    prepared(defwatch)
    # matplotlib-fontja made unimportable, as on a machine without it.
    code = "import sys; sys.modules['matplotlib_fontja'] = None; from scheduler.cli import main; sys.exit(main())"
    result = subprocess.run(
        [sys.executable, "-c", code, "ranking", "--chart", "c.png"],
        cwd=defwatch.cwd,
        env=defwatch.env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "defwatch: ranking --chart: no font that can write Japanese titles is installed "
        "(pip install matplotlib-fontja, or install Noto Sans CJK JP)"
    )
    assert not (defwatch.cwd / "c.png").exists()


def test_cjk_font_lookup_fails_in_one_line() -> None:
    with pytest.raises(CommandError, match=r"^ranking --chart: no font that can write Japanese titles"):
        chart.cjk_font(families=("No Such Family 123",))
    assert chart.cjk_font() == "IPAexGothic"  # matplotlib-fontja's


# ---- end to end: defwatch crawl jdefense through epochs 0-4 ----------------------------------------------


@dataclass
class Crawled:
    defwatch: Defwatch
    db: Path
    taken: dict[str, list[datetime]]  # window -> taken_at of each epoch's snapshot


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    """``defwatch crawl jdefense`` once per epoch 0-4 against the imitation."""
    workdir = tmp_path_factory.mktemp("crawled")
    queue = site_server._ThreadingWSGIServer.request_queue_size
    site_server._ThreadingWSGIServer.request_queue_size = 128  # Scrapy's bursts overflow 5
    site = JDefenseSite()
    try:
        with SiteServer({"jdefense": site}) as server:
            defwatch = Defwatch(workdir)
            db = workdir / "defwatch.db"
            defwatch.write_config(
                f"""
                [store]
                url = "sqlite:///{db}"

                [crawl]
                allow_private = true
                autothrottle = false
                timeout = "10s"

                [[sources]]
                name = "jdefense"
                kind = "jdefense"
                url = "{server.url("jdefense", "/")}"
                sections = ["mod", "world"]
                """
            )
            for epoch in D.EPOCHS:
                server.set_epoch(epoch)
                result = defwatch("crawl", "jdefense", timeout=120)
                assert result.returncode == 0, result.stdout + result.stderr[-3000:]
            with Store.open(f"sqlite:///{db}") as store:
                taken = {
                    w: [s["taken_at"] for s in store.ranking_snapshots("jdefense", w)] for w in D.WINDOWS
                }
            yield Crawled(defwatch, db, taken)
    finally:
        site_server._ThreadingWSGIServer.request_queue_size = queue


def stored_epochs(window: str) -> list[int]:
    """The epochs whose list of ``window`` a crawl stores: the reader refuses the half-loaded
    one (it fails its self-checks: fewer than 5 articles), so that epoch has no snapshot."""
    return [e for e in D.EPOCHS if D.HALF_LOADED.get(e) != window]


def test_crawls_store_one_list_per_window_and_epoch(crawled: Crawled) -> None:
    with Store.open(f"sqlite:///{crawled.db}") as store:
        for window in D.WINDOWS:
            snaps = store.ranking_snapshots("jdefense", window)
            assert [[article_id(e["url"]) for e in s["entries"]] for s in snaps] == [
                D.RANKINGS[e][window] for e in stored_epochs(window)
            ]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_crawled_movements_per_window_and_epoch(crawled: Crawled, case: tuple[str, int]) -> None:
    window, epoch = case
    if epoch not in stored_epochs(window):  # no snapshot: nothing moved (and nothing false)
        assert EXPECTED[case] == []
        return
    taken = crawled.taken[window][stored_epochs(window).index(epoch)]
    with Store.open(f"sqlite:///{crawled.db}") as store:
        assert moves(store, window, taken) == EXPECTED[case]


def test_crawled_half_loaded_list_is_refused(crawled: Crawled) -> None:
    """The store would mark it invalid; the reader does not even store it, and says why."""
    with Store.open(f"sqlite:///{crawled.db}") as store:
        verdicts = [(s["valid"], s["reason"]) for s in store.ranking_snapshots("jdefense", "1w")]
        last_run = store.runs("jdefense", limit=1)[0]
    assert verdicts == [(True, None)] * 4
    assert last_run["outcome"] == "degraded"
    assert last_run["stats"]["ranking_check_failed_1w"] == 1


def test_crawled_ranking_command(crawled: Crawled) -> None:
    result = crawled.defwatch("ranking", "--since", "1h")
    assert result.returncode == 0, result.stderr
    rows = table_rows(result.stdout)
    assert [(r[0], r[1], r[3]) for r in rows[:7]] == [
        ("1", "▲2", T["004447"].title),
        ("2", "=", T["004446"].title),
        ("3", "▼2", T["004441"].title),
        ("4", "=", T["004424"].title),
        ("5", "new", T["004448"].title),
        ("6", "new", T["004444"].title),
        ("7", "▼2", T["004442"].title),
    ]
    assert "vs 1h: no list that old yet" in result.stdout  # the five crawls took seconds
    assert len(rows) - 7 == sum(len(EXPECTED[("24h", e)]) for e in range(1, 5))


# ---- docs/rankings.md: its examples are real -------------------------------------------------------------

DOC = (Path(__file__).resolve().parents[2] / "docs" / "rankings.md").read_text(encoding="utf-8")
DOC_TOML = re.findall(r"```toml\n(.*?)```", DOC, re.S)
DOC_TEXT = re.findall(r"```text\n(.*?)```", DOC, re.S)


def test_doc_rules_load_and_the_jinji_rule_fires_as_documented(tmp_path: Path, imitation: Store) -> None:
    assert DOC_TOML
    path = tmp_path / "defwatch.toml"
    path.write_text(DOC_TOML[0], encoding="utf-8")
    config = load_config(path, environ={"SLACK_WEBHOOK_URL": "https://hooks.slack.example/T/B/X"})
    jinji = next(r for r in config.rules if r.name == "jinji-top5")
    fired = [
        (ev.at, article_id(ev.url))
        for window in D.WINDOWS
        for ev in rk.recent_events(imitation, "jdefense", window, 1000)
        if ranking_rule_matches(jinji, ev) is not None
    ]
    assert fired == [(EPOCH_TIME[1], "004437")]
    assert "「人事発令 令和7年10月21日付け、将補人事…」" in DOC and T["004437"].title.startswith(
        "人事発令 令和7年10月21日付け、将補人事"
    )


def test_doc_output_is_what_the_command_prints(defwatch: Defwatch) -> None:
    prepared(defwatch)
    shown = next(block for block in DOC_TEXT if block.startswith("jdefense · 24h ranking"))
    assert defwatch("ranking").stdout == shown
    broken = defwatch("ranking", "--window", "1w").stdout
    assert DOC_TEXT[0].strip() in broken.splitlines()


def test_doc_font_message_is_the_real_one() -> None:
    with pytest.raises(CommandError) as caught:
        chart.cjk_font(families=())
    assert f"defwatch: {caught.value}\n" in DOC_TEXT
