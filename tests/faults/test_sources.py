"""Hostile sources: every case is a feed source on one hostile server (tests.faults.hostile),
all crawled by one ``defwatch crawl`` (one process, as a user runs it), twice, with alerts
delivered to a file after each crawl. Each case asserts what was stored, what the run
says (outcome and reason), and that nothing was alerted twice."""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from crawler.pdf import MAX_STREAM_TOKENS
from store import Store
from tests.conftest import Defwatch
from tests.faults.conftest import figure
from tests.faults.hostile import HostileServer, items, pdf_bomb, rss

pytestmark = pytest.mark.timeout(400)  # the module's fixture crawls twice on a busy machine

MAX_SIZE = 1_000_000  # the sources' max_response_size in this suite
TIMEOUT = 5  # [crawl] timeout, seconds (bounds the slow-loris case; a busy machine needs the margin)


@dataclass
class Case:
    name: str
    url: str
    options: dict[str, Any]


def _bomb() -> bytes:
    """The billion laughs: 10 levels of 10 entity references."""
    ents = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{"".join(f"&lol{i - 1};" for _ in range(10))}">' for i in range(1, 10)
    ]
    head = f"<!DOCTYPE rss [{''.join(ents)}]>"
    body = rss([("bomb &lol9;", "{origin}/story/bomb/0"), ("bomb ok", "{origin}/story/bomb/1")])
    return body.replace(b"<rss", head.encode() + b"<rss", 1)


def _xxe() -> bytes:
    head = '<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    body = rss([("xxe &xxe; end", "{origin}/story/xxe/0")])
    return body.replace(b"<rss", head.encode() + b"<rss", 1)


JA_TITLES = [
    "防衛装備庁、次期戦闘機の調達計画を発表",
    "人事発令（令和7年4月1日付）",
    "日米共同統合演習を実施しました",
]


def ja_feed(path: str, declared: str | None = None) -> str:
    """A Japanese RSS feed (``<language>ja</language>``), its prolog declaring ``declared``."""
    name = path.strip("/").replace(".xml", "")
    body = "".join(
        f"<item><title>{t}</title><link>{{origin}}/story/{name}/{i}</link><pubDate>Thu, 13 Feb 2025 10:00:00 +0900"
        f"</pubDate><description>{t}について、防衛省は本日発表しました。</description></item>"
        for i, t in enumerate(JA_TITLES)
    )
    prolog = f' encoding="{declared}"' if declared else ""
    return (
        f'<?xml version="1.0"{prolog}?><rss version="2.0"><channel><title>防衛ニュース</title>'
        f"<link>http://example.org/</link><description>d</description><language>ja</language>{body}"
        "</channel></rss>"
    )


