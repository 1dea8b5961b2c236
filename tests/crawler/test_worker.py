"""The page worker (crawler.worker): pages read and stories stored in a process of its own,
through the ingest step; its death reported, and its parent's death noticed."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from core.config import load_config
from crawler.worker import PageWorker, WorkerDied
from imitations.server import SiteServer
from ingest import Ingest
from store import Store, StoryIn
from tests.conftest import Defwatch

CONFIG = """
[store]
url = "sqlite:///{db}"

[[rules]]
name = "asean"
keywords = ["ASEAN"]
notify = ["log"]

[channels.log]
type = "file"
path = "{folder}/alerts.jsonl"
"""


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = tmp_path / "defwatch.toml"
    path.write_text(CONFIG.format(db=tmp_path / "w.db", folder=tmp_path), encoding="utf-8")
    Store.open(f"sqlite:///{tmp_path / 'w.db'}").close()  # migrated, as crawler.runner leaves it
    return path


@pytest.fixture
def worker(config_path: Path) -> Iterator[PageWorker]:
    w = PageWorker(load_config(config_path), Ingest)
    yield w
    if not w.closed:
        w.close()


def _pid() -> int:
    return os.getpid()


def _fail(message: str) -> None:
    raise ValueError(message)


def test_work_runs_in_another_process_and_comes_back(worker: PageWorker) -> None:
    async def go() -> tuple[int, str]:
        return await worker.run(_pid), await worker.run(str.upper, "asean")

    pid, upper = asyncio.run(go())
    assert pid == worker.pid != os.getpid()
    assert upper == "ASEAN"


def test_an_error_in_the_work_reaches_the_caller_as_itself(worker: PageWorker) -> None:
    with pytest.raises(ValueError, match="bad page"):
        asyncio.run(worker.run(_fail, "bad page"))
    assert asyncio.run(worker.run(_pid)) == worker.pid  # the worker goes on


def test_stories_are_stored_by_the_worker_through_the_ingest_step(
    worker: PageWorker, config_path: Path
) -> None:
    story = StoryIn(url="https://x.example/a", source="s", title="ASEAN 会合", body="本文")

    async def go() -> list[str]:
        return [(await worker.save_story(story)).status, (await worker.save_story(story)).status]

    assert asyncio.run(go()) == ["new", "unchanged"]
    worker.close()
    with Store.open(load_config(config_path).store.url) as store:
        assert store.get_story("https://x.example/a")["title"] == "ASEAN 会合"  # type: ignore[index]
        assert store.delivery_counts().get("pending") == 1  # the ingest step ran in the worker


def test_stories_handed_in_together_are_each_saved_as_if_alone(worker: PageWorker, config_path: Path) -> None:
    """One batch (one transaction): a story, its revision and a copy of it on another site
    are new, revised and linked, and the story is alerted once, naming the copy."""
    body = "ASEAN 諸国との防衛協力について、防衛大臣は会合で新たな枠組みの検討を表明した。" * 3
    first = StoryIn(url="https://x.example/a", source="x", title="ASEAN 会合", body=body)
    revised = StoryIn(url="https://x.example/a", source="x", title="ASEAN 会合（更新）", body=body)
    copy = StoryIn(url="https://y.example/b", source="y", title="ASEAN 会合の記事", body=body)

    async def go() -> list[str]:
        saved = await asyncio.gather(*(worker.save_story(s) for s in (first, revised, copy)))
        return [r.status for r in saved]

    assert asyncio.run(go()) == ["new", "revised", "new"]
    worker.close()
    with Store.open(load_config(config_path).store.url) as store:
        assert store.get_story("https://x.example/a")["title"] == "ASEAN 会合（更新）"  # type: ignore[index]
        assert store.delivery_counts().get("pending") == 1
        with store.engine.connect() as conn:
            (payload,) = conn.execute(text("select payload from deliveries")).scalars()
    story = json.loads(payload)["story"] if isinstance(payload, str) else payload["story"]
    assert story["url"] == "https://x.example/a" and story["also"] == ["https://y.example/b"]


def test_a_dead_worker_is_reported(worker: PageWorker) -> None:
    os.kill(worker.pid, signal.SIGKILL)
    with pytest.raises(WorkerDied, match="page worker process"):
        asyncio.run(worker.run(_pid))


def test_the_worker_ignores_sigterm_and_finishes_its_queue(worker: PageWorker, config_path: Path) -> None:
    os.kill(worker.pid, signal.SIGTERM)  # as the daemon stopping sends to the crawl, and a group would
    stories = [
        StoryIn(url=f"https://x.example/{i}", source="s", title=f"t{i}", body="本文") for i in range(20)
    ]

    async def go() -> None:
        await asyncio.gather(*(worker.save_story(s) for s in stories))

    asyncio.run(go())
    worker.close()
    with Store.open(load_config(config_path).store.url) as store:
        assert store.count_stories() == 20


def test_the_worker_ends_when_the_crawling_process_is_killed(config_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
        from crawler.worker import PageWorker
        from core.config import load_config
        worker = PageWorker(load_config({str(config_path)!r}))
        print(worker.pid, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == -signal.SIGKILL
    pid = int(done.stdout.split()[0])
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    assert not _alive(pid), "the worker outlived its crawling process"


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended


class SlowFeed:
    """A feed of 30 items whose article pages take 0.2 s each: a crawl long enough to lose
    its worker in the middle."""

    epoch = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ["PATH_INFO"]
        base = f"http://{environ['HTTP_HOST']}"
        if path == "/feed.xml":
            items = "".join(
                f"<item><title>Story {i}</title><link>{base}/a/{i}.html</link>"
                f"<pubDate>Tue, 10 Feb 2026 0{i % 10}:00:00 +0000</pubDate></item>"
                for i in range(30)
            )
            body = (
                f'<?xml version="1.0"?><rss version="2.0"><channel><title>slow</title>{items}</channel></rss>'
            )
            start_response("200 OK", [("Content-Type", "application/rss+xml")])
            return [body.encode()]
        if path.startswith("/a/"):
            time.sleep(0.2)
            text = "<p>" + "The frigate sailed with the task group for the exercise. " * 8 + "</p>"
            start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
            return [f"<html><body><article><h1>Story</h1>{text * 3}</article></body></html>".encode()]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not here"]


def test_a_crawl_whose_worker_dies_fails_and_says_why(defwatch: Defwatch, tmp_path: Path) -> None:
    db = tmp_path / "slow.db"
    site = SlowFeed()
    with SiteServer({"slow": site}) as server:
        defwatch.write_config(
            f"""
            [store]
            url = "sqlite:///{db}"

            [crawl]
            allow_private = true
            autothrottle = false

            [[sources]]
            name = "slow"
            kind = "feed"
            url = "{server.url("slow", "/feed.xml")}"
            fetch_articles = true
            """
        )
        crawl = defwatch.popen("crawl", "slow")
        deadline = time.monotonic() + 60
        worker = None
        while time.monotonic() < deadline and (
            worker is None or not any(h.path.startswith("/a/") for h in server.hits_for("slow"))
        ):
            worker = worker or _child_of(crawl.pid)
            time.sleep(0.05)
        assert worker is not None, "no worker process appeared"
        os.kill(worker, signal.SIGKILL)
        out, err = crawl.communicate(timeout=120)
        articles = [h for h in server.hits_for("slow") if h.path.startswith("/a/")]
    assert crawl.returncode == 1, err[-2000:]
    assert "Traceback" not in err, err[-3000:]
    with Store.open(f"sqlite:///{db}") as store:
        run = store.runs("slow")[0]
        stored = len(store.stories("slow"))
    assert run["outcome"] == "failed"
    assert "page worker process" in run["reason"]
    assert "failed" in out and "slow" in out  # the summary table says it (stderr: -v lines only)
    assert len(articles) < 30  # the crawl stopped instead of fetching pages nobody would read
    assert stored < 30


def _child_of(parent: int) -> int | None:
    """A process whose parent is ``parent`` (the crawl's page worker), from /proc."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == parent:
            return int(stat.parent.name)
    return None
