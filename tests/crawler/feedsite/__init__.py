"""Serving the feed imitation (``imitations.feed``) for the ``feed`` and ``page`` spider
tests, and writing configurations that point at it."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imitations.feed import HUGE_SIZE, FeedSite
from imitations.feed.articles import ARTICLES, render
from imitations.server import Hit, SiteServer
from store import Store
from tests.conftest import Defwatch

__all__ = ["ARTICLES", "HUGE_SIZE", "FeedSite", "render"]

# --------------------------------------------------------------------------------------
# Serving it, and writing configurations that point at it
# --------------------------------------------------------------------------------------


class LocalSite:
    """The running site: its URLs, the requests it answered, its epoch."""

    def __init__(self, server: SiteServer, app: FeedSite) -> None:
        self.server = server
        self.app = app

    def url(self, path: str = "/") -> str:
        return self.server.url("feeds", path)

    @property
    def origin(self) -> str:
        return self.url("").rstrip("/")

    def hits(self, path: str | None = None) -> list[Hit]:
        return [h for h in self.server.hits_for("feeds") if path is None or h.path == path]

    def reset(self) -> None:
        self.app.epoch = 0
        self.app.streamed.clear()
        self.server.clear_hits()


@contextmanager
def serve() -> Iterator[LocalSite]:
    app = FeedSite()
    with SiteServer({"feeds": app}) as server:
        yield LocalSite(server, app)


def source_toml(**keys: Any) -> str:
    """One ``[[sources]]`` table; strings, booleans and integers as TOML writes them."""
    lines = ["[[sources]]"]
    for key, value in keys.items():
        text = str(value).lower() if isinstance(value, bool) else json.dumps(value, ensure_ascii=False)
        lines.append(f"{key} = {text}")
    return "\n".join(lines) + "\n"


def config_toml(*sources: str) -> str:
    """A configuration for tests: the store in the working directory, no throttling."""
    head = '[store]\nurl = "sqlite:///defwatch.db"\n\n[crawl]\nallow_private = true\nautothrottle = false\ntimeout = "10s"\n'
    return "\n".join([head, *sources])


ROOT = Path(__file__).resolve().parents[3]
DOCS = ROOT / "docs" / "sources.md"
README = ROOT / "README.md"
_TOML_FENCE = re.compile(r"^```toml\n(.*?)^```", re.MULTILINE | re.DOTALL)


def documented_recipes(kind: str) -> list[str]:
    """The ```toml blocks of the README and docs/sources.md whose sources are all of ``kind``."""
    blocks: list[str] = []
    for doc in (README, DOCS):
        for block in _TOML_FENCE.findall(doc.read_text(encoding="utf-8")):
            sources = tomllib.loads(block).get("sources", [])
            if sources and {s["kind"] for s in sources} == {kind} and block not in blocks:
                blocks.append(block)
    return blocks


def pointed_at(recipe: str, origin: str) -> str:
    """The recipe with every source URL's scheme and host replaced by ``origin``."""
    return re.sub(r'^(url\s*=\s*")https?://[^/"]+', rf"\g<1>{origin}", recipe, flags=re.MULTILINE)


@dataclass
class Crawls:
    """What a series of ``defwatch crawl`` runs did, and what the site saw of each."""

    db: Path
    results: list[subprocess.CompletedProcess[str]]
    hits: list[list[Hit]]
    streamed: dict[str, int]  # bytes each streamed answer sent, over all the runs

    def runs(self, source: str) -> list[dict[str, Any]]:
        """The source's runs, oldest first."""
        with Store.open(f"sqlite:///{self.db}") as store:
            return list(reversed(store.runs(source, limit=20)))

    def stories(self, source: str) -> dict[str, dict[str, Any]]:
        """The source's stories by URL path."""
        with Store.open(f"sqlite:///{self.db}") as store:
            return {s["url"].split("/", 3)[3]: s for s in store.stories(source)}


def crawl_series(site: LocalSite, workdir: Path, config: str, epochs: list[int]) -> Crawls:
    """Crawl every configured source once per epoch, in one working directory."""
    defwatch = Defwatch(workdir)
    defwatch.write_config(config)
    results, hits = [], []
    for epoch in epochs:
        site.server.clear_hits()
        site.app.epoch = epoch
        results.append(defwatch("crawl", timeout=60))
        hits.append(site.hits())
    streamed = dict(site.app.streamed)
    site.reset()
    return Crawls(workdir / "defwatch.db", results, hits, streamed)
