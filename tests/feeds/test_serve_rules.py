"""The decisions inside ``defwatch serve``, as tables: which paths are feed files, what
Accept-Encoding allows gzip, which If-None-Match matches, and when a source is overdue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from core.config import load_config
from feeds.serve import accepts_gzip, etag_matches, not_modified_since, overdue_after, resolve

JST = ZoneInfo("Asia/Tokyo")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    public = tmp_path / "public"
    (public / "sources").mkdir(parents=True)
    for name in ("all.rss", "index.opml", "sources/mod.atom", ".all.rss.1234.tmp", "readme.txt"):
        (public / name).write_text("x")
    (tmp_path / "outside.rss").write_text("secret")
    (public / "link.rss").symlink_to(tmp_path / "outside.rss")
    (public / "inside.rss").symlink_to(public / "all.rss")
    return public


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/all.rss", "all.rss"),
        ("/all.rss?ver=2", "all.rss"),
        ("/", "index.opml"),
        ("/sources/mod.atom", "sources/mod.atom"),
        ("/sources//mod.atom", "sources/mod.atom"),
        ("/sources/mod%2Eatom", "sources/mod.atom"),
        ("/inside.rss", "all.rss"),
        ("/../outside.rss", None),
        ("/%2e%2e/outside.rss", None),
        ("/sources/%2e%2e/all.rss", None),
        ("/.%2e/outside.rss", None),
        ("/..%2foutside.rss", None),
        ("/..\\outside.rss", None),
        ("/link.rss", None),
        ("/.all.rss.1234.tmp", None),
        ("/readme.txt", None),
        ("/sources", None),
        ("/missing.rss", None),
        ("/all.rss%00", None),
    ],
)
def test_resolve(root: Path, target: str, expected: str | None) -> None:
    found = resolve(root, target)
    assert (found.relative_to(root.resolve()).as_posix() if found else None) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, False),
        ("", False),
        ("gzip", True),
        ("deflate, gzip;q=1.0, *;q=0.5", True),
        ("GZIP", True),
        ("x-gzip", True),
        ("gzip;q=0", False),
        ("gzip; q=0.0, identity", False),
        ("identity", False),
        ("*", True),
        ("*;q=0", False),
        ("br, *", True),
        ("gzip;q=0, *", False),
        ("gzip;q=bad", False),
    ],
)
def test_accepts_gzip(header: str | None, expected: bool) -> None:
    assert accepts_gzip(header) is expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('"abc"', True),
        ('W/"abc"', True),
        ('"x", "abc"', True),
        ('"x",W/"abc"', True),
        ("*", True),
        ('"abcd"', False),
        ("abc", False),
        ("", False),
    ],
)
def test_etag_matches(header: str, expected: bool) -> None:
    assert etag_matches(header, '"abc"') is expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Sat, 01 Nov 2025 00:00:00 GMT", True),
        ("Sat, 01 Nov 2025 00:00:01 GMT", True),
        ("Fri, 31 Oct 2025 23:59:59 GMT", False),
        ("Sat, 01 Nov 2025 09:00:00 +0900", True),
        ("not a date", False),
        ("", False),
    ],
)
def test_not_modified_since(header: str, expected: bool) -> None:
    modified = int(datetime(2025, 11, 1, tzinfo=UTC).timestamp())
    assert not_modified_since(header, modified) is expected


@pytest.mark.parametrize(
    ("schedule", "anchor", "expected"),
    [
        # every 15 minutes: the runs at 10:15 and 10:30 failed, each had 15m to finish
        ("*/15 * * * *", "2025-10-20T10:07:00", "2025-10-20T10:50:10"),
        # a success right on a fire time counts from the next one
        ("*/15 * * * *", "2025-10-20T10:15:00", "2025-10-20T11:05:10"),
        # hourly
        ("0 * * * *", "2025-10-20T10:20:00", "2025-10-20T12:20:10"),
        # weekdays at 9:00 (JST): Friday's success, then Monday's and Tuesday's runs
        ("0 9 * * 1-5", "2025-10-24T09:01:00", "2025-10-28T09:20:10"),
    ],
    ids=["15m", "on-fire-time", "hourly", "weekdays"],
)
def test_overdue_after(tmp_path: Path, schedule: str, anchor: str, expected: str) -> None:
    (tmp_path / "defwatch.toml").write_text(
        '[scheduler]\ncrawl_timeout = "15m"\njitter = "10s"\nmisfire_grace = "5m"\n'
        f'[[sources]]\nname = "s"\nkind = "feed"\nurl = "https://s.example/"\nschedule = "{schedule}"\n'
    )
    config = load_config(tmp_path / "defwatch.toml")
    when = overdue_after(config.sources[0], datetime.fromisoformat(anchor).replace(tzinfo=JST), config)
    assert when == datetime.fromisoformat(expected).replace(tzinfo=JST)
    assert when - datetime.fromisoformat(anchor).replace(tzinfo=JST) > timedelta(minutes=15)