def build_site(site: HostileServer, internal: HostileServer, robots: HostileServer) -> list[Case]:
    cases: list[Case] = []

    def add(name: str, url: str, **options: Any) -> None:
        cases.append(Case(name, url, options))

    add("well-formed", site.static("/ok.xml", rss(items("/ok.xml"))))
    broken = rss(items("/malformed.xml")).replace(b"</channel></rss>", b"<item><title>cut")
    add("malformed-xml", site.static("/malformed.xml", broken))
    add("entity-bomb", site.static("/bomb.xml", _bomb()))
    add("xxe", site.static("/xxe.xml", _xxe()))
    add("huge-body", site.static("/huge.xml", rss(items("/huge.xml")) + b" " * (5 * MAX_SIZE)))
    add("endless-body", site.endless("/endless.xml"))
    add("gzip-bomb", site.gzip_bomb("/gzip.xml", 20 * 1024 * 1024))
    nul = rss([("before\x00after \x1b[31mred\x1b[0m bell\x07", "{origin}/story/controls/0")])
    add("control-characters", site.static("/controls.xml", nul))
    big = rss([("T" * 1_000_000, "{origin}/story/bigtitle/0")])
    add("huge-title", site.static("/bigtitle.xml", big), max_response_size="3MB")
    js = rss(
        [
            ("js link", "javascript:alert(document.cookie)"),
            ("data link", "data:text/html,<script>alert(1)</script>"),
            ("fine link", "{origin}/story/js/0"),
        ]
    )
    add("javascript-links", site.static("/js.xml", js))
    site.redirect("/loop/b.xml", site.url("/loop/a.xml"))
    add("redirect-loop", site.redirect("/loop/a.xml", site.url("/loop/b.xml")))
    internal.static("/secret.xml", rss([("internal secret", "{origin}/story/internal/0")]))
    add("redirect-to-private", site.redirect("/to-private.xml", internal.url("/secret.xml")))
    private_links = rss([("links inside", internal.url("/story/internal/1"))])
    add("links-to-private", site.static("/private-links.xml", private_links), fetch_articles=True)
    add("slow-loris", site.trickle("/trickle.xml"))
    add("connection-reset", site.reset("/reset.xml"))
    add("429-retry-after", site.status("/busy.xml", 429, {"Retry-After": "120"}))
    robots.static("/robots.txt", b"User-agent: *\nDisallow: /\n", "text/plain")
    robots.static("/feed.xml", rss(items("/robots.xml")))
    add("robots-disallow", robots.url("/feed.xml"))
    dates = rss(
        [
            ("far future", "{origin}/story/dates/0", "Fri, 31 Dec 9999 23:59:59 -0500"),
            ("year one", "{origin}/story/dates/1", "Mon, 01 Jan 0001 00:00:00 GMT"),
        ]
    )
    add("year-9999-and-0001", site.static("/dates.xml", dates))
    # A ministry-like source whose news.xml links a PDF bomb: 20 MB of text operators in one
    # page, 60 KB to download (far under max_pdf_size).
    site.static("/pdfbomb/orders.pdf", pdf_bomb(20 * 1024 * 1024), "application/pdf")
    bomb_news = rss([("人事発令（PDF）", "{origin}/pdfbomb/orders.pdf")])
    site.static("/pdfbomb/news.xml", bomb_news)
    add("pdf-bomb", site.origin + "/", kind="mod", feeds=["/pdfbomb/news.xml"], kisha="", jinji=[])
    # Charsets. One invalid byte in one title on the first crawl; the feed fixed by the second.
    broken = (
        ja_feed("/invalid.xml", "utf-8")
        .encode()
        .replace("人事発令".encode(), "人事".encode() + b"\xff" + "発令".encode())
    )
    fixed = ja_feed("/invalid.xml", "utf-8").encode()

    def invalid_then_fixed(req: Any, sock: Any) -> None:
        site.page(sock, req, 200, broken if site.hits[req.path] == 1 else fixed, "application/rss+xml")

    add("invalid-byte-then-fixed", site.custom("/invalid.xml", invalid_then_fixed))
    wrong = ja_feed("/wrong-prolog.xml", "Shift_JIS").encode("utf-8")
    add("charset-wrong-in-prolog", site.static("/wrong-prolog.xml", wrong))
    wrong_http = ja_feed("/wrong-http.xml", "utf-8").encode("utf-8")
    add(
        "charset-wrong-in-http",
        site.static("/wrong-http.xml", wrong_http, "application/rss+xml; charset=iso-8859-1"),
    )
    add("charset-missing", site.static("/missing.xml", ja_feed("/missing.xml").encode("cp932")))
    return cases


def config(cases: list[Case], site: HostileServer, robots: HostileServer) -> str:
    lines = [
        '[store]\nurl = "sqlite:///defwatch.db"\n',
        "[crawl]",
        "autothrottle = false",
        f'timeout = "{TIMEOUT}s"',
        f'max_response_size = "{MAX_SIZE}B"',
        # The hostile site and the robots site are on 127.0.0.1: only they may be private;
        # the "internal" server stands for a private address that must never be fetched.
        f'allow_private = ["127.0.0.1:{site.origin.rsplit(":", 1)[1]}", '
        f'"127.0.0.1:{robots.origin.rsplit(":", 1)[1]}"]\n',
        "[channels.log]",
        'type = "file"',
        'path = "alerts.jsonl"\n',
        "[[rules]]",
        'name = "everything"',
        'regex = "."',
        'notify = ["log"]\n',
    ]
    for case in cases:
        options = dict(case.options)
        kind = options.pop("kind", "feed")
        lines += ["[[sources]]", f'name = "{case.name}"', f'kind = "{kind}"', f'url = "{case.url}"']
        lines += [f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in options.items()]
        lines.append("")
    return "\n".join(lines)


