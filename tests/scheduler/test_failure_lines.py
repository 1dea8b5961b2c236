"""A failing source costs one log line, naming the root cause; JSON lines carry the event's
fields; `status` times a crawl as the log does."""

from __future__ import annotations

import json
import socket

from tests.conftest import Defwatch


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(defwatch: Defwatch) -> int:
    port = _closed_port()
    defwatch.write_config(
        f"""
        [crawl]
        allow_private = true
        timeout = "10s"
        [[sources]]
        name = "nowhere"
        kind = "feed"
        url = "http://defwatch-test.invalid/feed.xml"
        schedule = "0 * * * *"
        [[sources]]
        name = "refused"
        kind = "feed"
        url = "http://127.0.0.1:{port}/feed.xml"
        schedule = "0 * * * *"
        """
    )
    return port


def test_one_json_line_per_failing_source_with_its_root_cause(defwatch: Defwatch) -> None:
    port = _config(defwatch)
    result = defwatch("run", "--once", "--log-format", "json", timeout=300)
    assert result.returncode == 1, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    loud = [d for d in lines if d["level"] in ("warning", "error", "critical")]
    assert sorted(d["source"] for d in loud) == ["nowhere", "refused"], loud
    by_source = {d["source"]: d for d in loud}
    assert by_source["nowhere"]["reason"] == "cannot resolve host defwatch-test.invalid"
    assert by_source["refused"]["reason"] == f"connection refused at http://127.0.0.1:{port}/feed.xml"
    for d in loud:
        assert d["outcome"] == "failed" and isinstance(d["run_id"], int)
        assert set(d["counts"]) >= {"requests", "new_stories", "errors", "seconds"}
        assert "ranking" not in d["message"]  # the root cause only

    status = json.loads(defwatch("status", "--json").stdout)
    for source in status["sources"]:
        logged = by_source[source["name"]]
        assert source["last_run"]["reason"] == logged["reason"]
        assert round(source["last_run"]["duration_s"], 1) == logged["counts"]["seconds"]
        assert source["last_run"]["duration_s"] > 0


def test_scrapy_request_lines_are_debug_shown_with_v(defwatch: Defwatch) -> None:
    _config(defwatch)
    quiet = defwatch("crawl", "refused", timeout=300)
    assert quiet.returncode == 1
    assert "scrapy" not in quiet.stderr and "refused" in quiet.stdout  # the table says it
    verbose = defwatch("crawl", "refused", "-v", timeout=300)
    assert "DEBUG scrapy.downloadermiddlewares.retry" in verbose.stderr
    assert "ERROR scrapy" not in verbose.stderr
