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