@dataclass
class Matrix:
    cases: dict[str, Case]
    crawls: list[Any]
    seconds: list[float]
    site: HostileServer
    internal: HostileServer
    db: Path
    alerts: list[dict[str, Any]]

    def runs(self, source: str) -> list[dict[str, Any]]:
        with Store.open(f"sqlite:///{self.db}") as store:
            return list(reversed(store.runs(source)))

    def stories(self, source: str) -> list[dict[str, Any]]:
        with Store.open(f"sqlite:///{self.db}") as store:
            return store.stories(source)


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Any:
    work = tmp_path_factory.mktemp("hostile")
    with HostileServer() as site, HostileServer() as internal, HostileServer() as robots:
        cases = build_site(site, internal, robots)
        defwatch = Defwatch(work)
        defwatch.write_config(config(cases, site, robots))
        crawls, seconds = [], []
        for _ in range(2):
            start = time.monotonic()
            crawls.append(defwatch("crawl", timeout=240))
            seconds.append(time.monotonic() - start)
            delivered = defwatch("alerts", timeout=120)
            assert delivered.returncode == 0, delivered.stderr
        alerts_file = work / "alerts.jsonl"
        alerts = (
            [json.loads(line) for line in alerts_file.read_text().splitlines()]
            if alerts_file.exists()
            else []
        )
        yield Matrix(
            {c.name: c for c in cases}, crawls, seconds, site, internal, work / "defwatch.db", alerts
        )


def outcome(m: Matrix, source: str, run: int = 0) -> tuple[str, str]:
    r = m.runs(source)[run]
    return r["outcome"], r["reason"] or ""


def test_the_crawl_ends_in_bounded_time_and_says_failures_with_exit_1(matrix: Matrix) -> None:
    for crawl in matrix.crawls:
        assert crawl.returncode == 1, crawl.stderr  # some sources failed, and the exit says so
        assert "Traceback" not in crawl.stderr
    figure("all hostile sources, one crawl", f"{matrix.seconds[0]:.1f} s for {len(matrix.cases)} sources")


def test_nothing_is_alerted_twice(matrix: Matrix) -> None:
    keys = Counter((a["rule"], a["story"]["url"], a["event"]) for a in matrix.alerts)
    assert keys and max(keys.values()) == 1
    for alert in matrix.alerts:
        assert alert["story"]["url"].startswith("http://"), alert
        assert len(alert["story"]["title"]) <= 1000
    figure("alerts over two crawls", f"{len(matrix.alerts)} sent, 0 twice")


def test_a_well_formed_feed_is_ok_and_stored_once(matrix: Matrix) -> None:
    assert outcome(matrix, "well-formed") == ("ok", "")
    assert len(matrix.stories("well-formed")) == 3
    assert matrix.runs("well-formed")[1]["known_skipped"] == 3


def test_a_malformed_feed_is_degraded_not_ok(matrix: Matrix) -> None:
    state, reason = outcome(matrix, "malformed-xml")
    assert state == "degraded" and "well-formed" in reason
    assert len(matrix.stories("malformed-xml")) >= 3  # what could be read was kept


def test_an_entity_bomb_is_inert(matrix: Matrix) -> None:
    for story in matrix.stories("entity-bomb"):
        assert "lollollol" not in story["title"] and len(story["title"]) < 200
    figure(
        "entity bomb",
        f"longest title stored: {max((len(s['title']) for s in matrix.stories('entity-bomb')), default=0)} characters",
    )


