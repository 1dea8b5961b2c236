"""What a reader checked about what it read: each reader returns its result with the checks
it passed and failed, so a caller can refuse a half-read result and say exactly why."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Check", "failures", "summary"]


@dataclass(frozen=True)
class Check:
    """One self-check: its name (``ranks``, ``body-coverage``...), whether it passed, and
    what was seen (the reason a user reads when it failed)."""

    name: str
    passed: bool
    detail: str = ""

    def __str__(self) -> str:
        mark = "ok" if self.passed else "FAILED"
        return f"{mark} {self.name}" + (f": {self.detail}" if self.detail else "")


def failures(checks: Iterable[Check]) -> list[Check]:
    return [c for c in checks if not c.passed]


def summary(checks: Iterable[Check]) -> str:
    """The failed checks as one line (``"count: 1 article, expected 5-20; ranks: ..."``)."""
    return "; ".join(f"{c.name}: {c.detail}" for c in failures(checks))
