"""Cron expressions use crontab's weekday numbers (0 and 7 are Sunday), unlike APScheduler 3."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from core.cron import cron_trigger

JST = ZoneInfo("Asia/Tokyo")
SATURDAY = datetime(2025, 10, 18, 12, 1, tzinfo=JST)


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("0 9 * * 0", datetime(2025, 10, 19, 9, 0, tzinfo=JST)),  # Sunday
        ("0 9 * * 7", datetime(2025, 10, 19, 9, 0, tzinfo=JST)),  # Sunday too
        ("0 9 * * 1-5", datetime(2025, 10, 20, 9, 0, tzinfo=JST)),  # next Monday
        ("0 9 * * mon", datetime(2025, 10, 20, 9, 0, tzinfo=JST)),
        ("*/15 * * * *", datetime(2025, 10, 18, 12, 15, tzinfo=JST)),
        ("30 * * * * *", datetime(2025, 10, 18, 12, 1, 30, tzinfo=JST)),  # seconds field
    ],
    ids=["sun-0", "sun-7", "weekdays", "name", "every-15", "seconds"],
)
def test_next_fire_time(expr: str, expected: datetime) -> None:
    assert cron_trigger(expr, JST).get_next_fire_time(None, SATURDAY) == expected


@pytest.mark.parametrize("expr", ["*/61 * * * *", "* * * *", "0 9 * * 8", "0 25 * * *", "x * * * *"])
def test_invalid(expr: str) -> None:
    with pytest.raises(ValueError):
        cron_trigger(expr, JST)
