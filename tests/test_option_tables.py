"""The option tables of docs/sources.md and docs/alerts.md are the declarations of
core/sources/ and core/channels/: made anew, each doc is unchanged (else: `make docs`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.channels import TYPES
from core.option_tables import DOCS, render, tables
from core.sources import KINDS

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("doc", DOCS)
def test_the_docs_tables_are_the_declarations(doc: str) -> None:
    text = (ROOT / doc).read_text(encoding="utf-8")
    assert render(text) == text, f"{doc}: its option tables differ from the declarations; run `make docs`"


def test_every_kind_and_type_has_its_table_in_the_docs() -> None:
    text = "".join((ROOT / doc).read_text(encoding="utf-8") for doc in DOCS)
    names = [
        "sources",
        "channels",
        *(f"source {k.kind}" for k in KINDS),
        *(f"channel {t.type}" for t in TYPES),
    ]
    assert sorted(names) == sorted(tables())
    missing = [name for name in names if f"<!-- options: {name} -->" not in text]
    assert not missing, f"no table in the docs for: {', '.join(missing)}"


def test_a_changed_declaration_shows_as_a_difference() -> None:
    text = (ROOT / "docs/sources.md").read_text(encoding="utf-8")
    made = tables()
    made["source feed"] = made["source feed"].replace("`1000`", "`2000`")
    assert "`2000`" in render(text, made) and render(text, made) != text
