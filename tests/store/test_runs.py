"""Crawl runs in the store: a cycle's runs started together, each finished on its own."""

from __future__ import annotations

from collections.abc import Callable

from core.model import Outcome, RunResult
from store import Store


def test_runs_started_together_are_each_their_own_source(store_factory: Callable[[], Store]) -> None:
    store = store_factory()
    earlier = store.start_run("b")
    requests = {f"feed{i}": i for i in range(30)} | {"b": 7}
    ids = store.start_runs(list(requests))
    assert list(ids) == list(requests) and len(set(ids.values())) == len(requests)
    assert earlier not in ids.values()
    for name, run_id in ids.items():
        store.finish_run(RunResult(name, Outcome.OK, run_id, requests=requests[name]))
    for name, count in requests.items():
        (latest,) = store.runs(name, limit=1)
        assert latest["id"] == ids[name] and latest["outcome"] == "ok" and latest["requests"] == count
    assert store.run(earlier).outcome == "running"  # type: ignore[union-attr]
    assert store.start_runs([]) == {}


def test_a_finished_run_keeps_what_was_recorded_while_it_ran(store_factory: Callable[[], Store]) -> None:
    store = store_factory()
    (run_id,) = store.start_runs(["node-source"]).values()
    store.set_run_stats(run_id, {"node": "http://127.0.0.1:6800", "job": "j1"})
    result = RunResult(
        "node-source", Outcome.DEGRADED, run_id, requests=3, errors=1, reason="why", stats={"x": 2}
    )
    store.finish_run(result)
    (row,) = store.runs("node-source")
    assert row["outcome"] == "degraded" and row["reason"] == "why" and row["errors"] == 1
    assert row["stats"] == {"node": "http://127.0.0.1:6800", "job": "j1", "x": 2}
    assert row["finished"].tzinfo is not None and row["started"].tzinfo is not None
    assert store.http_state("http://example.org/feed.xml") == (None, None)
    store.set_http_state("http://example.org/feed.xml", '"e1"', None)
    assert store.http_state("http://example.org/feed.xml") == ('"e1"', None)
