"""Table-driven and property tests for core.dates: date lines, era dates, URL dates."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.dates import (
    JST,
    NEWS_YEARS,
    EraDate,
    _normalize_with_offsets,
    parse_date_line,
    parse_era_date_string,
    parse_era_dates,
    parse_url_date,
    plausible,
)


def jst(y: int, m: int, d: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(y, m, d, hour, minute, tzinfo=JST)


# --- parse_date_line ---------------------------------------------------------------------------

DATE_LINES = [
    ("2025-2-13 09:05", jst(2025, 2, 13, 9, 5), "unpadded-date"),
    ("2025-10-21 08:55", jst(2025, 10, 21, 8, 55), "padded-date"),
    ("2025-10-4 9:30", jst(2025, 10, 4, 9, 30), "unpadded-hour"),
    ("2025-02-03 00:00", jst(2025, 2, 3, 0, 0), "midnight-padded"),
    ("2025/2/13 09:05", jst(2025, 2, 13, 9, 5), "slashes"),
    ("2025.2.13", jst(2025, 2, 13), "dots-no-time"),
    ("2025年2月13日 09:05", jst(2025, 2, 13, 9, 5), "kanji"),
    ("2025年2月13日(木) 9:05", jst(2025, 2, 13, 9, 5), "kanji-weekday"),
    ("2025年10月4日", jst(2025, 10, 4), "kanji-no-time"),
    ("2025-2-13", jst(2025, 2, 13), "no-time"),
    ("２０２５－２－１３　０９：０５", jst(2025, 2, 13, 9, 5), "full-width"),
    ("投稿日：2025-2-13 09:05", jst(2025, 2, 13, 9, 5), "label-before"),
    ("日本の防衛\n2025-12-28 17:40\n防衛省は", jst(2025, 12, 28, 17, 40), "surrounded-by-lines"),
    ("2025-02-13T09:05", jst(2025, 2, 13, 9, 5), "iso-t"),
    ("2025-2-13 09:05:42", datetime(2025, 2, 13, 9, 5, 42, tzinfo=JST), "seconds"),
    ("2024-2-29 12:00", jst(2024, 2, 29, 12, 0), "leap-day"),
    ("2025-2-30 09:05", None, "reject-feb-30"),
    ("2025-13-01 09:05", None, "reject-month-13"),
    ("2025-2-13 25:00", None, "reject-hour-25"),
    ("2025-2-13 09:60", None, "reject-minute-60"),
    ("2025-2-29", None, "reject-non-leap"),
    ("2025-02/13 09:05", None, "reject-mixed-separators"),
    ("id 002656", None, "reject-no-date"),
    ("12025-2-13 09:05", None, "reject-five-digit-year"),
    ("0120-12-34", None, "reject-phone-number"),
    ("", None, "reject-empty"),
    ("2025-2-30 09:05 / 2025-3-1 10:00", jst(2025, 3, 1, 10, 0), "skips-invalid-takes-next"),
    ("2025-2-13 09:05 更新 2025-2-14 10:00", jst(2025, 2, 13, 9, 5), "first-of-two"),
]


@pytest.mark.parametrize(("text", "expected"), [c[:2] for c in DATE_LINES], ids=[c[2] for c in DATE_LINES])
def test_parse_date_line(text: str, expected: datetime | None) -> None:
    assert parse_date_line(text) == expected


def test_parse_date_line_is_aware_in_jst() -> None:
    parsed = parse_date_line("2025-2-13 09:05")
    assert parsed is not None
    assert parsed.utcoffset() == timedelta(hours=9)


def test_parse_date_line_other_timezone() -> None:
    eastern = timezone(timedelta(hours=-5))
    assert parse_date_line("2025-2-13 09:05", tz=eastern) == datetime(2025, 2, 13, 9, 5, tzinfo=eastern)


_minute_datetimes = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2099, 12, 31, 23, 59)
).map(lambda dt: dt.replace(second=0, microsecond=0))


@given(_minute_datetimes, st.booleans(), st.booleans(), st.sampled_from(["", "投稿日：", "日本の防衛 "]))
def test_parse_date_line_round_trips(dt: datetime, pad_date: bool, pad_hour: bool, prefix: str) -> None:
    month, day = (f"{dt.month:02d}", f"{dt.day:02d}") if pad_date else (str(dt.month), str(dt.day))
    hour = f"{dt.hour:02d}" if pad_hour else str(dt.hour)
    line = f"{prefix}{dt.year}-{month}-{day} {hour}:{dt.minute:02d}"
    assert parse_date_line(line) == dt.replace(tzinfo=JST)


@given(st.text())
def test_parse_date_line_never_raises(text: str) -> None:
    result = parse_date_line(text)
    assert result is None or result.tzinfo is JST


# --- parse_era_dates ---------------------------------------------------------------------------

# (text, [(matched text, date, start, end, era, weekday label)], id)
ERA_CASES: list[
    tuple[str, list[tuple[str, date, datetime | None, datetime | None, str, str | None]], str]
] = [
    ("令和7年10月17日", [("令和7年10月17日", date(2025, 10, 17), None, None, "令和", None)], "plain"),
    (
        "令和7年10月17日(金)11時~11時38分",
        [
            (
                "令和7年10月17日(金)11時~11時38分",
                date(2025, 10, 17),
                jst(2025, 10, 17, 11),
                jst(2025, 10, 17, 11, 38),
                "令和",
                "金",
            )
        ],
        "weekday-time-range",
    ),
    (
        "令和7(2025)年10月28日(火)",
        [("令和7(2025)年10月28日(火)", date(2025, 10, 28), None, None, "令和", "火")],
        "western-year-before-nen",
    ),
    (
        "令和7年(2025)11月21日",
        [("令和7年(2025)11月21日", date(2025, 11, 21), None, None, "令和", None)],
        "western-year-after-nen",
    ),
    ("令和元年5月1日", [("令和元年5月1日", date(2019, 5, 1), None, None, "令和", None)], "reiwa-gannen"),
    (
        "平成31年4月30日",
        [("平成31年4月30日", date(2019, 4, 30), None, None, "平成", None)],
        "heisei-last-day",
    ),
    ("平成元年1月8日", [("平成元年1月8日", date(1989, 1, 8), None, None, "平成", None)], "heisei-gannen"),
    ("昭和64年1月7日", [("昭和64年1月7日", date(1989, 1, 7), None, None, "昭和", None)], "showa-last-day"),
    ("大正15年12月25日", [("大正15年12月25日", date(1926, 12, 25), None, None, "大正", None)], "taisho"),
    ("明治45年7月30日", [("明治45年7月30日", date(1912, 7, 30), None, None, "明治", None)], "meiji"),
    (
        "令和７年１０月１日",
        [("令和７年１０月１日", date(2025, 10, 1), None, None, "令和", None)],
        "full-width-digits",
    ),
    (
        "令和7年（2025年）11月21日",
        [("令和7年（2025年）11月21日", date(2025, 11, 21), None, None, "令和", None)],
        "full-width-parens-western-year",
    ),
    (
        "令和7年10月17日（金）午前10時30分",
        [
            (
                "令和7年10月17日（金）午前10時30分",
                date(2025, 10, 17),
                jst(2025, 10, 17, 10, 30),
                None,
                "令和",
                "金",
            )
        ],
        "gozen-time",
    ),
    (
        "令和7年10月17日午後3時",
        [("令和7年10月17日午後3時", date(2025, 10, 17), jst(2025, 10, 17, 15), None, "令和", None)],
        "gogo-time",
    ),
    (
        "令和7年10月17日 午後3時~午後4時30分",
        [
            (
                "令和7年10月17日 午後3時~午後4時30分",
                date(2025, 10, 17),
                jst(2025, 10, 17, 15),
                jst(2025, 10, 17, 16, 30),
                "令和",
                None,
            )
        ],
        "gogo-range",
    ),
    (
        "令和7年10月17日 午後3時~4時30分",
        [
            (
                "令和7年10月17日 午後3時~4時30分",
                date(2025, 10, 17),
                jst(2025, 10, 17, 15),
                jst(2025, 10, 17, 16, 30),
                "令和",
                None,
            )
        ],
        "gogo-range-end-inherits",
    ),
    (
        "令和7年10月17日13時15分",
        [("令和7年10月17日13時15分", date(2025, 10, 17), jst(2025, 10, 17, 13, 15), None, "令和", None)],
        "24h-time",
    ),
    (
        "令和7年10月17日(金) 11:00～11:38",
        [
            (
                "令和7年10月17日(金) 11:00～11:38",
                date(2025, 10, 17),
                jst(2025, 10, 17, 11),
                jst(2025, 10, 17, 11, 38),
                "令和",
                "金",
            )
        ],
        "colon-range-full-width-tilde",
    ),
    (
        "令和7年10月17日 11:00〜11:38",
        [
            (
                "令和7年10月17日 11:00〜11:38",
                date(2025, 10, 17),
                jst(2025, 10, 17, 11),
                jst(2025, 10, 17, 11, 38),
                "令和",
                None,
            )
        ],
        "wave-dash-range",
    ),
    (
        "令和7年10月17日 11:00-11:38",
        [
            (
                "令和7年10月17日 11:00-11:38",
                date(2025, 10, 17),
                jst(2025, 10, 17, 11),
                jst(2025, 10, 17, 11, 38),
                "令和",
                None,
            )
        ],
        "hyphen-range",
    ),
    (
        "令和7年10月17日10時から12時まで",
        [
            (
                "令和7年10月17日10時から12時",
                date(2025, 10, 17),
                jst(2025, 10, 17, 10),
                jst(2025, 10, 17, 12),
                "令和",
                None,
            )
        ],
        "kara-range",
    ),
    ("令和7年10月", [], "month-only-skipped"),
    ("令和7年度予算", [], "fiscal-year-skipped"),
    (
        "令和7(2024)年10月28日",
        [("令和7(2024)年10月28日", date(2025, 10, 28), None, None, "令和", None)],
        "disagreeing-western-year-trusts-era",
    ),
    ("令和7年2月30日", [], "invalid-date-skipped"),
    ("令和0年5月1日", [], "year-zero-skipped"),
    (
        "令和7年10月16日(金)",
        [("令和7年10月16日(金)", date(2025, 10, 16), None, None, "令和", "金")],
        "wrong-weekday-kept",
    ),
    (
        "令和7年10月17日（金曜日）",
        [("令和7年10月17日（金曜日）", date(2025, 10, 17), None, None, "令和", "金")],
        "long-weekday",
    ),
    (
        "令和7年11月3日(月・祝)",
        [("令和7年11月3日(月・祝)", date(2025, 11, 3), None, None, "令和", "月")],
        "holiday-weekday",
    ),
    (
        "令和7年10月17日正午",
        [("令和7年10月17日正午", date(2025, 10, 17), jst(2025, 10, 17, 12), None, "令和", None)],
        "shogo-noon",
    ),
    (
        "令和7年10月17日午後12時",
        [("令和7年10月17日午後12時", date(2025, 10, 17), jst(2025, 10, 17, 12), None, "令和", None)],
        "gogo-12-is-noon",
    ),
    (
        "令和7年10月17日午後0時",
        [("令和7年10月17日午後0時", date(2025, 10, 17), jst(2025, 10, 17, 12), None, "令和", None)],
        "gogo-0-is-noon",
    ),
    (
        "令和7年10月17日午前12時",
        [("令和7年10月17日午前12時", date(2025, 10, 17), jst(2025, 10, 17, 0), None, "令和", None)],
        "gozen-12-is-midnight",
    ),
    (
        "令和7年10月17日10時半",
        [("令和7年10月17日10時半", date(2025, 10, 17), jst(2025, 10, 17, 10, 30), None, "令和", None)],
        "han-half-hour",
    ),
    (
        "令和7年10月17日 23時~翌2時",
        [
            (
                "令和7年10月17日 23時~翌2時",
                date(2025, 10, 17),
                jst(2025, 10, 17, 23),
                jst(2025, 10, 18, 2),
                "令和",
                None,
            )
        ],
        "yoku-next-day",
    ),
    (
        "令和7年10月17日 午後11時~1時",
        [
            (
                "令和7年10月17日 午後11時~1時",
                date(2025, 10, 17),
                jst(2025, 10, 17, 23),
                jst(2025, 10, 18, 1),
                "令和",
                None,
            )
        ],
        "range-crosses-midnight",
    ),
    (
        "令和7年10月17日 11時~1時",
        [
            (
                "令和7年10月17日 11時~1時",
                date(2025, 10, 17),
                jst(2025, 10, 17, 11),
                jst(2025, 10, 17, 13),
                "令和",
                None,
            )
        ],
        "range-end-read-as-afternoon",
    ),
    (
        "令和7年10月17日 25時",
        [("令和7年10月17日", date(2025, 10, 17), None, None, "令和", None)],
        "invalid-time-keeps-date",
    ),
    (
        "令和7年10月17日 10時~25時",
        [("令和7年10月17日 10時", date(2025, 10, 17), jst(2025, 10, 17, 10), None, "令和", None)],
        "invalid-end-keeps-start",
    ),
    (
        "令和7年10月17日 3名が出席",
        [("令和7年10月17日", date(2025, 10, 17), None, None, "令和", None)],
        "number-after-date-is-not-time",
    ),
    (
        "令和七年十月十七日",
        [("令和七年十月十七日", date(2025, 10, 17), None, None, "令和", None)],
        "kanji-numerals",
    ),
    ("㋿7年10月17日", [("㋿7年10月17日", date(2025, 10, 17), None, None, "令和", None)], "reiwa-ligature"),
    ("㍻31年4月1日", [("㍻31年4月1日", date(2019, 4, 1), None, None, "平成", None)], "heisei-ligature"),
    (
        "令和 7 年 10 月 17 日",
        [("令和 7 年 10 月 17 日", date(2025, 10, 17), None, None, "令和", None)],
        "spaced",
    ),
    (
        "人事発令 令和7年8月1日付け、将補人事",
        [("令和7年8月1日", date(2025, 8, 1), None, None, "令和", None)],
        "inside-title",
    ),
    (
        "防衛大臣は令和7年10月17日(金)11時~11時38分に会見し、令和7年10月28日(火)にも会見した。",
        [
            (
                "令和7年10月17日(金)11時~11時38分",
                date(2025, 10, 17),
                jst(2025, 10, 17, 11),
                jst(2025, 10, 17, 11, 38),
                "令和",
                "金",
            ),
            ("令和7年10月28日(火)", date(2025, 10, 28), None, None, "令和", "火"),
        ],
        "two-in-sentence",
    ),
    ("2025年10月17日", [], "western-only-not-era"),
    ("", [], "empty"),
]


@pytest.mark.parametrize(("text", "expected"), [c[:2] for c in ERA_CASES], ids=[c[2] for c in ERA_CASES])
def test_parse_era_dates(
    text: str, expected: list[tuple[str, date, datetime | None, datetime | None, str, str | None]]
) -> None:
    found = [(e.text, e.date, e.start, e.end, e.era, e.weekday_label) for e in parse_era_dates(text)]
    assert found == expected


def test_era_date_times_are_aware_in_jst() -> None:
    (found,) = parse_era_dates("令和7年10月17日(金)11時~11時38分")
    assert found.start is not None and found.end is not None
    assert found.start.utcoffset() == found.end.utcoffset() == timedelta(hours=9)


def test_era_date_text_is_a_substring_as_written() -> None:
    text = "発表：令和７年（２０２５年）１０月１７日（金）午前１０時～１１時"
    (found,) = parse_era_dates(text)
    assert found.text in text
    assert found.text.startswith("令和７年")
    assert (found.start, found.end) == (jst(2025, 10, 17, 10), jst(2025, 10, 17, 11))


def test_era_date_is_frozen() -> None:
    (found,) = parse_era_dates("令和7年10月17日")
    assert isinstance(found, EraDate)
    with pytest.raises(AttributeError):
        found.era = "平成"  # type: ignore[misc]


_ERA_ALPHABET = "令和平成昭元年月日時分午前後正半翌(（)）~～〜-:：十一二七 0123456789０１２金火曜・祝"


@given(st.text())
def test_parse_era_dates_never_raises_on_any_text(text: str) -> None:
    assert isinstance(parse_era_dates(text), list)


@given(st.text(alphabet=_ERA_ALPHABET, max_size=60))
def test_parse_era_dates_never_raises_on_date_like_text(text: str) -> None:
    for found in parse_era_dates(text):
        assert found.text in text
        assert found.start is None or found.end is None or found.start <= found.end


def _per_character(text: str) -> tuple[str, list[int]]:
    """NFKC a character at a time with each output character's index: what the reading
    did with a Python loop, kept to check the faster one against."""
    parts, offsets = [], []
    for index, char in enumerate(text):
        normal = unicodedata.normalize("NFKC", char)
        parts.append(normal)
        offsets.extend([index] * len(normal))
    return "".join(parts), offsets


@given(
    st.text(alphabet=_ERA_ALPHABET + "㍻㋿…¼ｶﾞ　ＡＳＥＡＮ\u3099\u00e9e\u0301ﬁ", max_size=80)
    | st.text(max_size=80)
)
def test_era_dates_are_matched_on_each_characters_nfkc_with_its_position(text: str) -> None:
    assert _normalize_with_offsets(text) == _per_character(text)


@given(st.dates(min_value=date(2019, 5, 1), max_value=date(2099, 12, 31)), st.booleans())
def test_reiwa_dates_round_trip(day: date, full_width: bool) -> None:
    year = day.year - 2018
    text = f"令和{'元' if year == 1 else year}年{day.month}月{day.day}日"
    if full_width:
        text = text.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert parse_era_date_string(text) == day


# --- parse_era_date_string ---------------------------------------------------------------------

ERA_STRINGS = [
    ("令和7年10月28日", date(2025, 10, 28), "kisha-data-file"),
    (" 令和7年10月28日 ", date(2025, 10, 28), "surrounding-space"),
    ("令和7年10月28日(火)", date(2025, 10, 28), "with-weekday"),
    ("令和元年5月1日", date(2019, 5, 1), "gannen"),
    ("令和7年10月", None, "month-only"),
    ("2025年10月28日", None, "western"),
    ("", None, "empty"),
]


@pytest.mark.parametrize(("text", "expected"), [c[:2] for c in ERA_STRINGS], ids=[c[2] for c in ERA_STRINGS])
def test_parse_era_date_string(text: str, expected: date | None) -> None:
    assert parse_era_date_string(text) == expected


# --- parse_url_date ----------------------------------------------------------------------------

URL_DATES = [
    ("https://www.mod.go.jp/j/press/news/2025/10/17a.html", date(2025, 10, 17), "news-html-absolute"),
    ("/j/press/news/2025/10/17b.pdf", date(2025, 10, 17), "news-pdf-relative"),
    ("/j/press/news/2025/02/03h.html", date(2025, 2, 3), "news-letter-h"),
    ("/j/press/news/2025/02/03.html", date(2025, 2, 3), "news-no-letter"),
    ("/j/press/news/2025/10/17a.html?utm=x#top", date(2025, 10, 17), "news-query-fragment"),
    ("/j/press/news/2025/10/17a_01.pdf", date(2025, 10, 17), "news-attachment"),
    ("/j/press/kisha/2025/1028a.html", date(2025, 10, 28), "kisha"),
    ("https://www.mod.go.jp/j/press/kisha/2025/1017a_r.html", date(2025, 10, 17), "kisha-ad-hoc"),
    ("/j/press/news/2025/02/30a.html", None, "news-invalid-date"),
    ("/j/press/kisha/2025/1332a.html", None, "kisha-invalid-date"),
    ("/j/press/kisha/kisha_ja.js", None, "kisha-data-file"),
    ("/j/press/jinji/2025/index.html", None, "jinji-index"),
    ("/j/rss/news.xml", None, "feed"),
    ("https://j-defense.ikaros.jp/docs/mod/002656.html", None, "j-defense-article"),
    ("", None, "empty"),
]


@pytest.mark.parametrize(("url", "expected"), [c[:2] for c in URL_DATES], ids=[c[2] for c in URL_DATES])
def test_parse_url_date(url: str, expected: date | None) -> None:
    assert parse_url_date(url) == expected


@given(st.text())
def test_parse_url_date_never_raises(url: str) -> None:
    assert parse_url_date(url) is None or isinstance(parse_url_date(url), date)


# --- one range of plausible news dates, used by every reader ----------------------------------


@pytest.mark.parametrize(
    ("year", "expected"),
    [(1, False), (1899, False), (1900, True), (1969, True), (2099, True), (2100, False), (9999, False)],
)
def test_every_reader_agrees_on_the_plausible_years(year: int, expected: bool) -> None:
    """core.dates.NEWS_YEARS is the one definition: date lines, listing dates
    (crawler.extract), feed dates (crawler.feed_dates) accept and refuse the same years."""
    from crawler.extract import parse_datetime
    from crawler.feed_dates import DateOutOfRange, parse_feed_date

    assert (year in NEWS_YEARS) is expected
    assert plausible(date(year, 6, 1)) is expected
    iso = f"{year:04d}-06-01T12:00:00+09:00"
    assert (parse_datetime(iso, JST) is not None) is expected
    try:
        read = parse_feed_date(iso, JST) is not None
    except DateOutOfRange:
        read = False
    assert read is expected
    assert (parse_date_line(f"{year:04d}-06-01 12:00") is not None) is expected


def test_a_date_past_the_end_of_time_in_utc_is_not_plausible() -> None:
    assert plausible(datetime(2099, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))))
    assert not plausible(datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))))
