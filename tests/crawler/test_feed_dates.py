"""Feed dates (crawler.feed_dates): every form feedparser reads, zones that win over the
source's time zone, date-only values, and dates out of range."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crawler.feed_dates import DateOutOfRange, FeedDate, parse_feed_date

JST = ZoneInfo("Asia/Tokyo")


def _tz(hours: float) -> timezone:
    return timezone(timedelta(hours=hours))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # An explicit offset or a known zone name wins over the source's zone (UTC here).
        ("Thu, 13 Feb 2025 09:05:00 +0800", datetime(2025, 2, 13, 9, 5, tzinfo=_tz(8))),
        ("2025-02-13T09:05:00+08:00", datetime(2025, 2, 13, 9, 5, tzinfo=_tz(8))),
        ("2025-02-13T09:05:00-05:00", datetime(2025, 2, 13, 9, 5, tzinfo=_tz(-5))),
        ("Thu, 13 Feb 2025 09:05:00 KST", datetime(2025, 2, 13, 9, 5, tzinfo=_tz(9))),
        ("Thu, 13 Feb 2025 09:05:00 MET", datetime(2025, 2, 13, 9, 5, tzinfo=_tz(1))),
        ("Thu, 13 Feb 2025 09:05:00 MEST", datetime(2025, 2, 13, 9, 5, tzinfo=_tz(2))),
        ("Thu, 13 Feb 2025 09:05:00 EDT", datetime(2025, 2, 13, 9, 5, tzinfo=_tz(-4))),
        ("Thu, 13 Feb 2025 09:05:00 EST", datetime(2025, 2, 13, 9, 5, tzinfo=_tz(-5))),
        ("Thu, 13 Feb 2025 09:05:00 PST", datetime(2025, 2, 13, 9, 5, tzinfo=_tz(-8))),
        ("Thu, 13 Feb 2025 09:05:00 GMT", datetime(2025, 2, 13, 9, 5, tzinfo=UTC)),
        ("Thu, 13 Feb 2025 09:05:00 JST", datetime(2025, 2, 13, 9, 5, tzinfo=_tz(9))),
        ("Thu, 13 Feb 2025 09:05:00 GMT+8", datetime(2025, 2, 13, 9, 5, tzinfo=_tz(8))),
        ("Thu, 13 Feb 2025 09:05:00 Etc/GMT", datetime(2025, 2, 13, 9, 5, tzinfo=UTC)),
        ("2025-02-13 09:05:00 EDT", datetime(2025, 2, 13, 9, 5, tzinfo=_tz(-4))),
        ("2025-02-13T09:05:00.123Z", datetime(2025, 2, 13, 9, 5, 0, 123000, tzinfo=UTC)),
        ("20250213T090500Z", datetime(2025, 2, 13, 9, 5, tzinfo=UTC)),
        # The ambiguous abbreviations follow the documented table.
        ("Thu, 13 Feb 2025 09:05:00 CST", datetime(2025, 2, 13, 9, 5, tzinfo=_tz(-6))),
        ("Thu, 13 Feb 2025 09:05:00 IST", datetime(2025, 2, 13, 9, 5, tzinfo=_tz(5.5))),
        # What feedparser also accepts: no weekday, a comma after the month, month first,
        # two-digit years, no seconds.
        ("13 Feb 2025 09:05 +0900", datetime(2025, 2, 13, 9, 5, tzinfo=_tz(9))),
        ("Thu, 13 Feb, 2025 09:05:00 +0900", datetime(2025, 2, 13, 9, 5, tzinfo=_tz(9))),
        ("Thu, Feb 13 2025 09:05:00 +0900", datetime(2025, 2, 13, 9, 5, tzinfo=_tz(9))),
        ("Thu, 13 Feb 25 09:05:00 +0900", datetime(2025, 2, 13, 9, 5, tzinfo=_tz(9))),
        ("Sat, 13 Feb 99 09:05:00 +0900", datetime(1999, 2, 13, 9, 5, tzinfo=_tz(9))),
    ],
)
def test_an_explicit_zone_wins(raw: str, expected: datetime) -> None:
    found = parse_feed_date(raw, UTC)
    assert found == FeedDate(expected)
    assert found is not None and found.value.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2025-02-13T09:05:00", datetime(2025, 2, 13, 9, 5, tzinfo=JST)),
        ("Thu, 13 Feb 2025 09:05:00", datetime(2025, 2, 13, 9, 5, tzinfo=JST)),
        ("Thu, 13 Feb 2025 09:05:00 -0000", datetime(2025, 2, 13, 9, 5, tzinfo=JST)),  # RFC: unknown
    ],
)
def test_without_a_zone_the_source_zone_is_assumed(raw: str, expected: datetime) -> None:
    assert parse_feed_date(raw, JST) == FeedDate(expected, zone_assumed=True)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Thu, 13 Feb 2025", datetime(2025, 2, 13, tzinfo=JST)),
        ("13 Feb 2025", datetime(2025, 2, 13, tzinfo=JST)),
        ("2025-02-13", datetime(2025, 2, 13, tzinfo=JST)),
        ("2003-12", datetime(2003, 12, 1, tzinfo=JST)),
        ("2003", datetime(2003, 1, 1, tzinfo=JST)),
        ("２０２５－０２－１３", datetime(2025, 2, 13, tzinfo=JST)),  # full-width, NFKC
    ],
)
def test_a_date_without_a_time_is_midnight_in_the_source_zone(raw: str, expected: datetime) -> None:
    assert parse_feed_date(raw, JST) == FeedDate(expected, zone_assumed=True, date_only=True)


@pytest.mark.parametrize(
    "raw",
    ["0001-01-01T00:00:00Z", "9999-12-31T23:00:00-05:00", "Fri, 31 Dec 9999 23:59:59 +0000", "1000-01-01"],
)
def test_years_out_of_range_are_refused_with_a_reason(raw: str) -> None:
    with pytest.raises(DateOutOfRange):
        parse_feed_date(raw, UTC)


@pytest.mark.parametrize(
    "raw",
    ["", "not a date", "2025-13-45T10:00:00Z", "Mon, 31 Feb 2025 10:00:00 +0000", "Thu, 13 Feb 2025 25:00"],
)
def test_what_is_no_date_is_none(raw: str) -> None:
    assert parse_feed_date(raw, UTC) is None


@given(st.text(max_size=60))
def test_never_raises_anything_but_out_of_range(text: str) -> None:
    try:
        found = parse_feed_date(text, JST)
    except DateOutOfRange:
        return
    assert found is None or found.value.tzinfo is not None
