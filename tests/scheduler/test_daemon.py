"""``defwatch run`` and ``run --once`` as real subprocesses against the imitation sites:
schedules, crawl children, timeouts, signals, the single-instance lock, status, logs,
the crawl progress display, and the deploy files."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.exc import OperationalError

from core.config import load_config
from core.cron import cron_trigger
from imitations.server import SiteServer
from scheduler.lock import lock_path
from store import Store
from store.schema import crawl_runs
from tests.conftest import REPO, Defwatch
from tests.scheduler.conftest import HangingServer

EVERY_3S = "*/3 * * * * *"
YEARLY = "0 0 1 1 *"  # never fires during a test: only the start-up catch-up crawls


# -- what the daemon crawls ----------------------------------------------------------------


def write_config(
    defwatch: Defwatch,
    sources: dict[str, str],
    *,
    schedule: str = EVERY_3S,
    crawl_timeout: str = "60s",
) -> None:
    """Feed sources (name -> URL) on ``schedule``; the store in data/defwatch.db."""
    lines = [
        "[store]",
        'url = "sqlite:///data/defwatch.db"',
        "[crawl]",
        "allow_private = true",
        "autothrottle = false",
        'timeout = "30s"',
        "[scheduler]",
        f'crawl_timeout = "{crawl_timeout}"',
        'jitter = "0s"',
        "[feeds]",
        'dir = "public"',
    ]
    for name, url in sources.items():
        lines += [
            "[[sources]]",
            f'name = "{name}"',
            'kind = "feed"',
            f'url = "{url}"',
            f'schedule = "{schedule}"',
        ]
    defwatch.write_config("\n".join(lines) + "\n")


def runs(defwatch: Defwatch, source: str) -> list[dict[str, Any]]:
    """The source's recorded runs, oldest first (none while the daemon creates the store)."""
    # Not migrating: the daemon may be creating the tables at this very moment.
    with Store.open(f"sqlite:///{defwatch.cwd / 'data' / 'defwatch.db'}", migrate=False) as store:
        try:
            return list(reversed(store.runs(source, limit=100)))
        except OperationalError:
            return []


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def store_exists(defwatch: Defwatch) -> bool:
    return (defwatch.cwd / "data" / "defwatch.db").exists()


def finished(defwatch: Defwatch, source: str) -> list[dict[str, Any]]:
    if not store_exists(defwatch):
        return []
    return [r for r in runs(defwatch, source) if r["outcome"] != "running"]


def stop(process: subprocess.Popen[str], signum: int = signal.SIGTERM) -> tuple[int, float, str]:
    """Signal the daemon; return its exit status, how long it took to exit, its stderr."""
    began = time.monotonic()
    process.send_signal(signum)
    try:
        _, stderr = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
        raise AssertionError(f"the daemon did not exit 120s after {signal.Signals(signum).name}") from None
    return process.returncode, time.monotonic() - began, stderr


# -- the daemon ------------------------------------------------------------------------------


def test_daemon_crawls_on_schedule_and_stops_cleanly_on_sigterm(
    defwatch: Defwatch, mod_site: SiteServer
) -> None:
    write_config(
        defwatch,
        {"news": mod_site.url("mod", "/j/rss/news.xml"), "updates": mod_site.url("mod", "/j/rss/update.xml")},
    )
    daemon = defwatch.popen("run")
    try:
        wait_until(
            lambda: all(len(finished(defwatch, s)) >= 2 for s in ("news", "updates")),
            timeout=90,
            what="two finished crawls of each source",
        )
    finally:
        code, _, stderr = stop(daemon)
    assert code == 0, stderr
    assert "Traceback" not in stderr
    for source in ("news", "updates"):
        history = runs(defwatch, source)
        assert [r["outcome"] for r in history[:2]] == ["ok", "ok"], history
        # the second crawl finds nothing new (the feed answers 304)
        assert history[0]["new_stories"] > 0 and history[1]["new_stories"] == 0
        assert all(r["outcome"] != "running" for r in history)  # a crawl cut short is recorded as such
        assert all(r["outcome"] in ("ok", "interrupted") for r in history)
    assert (defwatch.cwd / "public" / "all.rss").is_file()  # the feeds followed the crawls


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_during_a_crawl_records_it_interrupted_and_exits_0(
    defwatch: Defwatch, hanging: HangingServer, signum: int
) -> None:
    write_config(defwatch, {"slow": hanging.url}, schedule=YEARLY)
    daemon = defwatch.popen("run")
    try:
        wait_until(lambda: bool(hanging.connections), timeout=60, what="the crawl to reach the site")
    finally:
        code, _, stderr = stop(daemon, signum)
    assert code == 0, stderr
    (run,) = runs(defwatch, "slow")
    assert run["outcome"] == "interrupted"
    assert run["finished"] is not None