def test_xxe_reads_no_local_file(matrix: Matrix) -> None:
    for story in matrix.stories("xxe"):
        assert "root:" not in story["title"] and "root:" not in (story["body"] or "")
    figure("XXE (file:///etc/passwd)", "0 bytes of the file stored")


@pytest.mark.parametrize("source", ["huge-body", "endless-body", "gzip-bomb"])
def test_oversized_answers_are_cut_at_the_limit_and_fail_the_run(matrix: Matrix, source: str) -> None:
    state, reason = outcome(matrix, source)
    assert state == "failed" and "limit" in reason, reason
    assert matrix.stories(source) == []
    path = matrix.cases[source].url.rsplit("/", 1)[1]
    sent = matrix.site.sent["/" + path]
    if source == "huge-body":  # 5 MB declared in Content-Length: refused before reading
        figure(source, "failed (too_large) on its Content-Length, before reading the body")
    elif source == "gzip-bomb":
        figure(source, f"failed (too_large) at 1 MB decompressed; {sent / 1e3:.0f} KB sent (20 MB of zeros)")
    else:
        figure(
            source, f"failed (too_large); the source wrote {sent / 1e6:.1f} MB into the socket (limit 1 MB)"
        )


def test_control_characters_and_nul_do_not_cut_a_title(matrix: Matrix) -> None:
    (story,) = matrix.stories("control-characters")
    assert story["title"].startswith("before") and "after" in story["title"] and "bell" in story["title"]
    assert not any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in story["title"])
    figure("NUL and escapes in a title", "title kept whole, 0 control characters stored")


def test_a_huge_title_is_capped(matrix: Matrix) -> None:
    (story,) = matrix.stories("huge-title")
    assert len(story["title"]) == 1000 and story["title"].endswith("…")
    figure("1,000,000-character title", f"stored as {len(story['title'])} characters")


def test_only_http_links_are_stored(matrix: Matrix) -> None:
    stories = matrix.stories("javascript-links")
    assert [s["title"] for s in stories] == ["fine link"]
    assert matrix.runs("javascript-links")[0]["stats"]["not_http_link"] == 2
    figure("javascript: and data: links", "0 stored, 0 published (2 counted as not_http_link)")


def test_a_redirect_loop_fails_the_run(matrix: Matrix) -> None:
    state, reason = outcome(matrix, "redirect-loop")
    assert state == "failed" and "redirect" in reason
    hops = matrix.site.hits["/loop/a.xml"] + matrix.site.hits["/loop/b.xml"]
    figure("redirect loop", f"failed after {hops / len(matrix.crawls):.1f} requests per crawl")


def test_a_redirect_to_a_private_address_is_refused(matrix: Matrix) -> None:
    state, reason = outcome(matrix, "redirect-to-private")
    assert state == "failed" and "private address" in reason, reason
    assert matrix.internal.hits["/secret.xml"] == 0
    assert matrix.stories("redirect-to-private") == []
    figure("redirect to a private address", "refused, 0 requests reached it")


def test_links_to_private_addresses_are_not_fetched(matrix: Matrix) -> None:
    assert sum(matrix.internal.hits.values()) == 0
    (story,) = matrix.stories("links-to-private")
    assert story["title"] == "links inside" and not story["complete"]  # kept as the feed gave it
    assert matrix.runs("links-to-private")[0]["stats"].get("private_address") == 1
    figure("fetch_articles with a private link", "0 requests to the private host; story kept as listed")


def test_a_slow_loris_source_is_cut_at_the_timeout(matrix: Matrix) -> None:
    state, reason = outcome(matrix, "slow-loris")
    assert state == "failed" and "time" in reason
    run = matrix.runs("slow-loris")[0]
    took = (run["finished"] - run["started"]).total_seconds()
    figure(
        "slow-loris source (1 byte / 0.5 s)",
        f"run failed after {took:.1f} s (timeout {TIMEOUT} s, one retry)",
    )


def test_a_connection_reset_fails_the_run(matrix: Matrix) -> None:
    state, reason = outcome(matrix, "connection-reset")
    assert state == "failed" and reason


