"""Crawl runs and the conditional-request state in the store: what each run of a source
did (``crawl_runs``) and the validators a source's pages answered with (``http_state``).
``Store`` takes these methods from ``CrawlRecords``."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, insert, select, update

from core.model import RunResult
from store import schema as t
from store.upsert import upsert

if TYPE_CHECKING:
    from sqlalchemy import Engine


def utcnow() -> datetime:
    return datetime.now(UTC)


# Built once, run with bound values: a cycle of 1,000 sources finishes 1,000 runs and asks
# 1,000 validators (building the statements each time was a third of that).
_RUN = t.crawl_runs.c
_RUN_STATS = select(_RUN.stats).where(_RUN.id == bindparam("run_id"))
_FINISH_RUN = (
    update(t.crawl_runs)
    .where(_RUN.id == bindparam("run_id"))
    .values(
        {
            name: bindparam(f"new_{name}", type_=_RUN[name].type)
            for name in (
                "finished",
                "outcome",
                "requests",
                "new_stories",
                "revised",
                "known_skipped",
                "errors",
                "reason",
                "stats",
            )
        }
    )
)
_HTTP_STATE = select(t.http_state.c.etag, t.http_state.c.last_modified).where(
    t.http_state.c.url == bindparam("url")
)


class CrawlRecords:
    engine: Engine

    # -- crawl runs ------------------------------------------------------------------------
    def start_run(self, source: str, started: datetime | None = None) -> int:
        """A run of ``source``, ``running`` from ``started`` (now by default)."""
        with self.engine.begin() as conn:
            pk = conn.execute(
                insert(t.crawl_runs).values(
                    source=source, started=started or utcnow(), outcome="running", stats={}
                )
            ).inserted_primary_key
            assert pk is not None
            return int(pk[0])

    def start_runs(self, sources: list[str]) -> dict[str, int]:
        """A run of each source, ``running`` from now: their ids by source, in one
        transaction (a cycle of many sources starts them all at once)."""
        if not sources:
            return {}
        now = utcnow()
        with self.engine.begin() as conn:
            ids = conn.execute(
                insert(t.crawl_runs).returning(t.crawl_runs.c.id, sort_by_parameter_order=True),
                [{"source": s, "started": now, "outcome": "running", "stats": {}} for s in sources],
            ).scalars()
            return dict(zip(sources, (int(i) for i in ids), strict=True))

    def record_runs(self, results: list[RunResult], started: datetime) -> list[RunResult]:
        """Runs already over when recorded (crawler.precheck: feeds that answered 304 before
        any crawl started), from ``started`` to now, in one transaction: as recorded, ids
        and times included."""
        if not results:
            return []
        now = utcnow()
        rows = [
            {
                "source": r.source,
                "started": started,
                "finished": now,
                "outcome": str(r.outcome),
                "requests": r.requests,
                "new_stories": r.new_stories,
                "revised": r.revised,
                "known_skipped": r.known_skipped,
                "errors": r.errors,
                "reason": r.reason,
                "stats": dict(r.stats),
            }
            for r in results
        ]
        with self.engine.begin() as conn:
            ids = conn.execute(
                insert(t.crawl_runs).returning(t.crawl_runs.c.id, sort_by_parameter_order=True), rows
            ).scalars()
            return [
                replace(r, run_id=int(i), started=started, finished=now)
                for r, i in zip(results, ids, strict=True)
            ]

    def set_run_stats(self, run_id: int, stats: dict[str, Any]) -> None:
        """Add ``stats`` to a run's (e.g. where it runs: a Scrapyd node and job); kept when
        the run is finished."""
        with self.engine.begin() as conn:
            old = conn.execute(_RUN_STATS, {"run_id": run_id}).scalar()
            conn.execute(
                update(t.crawl_runs).where(t.crawl_runs.c.id == run_id).values(stats={**(old or {}), **stats})
            )

    def finish_run(self, result: RunResult) -> None:
        """Record how the run ``result.run_id`` ended: its outcome, counts, reason and stats
        (the run's source and times are the store's, not the result's)."""
        assert result.run_id is not None, "a run is finished by its id"
        run_id = result.run_id
        with self.engine.begin() as conn:
            # What was recorded while it ran (set_run_stats) stays beside the crawl's counters.
            old = conn.execute(_RUN_STATS, {"run_id": run_id}).scalar()
            conn.execute(
                _FINISH_RUN,
                {
                    "run_id": run_id,
                    "new_finished": utcnow(),
                    "new_outcome": str(result.outcome),
                    "new_requests": result.requests,
                    "new_new_stories": result.new_stories,
                    "new_revised": result.revised,
                    "new_known_skipped": result.known_skipped,
                    "new_errors": result.errors,
                    "new_reason": result.reason,
                    "new_stats": {**(old or {}), **result.stats},
                },
            )

    def run(self, run_id: int) -> RunResult | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.crawl_runs).where(t.crawl_runs.c.id == run_id)).mappings().first()
            return RunResult.from_row(dict(row)) if row else None

    def runs(self, source: str, limit: int = 10) -> list[dict[str, Any]]:
        """The most recent runs of a source, newest first, as their rows."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.crawl_runs)
                .where(t.crawl_runs.c.source == source)
                .order_by(t.crawl_runs.c.started.desc(), t.crawl_runs.c.id.desc())
                .limit(limit)
            ).mappings()
            return [dict(r) for r in rows]

    def unfinished_runs(self) -> list[RunResult]:
        """Every run still ``running``, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.crawl_runs).where(t.crawl_runs.c.outcome == "running").order_by(t.crawl_runs.c.id)
            ).mappings()
            return [RunResult.from_row(dict(r)) for r in rows]

    def last_runs(self) -> dict[str, RunResult]:
        """The latest run of every source that has run, keyed by source name."""
        latest = (
            select(t.crawl_runs.c.source, func.max(t.crawl_runs.c.id).label("id"))
            .group_by(t.crawl_runs.c.source)
            .subquery()
        )
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.crawl_runs).join(latest, latest.c.id == t.crawl_runs.c.id)
            ).mappings()
            return {r["source"]: RunResult.from_row(dict(r)) for r in rows}

    def last_success(self) -> dict[str, datetime]:
        """When each source last finished a run that was not a failure."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.crawl_runs.c.source, func.max(t.crawl_runs.c.finished))
                .where(t.crawl_runs.c.outcome.in_(("ok", "degraded")))
                .group_by(t.crawl_runs.c.source)
            ).all()
        out: dict[str, datetime] = {}
        for source, finished in rows:
            if finished is not None:
                out[source] = t.UTCDateTime().process_result_value(finished, self.engine.dialect)  # type: ignore[assignment]
        return out

    # -- conditional requests ----------------------------------------------------------------
    def http_state(self, url: str) -> tuple[str | None, str | None]:
        with self.engine.connect() as conn:
            row = conn.execute(_HTTP_STATE, {"url": url}).first()
            return (row[0], row[1]) if row else (None, None)

    def http_states(self, urls: list[str]) -> dict[str, tuple[str | None, str | None]]:
        """The validators of each of ``urls`` that has any, in one query a thousand URLs."""
        found: dict[str, tuple[str | None, str | None]] = {}
        c = t.http_state.c
        with self.engine.connect() as conn:
            for at in range(0, len(urls), 1000):
                part = urls[at : at + 1000]
                rows = conn.execute(select(c.url, c.etag, c.last_modified).where(c.url.in_(part)))
                found.update((url, (etag, modified)) for url, etag, modified in rows if etag or modified)
        return found

    def set_http_state(self, url: str, etag: str | None, last_modified: str | None) -> None:
        with self.engine.begin() as conn:
            values = {"etag": etag, "last_modified": last_modified, "checked": utcnow()}
            upsert(conn, t.http_state, {"url": url}, values)
