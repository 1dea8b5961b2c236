"""The fault matrix: each case records the figure it measured (``figure(case, text)``), and
the figures are printed as one table at the end of the run (docs/operations.md carries it)."""

from __future__ import annotations

from typing import Any

FIGURES: dict[str, str] = {}


def figure(case: str, text: str) -> None:
    FIGURES[case] = text


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.write_sep("-", "fault matrix: the figure each case measured")
        for case, text in sorted(FIGURES.items()):
            terminalreporter.write_line(f"{case:<44} {text}")