def test_sources_missed_while_down_run_at_start_once(defwatch: Defwatch, mod_site: SiteServer) -> None:
    # "done" ran just now, so its yearly schedule has nothing missed; "fresh" never ran.
    write_config(defwatch, {"done": mod_site.url("mod", "/j/rss/news.xml")}, schedule=YEARLY)
    assert defwatch("run", "--once").returncode == 0
    write_config(
        defwatch,
        {"done": mod_site.url("mod", "/j/rss/news.xml"), "fresh": mod_site.url("mod", "/j/rss/update.xml")},
        schedule=YEARLY,
    )
    daemon = defwatch.popen("run")
    try:
        wait_until(lambda: len(finished(defwatch, "fresh")) == 1, timeout=60, what="the catch-up crawl")
        time.sleep(1)
    finally:
        code, _, stderr = stop(daemon)
    assert code == 0, stderr
    assert len(runs(defwatch, "done")) == 1
    assert [r["outcome"] for r in runs(defwatch, "fresh")] == ["ok"]


# -- one cycle -------------------------------------------------------------------------------


def test_run_once_exits_0_when_every_source_is_ok(defwatch: Defwatch, mod_site: SiteServer) -> None:
    write_config(
        defwatch,
        {"news": mod_site.url("mod", "/j/rss/news.xml"), "updates": mod_site.url("mod", "/j/rss/update.xml")},
    )
    result = defwatch("run", "--once", timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""  # quiet for cron when all is well
    assert [r["outcome"] for r in runs(defwatch, "news")] == ["ok"]
    assert [r["outcome"] for r in runs(defwatch, "updates")] == ["ok"]
    assert (defwatch.cwd / "public" / "sources" / "news.rss").is_file()


def test_run_once_exits_1_when_a_source_fails(
    defwatch: Defwatch, mod_site: SiteServer, closed_url: str
) -> None:
    write_config(defwatch, {"news": mod_site.url("mod", "/j/rss/news.xml"), "gone": closed_url})
    result = defwatch("run", "--once", timeout=120)
    assert result.returncode == 1, result.stderr
    assert [r["outcome"] for r in runs(defwatch, "news")] == ["ok"]
    (gone,) = runs(defwatch, "gone")
    assert gone["outcome"] == "failed" and gone["reason"]
    assert "crawl gone: failed" in result.stderr


def test_a_run_left_running_by_a_dead_daemon_is_closed_as_interrupted(
    defwatch: Defwatch, mod_site: SiteServer
) -> None:
    write_config(defwatch, {"news": mod_site.url("mod", "/j/rss/news.xml")})
    with Store.open(f"sqlite:///{defwatch.cwd / 'data' / 'defwatch.db'}") as store:
        stale = store.start_run("news")
        with store.transaction() as conn:  # as if its daemon had been killed two hours ago
            conn.execute(
                update(crawl_runs)
                .where(crawl_runs.c.id == stale)
                .values(started=datetime.now(UTC) - timedelta(hours=2))
            )
    assert defwatch("run", "--once").returncode == 0
    first, second = runs(defwatch, "news")
    assert first["id"] == stale and first["outcome"] == "interrupted" and "crashed" in first["reason"]
    assert second["outcome"] == "ok"


def test_a_crawl_past_crawl_timeout_is_cut_and_recorded_timeout(
    defwatch: Defwatch, hanging: HangingServer
) -> None:
    write_config(defwatch, {"slow": hanging.url}, crawl_timeout="10s")
    result = defwatch("run", "--once", timeout=120)
    assert result.returncode == 1, result.stderr
    assert hanging.connections, "the crawl never reached the site"
    (run,) = runs(defwatch, "slow")
    assert run["outcome"] == "timeout"
    assert "crawl_timeout" in run["reason"]


# -- one instance ----------------------------------------------------------------------------


def test_a_second_run_refuses_at_once_while_the_daemon_holds_the_lock(
    defwatch: Defwatch, hanging: HangingServer
) -> None:
    write_config(defwatch, {"slow": hanging.url}, schedule=YEARLY)
    daemon = defwatch.popen("run")
    try:
        wait_until(lambda: bool(hanging.connections), timeout=60, what="the daemon's first crawl")
        for args in (("run", "--once"), ("run",)):
            # a second run that waited for the lock would never end: the daemon keeps it
            second = defwatch(*args, timeout=180)
            assert second.returncode == 2, second.stderr
            lines = second.stderr.strip().splitlines()
            assert len(lines) == 1, second.stderr
            assert "data/defwatch.db.lock" in lines[0] and "already" in lines[0]
        report = json.loads(defwatch("status", "--json").stdout)
        assert report["daemon"] == {"running": True, "lock": "data/defwatch.db.lock"}
    finally:
        code, _, stderr = stop(daemon)
    assert code == 0, stderr
    report = json.loads(defwatch("status", "--json").stdout)
    assert report["daemon"]["running"] is False


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///data/defwatch.db", "data/defwatch.db.lock"),
        ("sqlite:////var/lib/defwatch/d.db", "/var/lib/defwatch/d.db.lock"),
        ("postgresql+psycopg://defwatch:pw@db/defwatch", ".defwatch-"),
    ],
    ids=["sqlite-relative", "sqlite-absolute", "postgresql"],
)
def test_lock_file_sits_next_to_the_store(url: str, expected: str) -> None:
    path = str(lock_path(url))
    assert path.startswith(expected) and path.endswith(".lock")
    assert "pw" not in path


