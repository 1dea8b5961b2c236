"""Cron expressions as users write them (five fields, or six with leading seconds) turned
into APScheduler 3 triggers, with crontab's weekday numbering (0 and 7 are Sunday)."""

from __future__ import annotations

import re
from datetime import tzinfo

from apscheduler.triggers.cron import CronTrigger

_DAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
_DAY_INDEX = {name: i for i, name in enumerate(_DAY_NAMES)}


def _day_number(token: str) -> int:
    token = token.strip().lower()
    if token in _DAY_INDEX:
        return _DAY_INDEX[token]
    if not token.isdigit() or int(token) > 7:
        raise ValueError(f"bad day of week {token!r}")
    return int(token) % 7


def _crontab_weekdays(field: str) -> str:
    """Rewrite a crontab day-of-week field into APScheduler's names.

    APScheduler 3 numbers Monday 0 (its documented historical mismatch with crontab), so
    numbers are expanded here into explicit day names, which both agree on.
    """
    if field in ("*", "?"):
        return "*"
    days: set[int] = set()
    for part in field.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            if not step_text.isdigit() or int(step_text) == 0:
                raise ValueError(f"bad step in day of week {field!r}")
            step = int(step_text)
        if part in ("*", ""):
            lo, hi = 0, 6
        elif "-" in part:
            a, b = part.split("-", 1)
            lo, hi = _day_number(a), _day_number(b)
            if b.strip() == "7":
                hi = 7
            if hi < lo:
                raise ValueError(f"bad range in day of week {field!r}")
        else:
            lo = hi = _day_number(part)
        days.update(d % 7 for d in range(lo, hi + 1, step))
    return ",".join(_DAY_NAMES[d] for d in sorted(days))


def cron_trigger(expr: str, timezone: tzinfo | str) -> CronTrigger:
    """Build a trigger from ``expr``; raise ValueError with a short reason when invalid."""
    fields = expr.split()
    if len(fields) == 5:
        second = "0"
        minute, hour, day, month, dow = fields
    elif len(fields) == 6:
        second, minute, hour, day, month, dow = fields
    else:
        raise ValueError(f"expected 5 fields (or 6 with leading seconds), got {len(fields)}")
    if re.search(r"[^\w*/,\-?]", expr.replace(" ", "")):
        raise ValueError("unexpected character")
    return CronTrigger(
        second=second,
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=_crontab_weekdays(dow),
        timezone=timezone,
    )
