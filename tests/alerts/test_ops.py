"""Operations alerts: a source failing or degraded N runs in a row raises one alert, and
its recovery one more; not one per run."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from alerts.dispatcher import Dispatcher
from alerts.ops import check_sources
from core.model import Outcome, RunResult

from .conftest import Pipeline, Receiver


def ops_config(url: str) -> str:
    return f"""
[channels.ops-hook]
type = "webhook"
url = "{url}"
"""


@pytest.fixture
def p(pipeline: Callable[..., Pipeline], receiver: Receiver) -> Pipeline:
    return pipeline(ops_config(receiver.url()), alerts='ops_channel = "ops-hook"\nops_after_failures = 3')


def run(p: Pipeline, source: str, outcome: str, reason: str | None = None) -> list[str]:
    """Record one finished run, then check, as the pipeline does after each crawl."""
    run_id = p.store.start_run(source)
    p.store.finish_run(RunResult(source, Outcome(outcome), run_id, reason=reason))
    return check_sources(p.store, p.config)


def test_failing_runs_raise_one_alert_and_recovery_one_more(p: Pipeline, receiver: Receiver) -> None:
    assert run(p, "mod", "ok") == []
    assert run(p, "mod", "failed", "HTTP 503") == []
    assert run(p, "mod", "timeout") == []
    raised = run(p, "mod", "failed", "HTTP 503")
    assert len(raised) == 1
    for outcome in ("failed", "degraded", "interrupted", "failed"):
        assert run(p, "mod", outcome) == []  # still failing: nothing more
    assert check_sources(p.store, p.config) == []  # checking again changes nothing
    recovered = run(p, "mod", "ok")
    assert len(recovered) == 1
    assert run(p, "mod", "ok") == []
    assert run(p, "jdefense", "ok") == []  # the other source was never in trouble

    Dispatcher.from_config(p.config, p.store).run()
    docs = [r.json() for r in receiver.requests]
    assert [d["id"] for d in docs] == [raised[0], recovered[0]]
    assert [(d["event"], d["ops"]["source"], d["ops"]["state"]) for d in docs] == [
        ("ops", "mod", "failing"),
        ("ops", "mod", "recovered"),
    ]
    assert docs[0]["ops"]["runs"] == 3 and docs[0]["ops"]["reason"] == "HTTP 503"


def test_degraded_runs_in_a_row_raise_a_degraded_alert(p: Pipeline) -> None:
    for _ in range(2):
        assert run(p, "jdefense", "degraded", "challenge page") == []
    (did,) = run(p, "jdefense", "degraded", "challenge page")
    (row,) = p.deliveries()
    assert row["id"] == did and row["kind"] == "ops" and row["channel"] == "ops-hook"
    assert row["payload"]["ops"]["state"] == "degraded"


def test_a_success_in_between_resets_the_count(p: Pipeline) -> None:
    for outcome in ("failed", "failed", "ok", "failed", "failed"):
        assert run(p, "mod", outcome) == []
    assert p.deliveries() == []


def test_without_an_ops_channel_nothing_is_raised(pipeline: Callable[..., Pipeline]) -> None:
    plain = pipeline("")
    for _ in range(5):
        assert run(plain, "mod", "failed") == []
    assert plain.deliveries() == []