# -- status ----------------------------------------------------------------------------------


@pytest.fixture
def after_one_cycle(defwatch: Defwatch, mod_site: SiteServer, closed_url: str) -> Defwatch:
    write_config(defwatch, {"news": mod_site.url("mod", "/j/rss/news.xml"), "gone": closed_url})
    assert defwatch("run", "--once").returncode == 1
    return defwatch


def test_status_after_runs(after_one_cycle: Defwatch) -> None:
    result = after_one_cycle("status")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    news = next(line for line in text.splitlines() if "│ news" in line)
    assert "ok" in news and re.search(r"│ [1-9][0-9]* +│ 2 +│", news)  # new stories, requests
    assert re.search(r"\d\.\ds", news)  # duration
    assert re.search(r"20\d\d-\d\d-\d\d \d\d:\d\d:\d\d +│$", news)  # next run
    gone = next(line for line in text.splitlines() if "│ gone" in line)
    assert "failed" in gone
    assert re.search(r"^  gone: .+", text, re.M)  # the reason, in full
    assert "daemon: not running" in text
    assert "0 pending, 0 failed" in text
    assert re.search(r"store: sqlite:///data/defwatch.db \(\d+ stories, \d+ KiB\)", text)


def test_status_json_after_runs(after_one_cycle: Defwatch) -> None:
    result = after_one_cycle("status", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    sources = {s["name"]: s for s in report["sources"]}
    news = sources["news"]["last_run"]
    assert news["outcome"] == "ok" and news["new_stories"] > 0 and news["requests"] == 2
    assert news["duration_s"] > 0 and news["reason"] is None
    assert news["started"].endswith("+09:00")
    gone = sources["gone"]["last_run"]
    assert gone["outcome"] == "failed" and gone["reason"]
    assert sources["news"]["next_run"].endswith("+09:00")
    assert report["daemon"]["running"] is False
    assert report["alerts"] == {"pending": 0, "sent": 0, "failed": 0}
    assert report["deliveries"] == {"by_channel": {}, "failed": [], "paused": {}}
    assert report["store"]["stories"] > 0 and report["store"]["size_bytes"] > 0


# -- logs ------------------------------------------------------------------------------------


def test_json_logs_are_one_json_document_per_line(
    defwatch: Defwatch, mod_site: SiteServer, closed_url: str
) -> None:
    write_config(defwatch, {"news": mod_site.url("mod", "/j/rss/news.xml"), "gone": closed_url})
    result = defwatch("-v", "--log-format", "json", "run", "--once")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    documents = [json.loads(line) for line in lines]  # every line parses
    assert all({"time", "level", "logger", "message"} <= d.keys() for d in documents)
    messages = [d["message"] for d in documents if d["logger"] == "scheduler.daemon"]
    assert any(m.startswith("crawl news: ok") for m in messages)
    assert any(m.startswith("crawl gone: failed") for m in messages)


# -- crawl progress --------------------------------------------------------------------------


def test_crawl_in_a_pipe_logs_progress_lines(defwatch: Defwatch, mod_site: SiteServer) -> None:
    write_config(defwatch, {"news": mod_site.url("mod", "/j/rss/news.xml")})
    result = defwatch("crawl")
    assert result.returncode == 0, result.stderr
    assert "crawl news: started" in result.stderr
    assert re.search(r"crawl news: done, 2 requests, [1-9][0-9]* new stories", result.stderr)
    assert "\x1b[" not in result.stderr  # no terminal control codes in a pipe


def test_crawl_in_a_terminal_shows_a_live_display(defwatch: Defwatch, mod_site: SiteServer) -> None:
    write_config(defwatch, {"news": mod_site.url("mod", "/j/rss/news.xml")})
    output, code = run_in_terminal(defwatch, "crawl")
    assert code == 0, output
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output)
    assert "\x1b[" in output  # drawn and redrawn in place
    assert re.search(r"news +done +requests 2 +new stories [1-9]", plain), plain
    assert "crawl news: started" not in plain  # the display replaces the progress lines


