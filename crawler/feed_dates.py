"""Dates as feeds write them: RFC 822 (RSS ``pubDate``) in all its real-world shapes, W3C-DTF
and ISO 8601 (Atom, ``dc:date``), partial dates, and named zones.

The rules (docs/sources.md, "Encodings and dates"):

- an explicit offset (``+0900``, ``-05:00``, ``GMT+8``) or a zone name in :data:`ZONES`
  always wins; the source's ``timezone`` applies only when the date carries none
  (``zone_assumed``), and to RFC 822's ``-0000`` ("zone unknown");
- a date without a time (``Thu, 13 Feb 2025``, ``2025-02-13``, ``2003-12``, ``2003``) is
  midnight of its first day in that zone (``date_only``);
- years outside :data:`core.dates.NEWS_YEARS` are refused, reason ``date_out_of_range`` (a year 1 or
  9999 in a news feed is a broken feed, and 9999 overflows in UTC).

Nothing here raises on bad input.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo

from core.dates import plausible

__all__ = ["ZONES", "DateOutOfRange", "FeedDate", "parse_feed_date"]

# Zone names and their offsets in hours. RFC 822's names first, then the ones feeds use.
# Ambiguous abbreviations follow one reading each, the one feedparser and RFC 822 use where
# they say: CST is US Central (not China), IST is India (not Israel or Ireland), BST is
# British Summer Time (not Bangladesh), AST is Atlantic (not Arabia).
ZONES: dict[str, float] = {
    "UT": 0, "UTC": 0, "GMT": 0, "Z": 0, "WET": 0,
    "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
    "AST": -4, "ADT": -3, "AKST": -9, "AKDT": -8, "HST": -10, "NST": -3.5,
    "BST": 1, "IST": 5.5, "CET": 1, "CEST": 2, "MET": 1, "MEST": 2, "WEST": 1, "EET": 2, "EEST": 3,
    "MSK": 3, "JST": 9, "KST": 9, "HKT": 8, "SGT": 8, "PHT": 8, "AWST": 8, "ICT": 7, "WIB": 7,
    "AEST": 10, "AEDT": 11, "ACST": 9.5, "NZST": 12, "NZDT": 13,
}  # fmt: skip

_MONTHS = {
    m: n
    for n, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class FeedDate:
    """A parsed date: aware, and what was assumed about it."""

    value: datetime
    zone_assumed: bool = False  # no offset or zone name: the source's time zone was used
    date_only: bool = False  # no time: midnight of the day (or of the first day of the month)


class DateOutOfRange(ValueError):
    """A date that parses but is no news date (core.dates.plausible: year 1, 9999...)."""


def parse_feed_date(text: str, tz: tzinfo) -> FeedDate | None:
    """``text`` read as a feed date, or None when it is no date this parser knows.

    Raises :class:`DateOutOfRange` for a well-formed date that is no news date
    (core.dates.plausible).
    """
    text = unicodedata.normalize("NFKC", text).strip()
    if not text or len(text) > 100:
        return None
    for parse in (_w3cdtf, _rfc822):
        found = parse(text, tz)
        if found is not None:
            if not plausible(found.value):
                raise DateOutOfRange(text)
            return found
    return None


# --- W3C-DTF / ISO 8601 ---------------------------------------------------------------------

_W3C = re.compile(
    r"(?P<y>\d{4})(?:-(?P<m>\d{1,2})(?:-(?P<d>\d{1,2})"
    r"(?:[T ](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d+))?)?"
    r"\s*(?P<zone>Z|[+-]\d{2}(?::?\d{2})?|[A-Za-z]{1,5})?)?)?)?$",
    re.IGNORECASE,
)
_W3C_COMPACT = re.compile(
    r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?:T(?P<H>\d{2}):?(?P<M>\d{2})(?::?(?P<S>\d{2}))?"
    r"(?P<zone>Z|[+-]\d{2}:?\d{2})?)?$",
    re.IGNORECASE,
)


def _w3cdtf(text: str, tz: tzinfo) -> FeedDate | None:
    match = _W3C.match(text) or _W3C_COMPACT.match(text)
    if match is None:
        return None
    groups = match.groupdict()
    zone = _zone(groups.get("zone"))
    if groups.get("zone") and zone is None:
        return None
    fraction = (groups.get("f") or "0")[:6].ljust(6, "0")
    try:
        naive = datetime(
            int(groups["y"]),
            int(groups["m"] or 1),
            int(groups["d"] or 1),
            int(groups["H"] or 0),
            int(groups["M"] or 0),
            int(groups["S"] or 0),
            int(fraction),
        )
    except ValueError:
        return None
    date_only = groups["H"] is None
    return _aware(naive, zone, tz, date_only)


# --- RFC 822 and its relatives ---------------------------------------------------------------

_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?$")


def _rfc822(text: str, tz: tzinfo) -> FeedDate | None:
    """``[Wkd,] D Mon YYYY [HH:MM[:SS]] [zone]``, also month first, a comma after the month,
    two-digit years, ``GMT+8`` and ``Etc/GMT`` style zones, ``T`` between date and time."""
    words = re.sub(r"[,\s]+", " ", text.replace("T", " ") if re.search(r"\dT\d", text) else text)
    parts = words.strip().lower().split(" ")
    if parts and parts[0][:3] in _DAYS and not parts[0][:1].isdigit():
        parts = parts[1:]
    if len(parts) < 3:
        return None
    first, second, year_text, *rest = parts
    if first.isdigit() and second[:3] in _MONTHS:
        day, month = int(first), _MONTHS[second[:3]]
    elif second.rstrip(".").isdigit() and first[:3] in _MONTHS:
        day, month = int(second.rstrip(".")), _MONTHS[first[:3]]
    else:
        return None
    if not year_text.isdigit() or len(year_text) not in (2, 4):
        return None
    year = int(year_text)
    if len(year_text) == 2:  # as feedparser: 90-99 are the 1990s, the rest 2000-2089
        year += 1900 if year >= 90 else 2000
    hour = minute = second_ = 0
    date_only = True
    if rest and (clock := _TIME.match(rest[0])):
        hour, minute, second_ = int(clock[1]), int(clock[2]), int(clock[3] or 0)
        date_only = False
        rest = rest[1:]
    zone_text = "".join(rest)
    zone = _zone(zone_text) if zone_text else None
    if zone_text and zone is None and zone_text != "-0000":
        return None
    try:
        naive = datetime(year, month, day, hour, minute, second_)
    except ValueError:
        return None
    return _aware(naive, zone, tz, date_only)


def _zone(text: str | None) -> tzinfo | None:
    """An offset or a known zone name as a tzinfo; None for no zone or RFC 822's ``-0000``."""
    if not text:
        return None
    upper = text.upper()
    if upper.startswith("ETC/"):
        upper = upper[4:]
    if upper in ZONES:
        return timezone(timedelta(hours=ZONES[upper]))
    for prefix in ("GMT", "UTC", "UT"):
        if upper.startswith(prefix) and upper[len(prefix) : len(prefix) + 1] in ("+", "-"):
            upper = upper[len(prefix) :]
            break
    match = re.fullmatch(r"([+-])(\d{1,2})(?::?(\d{2}))?", upper)
    if match is None or upper == "-0000":
        return None
    hours, minutes = int(match[2]), int(match[3] or 0)
    if hours > 14 or minutes > 59:
        return None
    sign = -1 if match[1] == "-" else 1
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _aware(naive: datetime, zone: tzinfo | None, tz: tzinfo, date_only: bool) -> FeedDate:
    if zone is None:
        return FeedDate(naive.replace(tzinfo=tz), zone_assumed=True, date_only=date_only)
    if date_only:
        # A day with a zone but no time ("Thu, 13 Feb 2025 GMT") is still a day: midnight
        # in the source's zone, as any other date-only value.
        return FeedDate(naive.replace(tzinfo=tz), zone_assumed=True, date_only=True)
    return FeedDate(naive.replace(tzinfo=zone))
