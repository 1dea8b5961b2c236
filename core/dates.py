"""Dates as the sources write them: J-Defense date lines, Japanese era dates in ministry text,
and the dates encoded in ministry URLs. Pure functions; nothing here raises on bad input."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from urllib.parse import urlsplit

from core.model import JST

__all__ = [
    "ERAS",
    "JST",
    "NEWS_YEARS",
    "EraDate",
    "parse_date_line",
    "parse_era_date_string",
    "parse_era_dates",
    "parse_url_date",
    "plausible",
]


# Gregorian year of each era's first year (元年).
ERAS: dict[str, int] = {"明治": 1868, "大正": 1912, "昭和": 1926, "平成": 1989, "令和": 2019}


# --- Plausible news dates -----------------------------------------------------------------------

# The years a news item, a feed entry or a date line can carry: the one definition every reader
# uses (date lines here, crawler.extract, crawler.feed_dates, the ministry's pubDates). A year 1
# or 9999 is a broken feed or a trap (9999 overflows when converted to UTC), and the limit keeps
# ids and phone numbers such as 0120-12-34 from reading as dates.
NEWS_YEARS = range(1900, 2100)


def plausible(value: datetime | date) -> bool:
    """Whether ``value`` is a date a news item can have: its year in :data:`NEWS_YEARS`, and an
    aware datetime that converts to UTC (9999-12-31 23:00 -05:00 does not)."""
    if value.year not in NEWS_YEARS:
        return False
    if isinstance(value, datetime) and value.utcoffset() is not None:
        try:
            value.astimezone(UTC)
        except OverflowError:
            return False
    return True


# --- Western date lines ----------------------------------------------------------------------

# Years are limited to NEWS_YEARS (19xx and 20xx) by the pattern itself.
_DATE_LINE = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d{2})"
    r"(?:"
    r"(?P<sep>[-/.])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})(?!\d|(?P=sep)\d)"
    r"|\s*年\s*(?P<jm>\d{1,2})\s*月\s*(?P<jd>\d{1,2})\s*日(?:\s*\([^()\d]{1,4}\))?"
    r")"
    r"(?:(?:\s*|T)(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?(?!\d))?"
)


def parse_date_line(text: str, tz: tzinfo = JST) -> datetime | None:
    """The first valid ``YYYY-M-D HH:MM`` style date in ``text``, as an aware datetime in ``tz``.

    Also reads ``YYYY/M/D``, ``YYYY.M.D`` and ``YYYY年M月D日``, full-width digits, and a
    missing time (midnight). Returns None when no valid date is found.
    """
    for match in _DATE_LINE.finditer(unicodedata.normalize("NFKC", text)):
        month = match["m"] or match["jm"]
        day = match["d"] or match["jd"]
        try:
            return datetime(
                int(match["y"]),
                int(month),
                int(day),
                int(match["H"] or 0),
                int(match["M"] or 0),
                int(match["S"] or 0),
                tzinfo=tz,
            )
        except ValueError:
            # An impossible date or time (2025-2-30, 25:00) is no date line at all; a later
            # match in the same text may still be one.
            continue
    return None


# --- Era dates ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EraDate:
    """One Japanese era date found in text, with the time or time range that follows it."""

    text: str  # the matched substring exactly as written (full-width digits and all)
    date: date
    start: datetime | None  # JST; set when a time follows the date
    end: datetime | None  # JST; set when a time range follows the date
    era: str
    # Kept as written and never checked: the sources get weekdays wrong.
    weekday_label: str | None


_KANJI_DIGITS = {"〇": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_NUM = r"(?:[0-9]{1,2}(?![0-9])|[〇一二三四五六七八九十]{1,3})"
_RANGE = r"(?:[~〜\-‐‑–—―ー]|から)"
_WESTERN_YEAR = r"\(\s*(?:西暦\s*)?[0-9]{4}\s*年?\s*\)"


def _time_pattern(p: str) -> str:
    return (
        rf"(?P<{p}>(?:(?P<{p}_ampm>午前|午後)\s*)?"
        rf"(?:(?P<{p}_noon>正午)"
        rf"|(?P<{p}_h>{_NUM})\s*(?:時\s*(?:(?P<{p}_half>半)|(?P<{p}_m>{_NUM})\s*分)?"
        rf"|:\s*(?P<{p}_mc>[0-9]{{2}})(?![0-9]))))"
    )


_ERA_DATE = re.compile(
    rf"(?P<datepart>(?P<era>{'|'.join(ERAS)})\s*(?P<year>元|{_NUM})\s*"
    rf"(?:{_WESTERN_YEAR}\s*)?年\s*(?:{_WESTERN_YEAR}\s*)?"
    rf"(?P<month>{_NUM})\s*月\s*(?P<day>{_NUM})\s*日"
    rf"(?:\s*\(\s*(?P<wd>[月火水木金土日])\s*(?:曜日?)?\s*(?:[・,、]\s*(?:祝|休)日?\s*)?\))?)"
    rf"(?:\s*{_time_pattern('s')}(?:\s*{_RANGE}\s*(?P<next_day>翌日?\s*)?{_time_pattern('e')})?)?"
)


def _number(s: str) -> int | None:
    """An ASCII or kanji numeral up to 99 (十七, 二十, 一〇), or None if malformed."""
    if s.isascii():
        return int(s)
    if "十" in s:
        tens, _, ones = s.partition("十")
        if len(tens) > 1 or len(ones) > 1 or "十" in ones or tens == "〇":
            return None
        return (_KANJI_DIGITS[tens] if tens else 1) * 10 + (_KANJI_DIGITS[ones] if ones else 0)
    value = 0
    for char in s:
        value = value * 10 + _KANJI_DIGITS[char]
    return value


def _clock(match: re.Match[str], p: str) -> tuple[int, int] | None:
    """(hour, minute) of a matched time, hour 0-24, or None if the time is impossible.

    午前/午後 are read as a 12-hour clock: 午前0時 and 午前12時 are midnight, 午後0時 and
    午後12時 are noon. (The 1872 law reads 午前12時 as noon, but the press uses 午後12時 for
    noon, as in English "12 p.m."; 正午 is always noon.)
    """
    if match[f"{p}_noon"]:
        return (12, 0)
    hour = _number(match[f"{p}_h"])
    raw_minute = match[f"{p}_m"] or match[f"{p}_mc"]
    minute = 30 if match[f"{p}_half"] else (_number(raw_minute) if raw_minute else 0)
    if hour is None or minute is None or minute > 59:
        return None
    ampm = match[f"{p}_ampm"]
    if ampm and hour <= 12:
        hour = hour % 12 + (12 if ampm == "午後" else 0)
    elif ampm == "午前":
        return None  # 午前13時 is no time; 午後13時 is a redundant but clear 13:00.
    if hour > 24 or (hour == 24 and minute):
        return None
    return (hour, minute)


def _at(day: date, hour: int, minute: int) -> datetime:
    # 24時 is the end of the day, i.e. the next day's midnight.
    return datetime.combine(day, time(0, 0), tzinfo=JST) + timedelta(hours=hour, minutes=minute)


def _end_time(match: re.Match[str], day: date, start: datetime) -> datetime | None:
    """The end of a time range, read so that it does not come before the start.

    An end without 午前/午後 first takes the start's ("午後3時~4時30分" ends at 16:30); failing
    that, it is read as written, then as an afternoon hour (11時~1時 ends at 13:00), and only
    then as the next day (23時~1時). 翌 before the end always means the next day.
    """
    clock = _clock(match, "e")
    if clock is None:
        return None
    hour, minute = clock
    if match["next_day"]:
        return _at(day + timedelta(days=1), hour, minute)
    candidates = []
    start_ampm = match["s_ampm"]
    if not match["e_ampm"] and start_ampm and hour < 12:
        candidates.append(hour % 12 + (12 if start_ampm == "午後" else 0))
    candidates.append(hour)
    if not match["e_ampm"] and hour < 12:
        candidates.append(hour + 12)
    for candidate in candidates:
        end = _at(day, candidate, minute)
        if end >= start:
            return end
    return _at(day + timedelta(days=1), hour, minute)


class _NfkcChars(dict[int, str]):
    """Each character's NFKC, for ``str.translate``: computed once a character, then looked
    up by translate in C (a Python loop calling unicodedata per character was most of the
    time of reading an article's era dates)."""

    def __missing__(self, code: int) -> str:
        normal = unicodedata.normalize("NFKC", chr(code))
        self[code] = normal
        return normal


_NFKC_CHARS = _NfkcChars()


def _normalize_with_offsets(text: str) -> tuple[str, list[int]]:
    """NFKC ``text`` one character at a time, with each output character's index in ``text``.

    Matching on the normalized form catches full-width digits and brackets and the era
    ligatures (㋿, ㍻), while the offsets give back the substring exactly as written.
    """
    if text.isascii():
        return text, list(range(len(text)))
    normal = text.translate(_NFKC_CHARS)
    if len(normal) == len(text):  # no character became two or more: offsets are positions
        return normal, list(range(len(text)))
    # a character whose NFKC is longer (㍻: 平成, …: ...) gives its index that many times
    wide = sorted(
        (i, len(_NFKC_CHARS[ord(c)]))
        for c in set(text)
        if len(_NFKC_CHARS[ord(c)]) > 1
        for i in _positions(text, c)
    )
    offsets: list[int] = []
    done = 0
    for i, width in wide:
        offsets.extend(range(done, i))
        offsets.extend([i] * width)
        done = i + 1
    offsets.extend(range(done, len(text)))
    return normal, offsets


def _positions(text: str, char: str) -> Iterator[int]:
    i = text.find(char)
    while i >= 0:
        yield i
        i = text.find(char, i + 1)


def _era_date(match: re.Match[str], original: str, offsets: list[int]) -> EraDate | None:
    era = match["era"]
    year = 1 if match["year"] == "元" else _number(match["year"])
    month = _number(match["month"])
    day_of_month = _number(match["day"])
    if year is None or month is None or day_of_month is None or year < 1:
        return None
    try:
        day = date(ERAS[era] + year - 1, month, day_of_month)
    except ValueError:
        return None

    start = end = None
    stop = match.end("datepart")
    start_clock = _clock(match, "s") if match["s"] else None
    if start_clock is not None:
        start = _at(day, *start_clock)
        stop = match.end("s")
        if match["e"]:
            end = _end_time(match, day, start)
            if end is not None:
                stop = match.end("e")
    written = original[offsets[match.start()] : offsets[stop - 1] + 1]
    return EraDate(text=written, date=day, start=start, end=end, era=era, weekday_label=match["wd"])


def parse_era_dates(text: str) -> list[EraDate]:
    """Every Japanese era date with a day in ``text`` (令和7年10月17日(金)11時~11時38分, ...).

    A bracketed Western year is skipped, not checked: the era wins when they disagree.
    Month-only dates (令和7年10月) and impossible dates are left out.
    """
    normal, offsets = _normalize_with_offsets(text)
    found = []
    for match in _ERA_DATE.finditer(normal):
        era_date = _era_date(match, text, offsets)
        if era_date is not None:
            found.append(era_date)
    return found


def parse_era_date_string(s: str) -> date | None:
    """The date of the first era date in ``s`` (e.g. ``令和7年10月28日`` from kisha_ja.js)."""
    found = parse_era_dates(s)
    return found[0].date if found else None


# --- Ministry URLs -----------------------------------------------------------------------------

_NEWS_PATH = re.compile(
    r"(?:^|/)j/press/news/(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})[a-z]?(?:_[\w-]+)?\.(?:html?|pdf)$",
    re.IGNORECASE,
)
_KISHA_PATH = re.compile(
    r"(?:^|/)j/press/kisha/(?P<y>\d{4})/(?P<m>\d{2})(?P<d>\d{2})[a-z]?(?:_r)?\.html?$",
    re.IGNORECASE,
)


def parse_url_date(url: str) -> date | None:
    """The date a ministry release or press-conference URL carries, or None.

    ``/j/press/news/YYYY/MM/DD[a-h].html|.pdf`` and ``/j/press/kisha/YYYY/MMDDa[_r].html``;
    absolute or relative, query and fragment ignored.
    """
    try:
        path = urlsplit(url.strip()).path
    except ValueError:  # e.g. an unbalanced "[" read as an IPv6 host
        return None
    match = _NEWS_PATH.search(path) or _KISHA_PATH.search(path)
    if match is None:
        return None
    try:
        return date(int(match["y"]), int(match["m"]), int(match["d"]))
    except ValueError:
        return None