def test_429_with_retry_after_is_not_hammered(matrix: Matrix) -> None:
    state, reason = outcome(matrix, "429-retry-after")
    assert state == "failed" and "429" in reason and "120" in reason, reason
    for run in matrix.runs("429-retry-after"):  # one 429 per crawl: not asked again against its wish
        assert run["stats"]["http_status_429"] == 1, run["stats"]
    figure("429 Retry-After: 120", "1 request per crawl, reason names the wait")


def test_robots_disallow_is_obeyed(matrix: Matrix) -> None:
    state, reason = outcome(matrix, "robots-disallow")
    assert state == "failed" and "robots" in reason.lower()
    assert matrix.stories("robots-disallow") == []


def test_dates_in_year_9999_and_0001_are_no_dates_and_the_stories_are_kept(matrix: Matrix) -> None:
    stories = {s["title"]: s for s in matrix.stories("year-9999-and-0001")}
    assert set(stories) == {"far future", "year one"}
    for s in stories.values():
        assert s["published"] is None and s["extra"]["published_raw"]
    assert outcome(matrix, "year-9999-and-0001")[0] == "ok"
    figure("pubDate in year 9999 / 0001", "stored, undated (raw date kept), 0 errors")


def test_a_pdf_bomb_is_cut_at_its_parsing_limit(matrix: Matrix) -> None:
    run = matrix.runs("pdf-bomb")[0]
    assert run["stats"].get("pdf_unreadable") == 1, run
    (story,) = matrix.stories("pdf-bomb")  # kept as the listing gave it
    assert story["title"] == "人事発令（PDF）" and not story["complete"]
    assert run["outcome"] in ("ok", "degraded"), run
    took = (run["finished"] - run["started"]).total_seconds()
    figure(
        "PDF bomb (20 MB of operators, 60 KB file)",
        f"unreadable at {MAX_STREAM_TOKENS:,} tokens, story kept as listed; run took {took:.1f} s",
    )


def test_one_invalid_byte_keeps_one_item_out_until_the_next_fetch(matrix: Matrix) -> None:
    first, second = matrix.runs("invalid-byte-then-fixed")
    assert first["outcome"] == "degraded" and "not valid utf-8" in first["reason"], first
    assert first["stats"]["item_text_damaged"] == 1 and first["new_stories"] == len(JA_TITLES) - 1
    stories = matrix.stories("invalid-byte-then-fixed")
    assert sorted(s["title"] for s in stories) == sorted(JA_TITLES)  # nothing half-decoded
    assert second["outcome"] == "ok" and second["new_stories"] == 1 and second["revised"] == 0, second
    figure(
        "one invalid byte in a UTF-8 feed",
        "1 of 3 items not stored (run degraded); stored whole by the next crawl",
    )


def test_a_wrong_charset_in_the_prolog_is_detected(matrix: Matrix) -> None:
    stories = matrix.stories("charset-wrong-in-prolog")
    assert sorted(s["title"] for s in stories) == sorted(JA_TITLES)
    run = matrix.runs("charset-wrong-in-prolog")[0]
    assert run["stats"].get("declared_encoding_wrong") == 1, run
    figure("prolog says Shift_JIS, bytes are UTF-8", "3 of 3 titles right (UTF-8 detected, counted)")


def test_a_wrong_charset_in_http_is_said_not_hidden(matrix: Matrix) -> None:
    state, reason = outcome(matrix, "charset-wrong-in-http")
    assert state == "degraded" and "mojibake" in reason, reason
    figure(
        "HTTP says ISO-8859-1, bytes are UTF-8",
        "read as the header says (as browsers do); run degraded: mojibake",
    )


def test_a_missing_charset_is_detected(matrix: Matrix) -> None:
    stories = matrix.stories("charset-missing")
    assert sorted(s["title"] for s in stories) == sorted(JA_TITLES)
    assert {s["extra"].get("encoding_assumed") for s in stories} == {"cp932"}
    figure(
        "Shift_JIS with no charset anywhere", "3 of 3 titles right (cp932 detected, recorded on each story)"
    )
