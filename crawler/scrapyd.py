"""Crawls on Scrapyd nodes (``[crawl] scrapyd = ["http://node-a:6800/", …]``): each source
becomes one job of the project ``defwatch`` on the least busy node that accepts it, the job
being ``scrapy crawl KIND -a source=NAME -a config=PATH -a run_id=N`` run by the node from the
project's own ``scrapy.cfg`` (its ``[settings]`` names the project: no egg to deploy).

The job is handed only where to find the configuration (a path every node can read) and the
run it records into; it opens the shared store itself, so what it saves is linked, ranked and
queued for alerts exactly as a local crawl's. Channel secrets never travel: a node needs the
configuration and the store's credentials, nothing else. The run is opened here before the
job is scheduled, so a job that dies before it closes its run, a node that vanishes, or a job
cut at ``crawl_timeout`` still ends that run with the reason.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urljoin

import requests

from core.config import Config, SourceConfig
from core.model import Outcome, RunResult
from crawler.runner import select_sources
from store import Store

PROJECT = "defwatch"
REQUEST_TIMEOUT = 10.0  # seconds for one call to a node's JSON API
# Scheduling makes the node list the project's spiders first (a `scrapy list` it runs and
# then caches): much slower than the other calls on a node's first job.
SCHEDULE_TIMEOUT = 120.0
POLL = 1.0  # seconds between looks at the jobs
LOST_AFTER = 30.0  # seconds a node may fail to answer before its jobs are given up
# A job ends itself at crawl_timeout (its CLOSESPIDER_TIMEOUT), counted from when its process
# is up: it is cancelled only this long after, and its run closed as cut this long after that.
CANCEL_GRACE = 30.0
# The [crawl] configuration a local crawl applies (crawler.runner.scrapy_settings), handed to
# each job as Scrapy settings: a node's `scrapy crawl` reads only the project's defaults.
JOB_SETTINGS = (
    "USER_AGENT",
    "CONCURRENT_REQUESTS_PER_DOMAIN",
    "CONCURRENT_REQUESTS",
    "DOWNLOAD_TIMEOUT",
    "DOWNLOAD_MAXSIZE",
    "ROBOTSTXT_OBEY",
    "AUTOTHROTTLE_ENABLED",
    "DOWNLOAD_DELAY",
    "CLOSESPIDER_TIMEOUT",
)


class NodeError(Exception):
    """A node did not do what was asked; the message is one line."""


@dataclass
class Node:
    url: str

    def call(
        self, method: str, endpoint: str, timeout: float = REQUEST_TIMEOUT, **data: Any
    ) -> dict[str, Any]:
        target = urljoin(self.url if self.url.endswith("/") else self.url + "/", endpoint)
        try:
            if method == "GET":
                response = requests.get(target, params=data, timeout=timeout)
            else:
                response = requests.post(target, data=data, timeout=timeout)
        except requests.RequestException as exc:
            raise NodeError(f"{self.url}: {_why(exc, timeout)}") from None
        if response.status_code != 200:
            raise NodeError(f"{self.url}: HTTP {response.status_code} {response.reason}")
        try:
            doc = response.json()
        except ValueError:
            raise NodeError(f"{self.url}: not a Scrapyd answer (no JSON)") from None
        if doc.get("status") != "ok":
            raise NodeError(f"{self.url}: {doc.get('message') or doc.get('status') or 'refused'}".strip())
        return dict(doc)

    def load(self) -> int:
        doc = self.call("GET", "daemonstatus.json")
        return int(doc.get("running", 0)) + int(doc.get("pending", 0))

    def schedule(
        self, source: SourceConfig, config_path: str, run_id: int, settings: Sequence[str] = ()
    ) -> str:
        """The job's id. The id is ours, so that a job the node took without managing to say
        so (a timeout) is found and not scheduled twice."""
        job = f"run{run_id}-{uuid.uuid4().hex[:12]}"
        try:
            self.call(
                "POST",
                "schedule.json",
                timeout=SCHEDULE_TIMEOUT,
                project=PROJECT,
                spider=source.kind,
                jobid=job,
                source=source.name,
                config=config_path,
                run_id=str(run_id),
                setting=list(settings),
            )
        except NodeError:
            with suppress(NodeError):
                if job in self.jobs():
                    return job
            raise
        return job

    def jobs(self) -> dict[str, tuple[str, dict[str, Any]]]:
        """job id -> (state, the job's entry) for this project's jobs."""
        doc = self.call("GET", "listjobs.json", project=PROJECT)
        return {
            j["id"]: (state, j) for state in ("pending", "running", "finished") for j in doc.get(state, [])
        }

    def cancel(self, job: str) -> None:
        self.call("POST", "cancel.json", project=PROJECT, job=job)


def _why(exc: requests.RequestException, timeout: float) -> str:
    if isinstance(exc, requests.Timeout):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, requests.ConnectionError):
        return "cannot connect"
    return type(exc).__name__


@dataclass
class Job:
    source: SourceConfig
    run_id: int
    node: Node
    id: str
    started: float
    silent_since: float | None = None
    cancelled_at: float | None = None
    log_url: str | None = None


def _by_load(nodes: Sequence[Node], turn: int) -> list[Node]:
    """Nodes least busy first (round-robin among equals); one that cannot say comes last,
    to be tried only when the others refuse."""
    loads: list[tuple[float, int, Node]] = []
    for i, node in enumerate(nodes):
        try:
            load = float(node.load())
        except NodeError:
            load = float("inf")
        loads.append((load, (i - turn) % len(nodes), node))
    return [n for _, _, n in sorted(loads, key=lambda x: (x[0], x[1]))]


def crawl_on_nodes(
    config: Config,
    names: list[str] | None = None,
    *,
    clock: Callable[[], float] = time.monotonic,
    log: Callable[[str], None] = lambda line: None,
) -> list[RunResult]:
    """Schedule each source on a node, wait for every job (cancelling at ``crawl_timeout``)
    and return how each run ended, as ``crawler.runner.crawl`` does."""
    if not config.path:
        raise NodeError("crawl.scrapyd: the nodes need a configuration file to read (none was loaded)")
    config_path = os.path.abspath(config.path)
    nodes = [Node(u) for u in config.crawl.scrapyd]
    settings = job_settings(config)
    sources = select_sources(config, names)
    store = Store.open(config.store.url)
    try:
        jobs: list[Job] = []
        failed: dict[str, str] = {}
        run_ids: dict[str, int] = {}
        for turn, source in enumerate(sources):
            run_ids[source.name] = run_id = store.start_run(source.name)
            refusals = []
            for node in _by_load(nodes, turn):
                try:
                    job_id = node.schedule(source, config_path, run_id, settings)
                except NodeError as exc:
                    refusals.append(str(exc))
                    log(f"source {source.name}: node refused the job: {exc}")
                    continue
                store.set_run_stats(run_id, {"node": node.url, "scrapyd_job": job_id})
                jobs.append(Job(source, run_id, node, job_id, clock()))
                break
            else:
                failed[source.name] = "no Scrapyd node took the job: " + "; ".join(refusals)
                store.finish_run(RunResult(source.name, Outcome.FAILED, run_id, reason=failed[source.name]))
        _wait(store, jobs, config.scheduler.crawl_timeout, clock)
        return [_recorded(store, s, run_ids[s.name]) for s in sources]
    finally:
        store.close()


def _wait(store: Store, jobs: list[Job], timeout: float, clock: Callable[[], float]) -> None:
    waiting = list(jobs)
    while waiting:
        by_node: dict[str, dict[str, tuple[str, dict[str, Any]]] | None] = {}
        for job in waiting:
            if job.node.url not in by_node:
                try:
                    by_node[job.node.url] = job.node.jobs()
                except NodeError:
                    by_node[job.node.url] = None
        still: list[Job] = []
        now = clock()
        for job in waiting:
            listed = by_node[job.node.url]
            if listed is None:  # the node does not answer
                job.silent_since = job.silent_since or now
                if now - job.silent_since >= LOST_AFTER:
                    _close(
                        store,
                        job,
                        Outcome.FAILED,
                        f"Scrapyd node {job.node.url} stopped answering during the job",
                    )
                    continue
            else:
                job.silent_since = None
                state, entry = listed.get(job.id, ("missing", {}))
                job.log_url = entry.get("log_url") or job.log_url
                if state in ("finished", "missing"):
                    if job.cancelled_at is not None:
                        _cut(store, job, timeout)
                    else:
                        _close(store, job, Outcome.FAILED, _ended_without_run(job, state))
                    continue
            if job.cancelled_at is None and now - job.started >= timeout + CANCEL_GRACE:
                with suppress(NodeError):  # the run is closed as cut whatever the node says
                    job.node.cancel(job.id)
                job.cancelled_at = now
            elif job.cancelled_at is not None and now - job.cancelled_at >= CANCEL_GRACE:
                _cut(store, job, timeout)
                continue
            still.append(job)
        waiting = still
        if waiting:
            time.sleep(POLL)


def _ended_without_run(job: Job, state: str) -> str:
    where = f"Scrapyd job {job.id} on {job.node.url}"
    if state == "missing":
        return f"{where} vanished from the node"
    return f"{where} ended without closing its run" + (f" (log: {job.log_url})" if job.log_url else "")


def _close(store: Store, job: Job, outcome: Outcome, reason: str) -> None:
    """End the job's run with ``reason`` unless the job closed it itself (the usual end)."""
    run = store.run(job.run_id)
    if run is not None and run.outcome == Outcome.RUNNING:
        store.finish_run(RunResult(job.source.name, outcome, job.run_id, reason=reason))


def _cut(store: Store, job: Job, timeout: float) -> None:
    """A job cancelled at the crawl timeout: its run is ``timeout``, with what it counted,
    whether it was still open or closed by the cancel's signal (``interrupted``)."""
    run = store.run(job.run_id)
    if run is None or run.outcome not in (Outcome.RUNNING, Outcome.INTERRUPTED):
        return
    reason = f"cut at the crawl timeout ({timeout:g} s + {CANCEL_GRACE:g} s of grace) on {job.node.url}"
    store.finish_run(replace(run, outcome=Outcome.TIMEOUT, reason=reason))


def job_settings(config: Config) -> list[str]:
    """``NAME=VALUE`` for each Scrapy setting the configuration decides (Scrapyd's
    ``setting`` arguments)."""
    from crawler.runner import scrapy_settings

    settings = scrapy_settings(config)
    return [f"{name}={settings[name]}" for name in JOB_SETTINGS if settings.get(name) is not None]


def _recorded(store: Store, source: SourceConfig, run_id: int) -> RunResult:
    """How the job's run ended, as recorded (failed, if the run has vanished)."""
    return store.run(run_id) or RunResult(source.name, Outcome.FAILED, run_id)