def run_in_terminal(defwatch: Defwatch, *args: str, timeout: float = 120) -> tuple[str, int]:
    leader, follower = pty.openpty()
    env = {**defwatch.env, "TERM": "xterm-256color", "COLUMNS": "120"}
    process = subprocess.Popen(
        [sys.executable, "-m", "scheduler", *args],
        cwd=defwatch.cwd,
        env=env,
        stdin=follower,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                data = os.read(leader, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif process.poll() is not None:
            break
    os.close(leader)
    code = process.wait(timeout=10)
    return b"".join(chunks).decode("utf-8", "replace"), code


# -- deploy files and the operations guide ---------------------------------------------------


def test_crontab_line_runs_one_cycle() -> None:
    lines = [
        line
        for line in (REPO / "deploy" / "crontab").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#") and "=" not in line.split()[0]
    ]
    assert len(lines) == 1
    fields = lines[0].split()
    cron_trigger(" ".join(fields[:5]), "Asia/Tokyo")
    assert "defwatch" in lines[0] and "run --once" in lines[0]


def test_systemd_unit_restarts_on_failure_as_its_own_user() -> None:
    unit = (REPO / "deploy" / "defwatch.service").read_text(encoding="utf-8")
    settings = dict(
        line.split("=", 1) for line in unit.splitlines() if "=" in line and not line.startswith("#")
    )
    assert settings["Restart"] == "on-failure"
    assert settings["User"] and settings["User"] != "root"
    assert settings["WorkingDirectory"].startswith("/")
    assert settings["EnvironmentFile"].lstrip("-").startswith("/")
    assert settings["ExecStart"].endswith(" run")
    assert settings["KillMode"] == "mixed"  # SIGTERM to the daemon only: it stops its crawls itself


OPERATIONS = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "block",
    re.findall(r"```toml\n(.*?)```", OPERATIONS, re.S),
    ids=lambda b: b.splitlines()[0],
)
def test_operations_guide_toml_loads(tmp_path: Path, block: str) -> None:
    path = tmp_path / "defwatch.toml"
    path.write_text(block, encoding="utf-8")
    load_config(path, environ={})
