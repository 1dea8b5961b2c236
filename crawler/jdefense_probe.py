"""Step 2 of the ``jdefense`` spider, the id probe: ``/docs/<section>/NNNNNN.html`` for the
ids after the highest one known, until ``probe_misses`` ids in a row answer nothing (a 404
gap is stepped over) or ``probe_max`` ids have been tried."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import scrapy

from crawler.base import DefwatchSpider
from crawler.jdefense_read import ArticleRef

__all__ = ["ID_DIGITS", "IdProbe", "Probe"]

ID_DIGITS = 6


@dataclass
class Probe:
    """The id probe's state: ids tried, and for each id the sections still to answer."""

    next_id: int  # the next id to try
    highest_hit: int  # the highest id found so far (the start when nothing was found)
    tried: int = 0
    pending: dict[int, int] = field(default_factory=dict)  # id -> answers still due
    found: set[int] = field(default_factory=set)  # ids that exist (answered, or redirected)
    missed: set[int] = field(default_factory=set)  # ids every section answered 404 to
    failed: set[int] = field(default_factory=set)  # ids with an error and no hit


class IdProbe(DefwatchSpider):
    """Mixed into the spider, which sets these in its ``__init__``."""

    articles: dict[str, ArticleRef]
    requested: set[str]
    sections: list[str]
    site: str
    probe: Probe | None
    probe_misses: int
    probe_max: int

    def article_ref(self, url: str, *, any_host: bool = False) -> ArticleRef | None:
        raise NotImplementedError

    def article_request(self, ref: ArticleRef, *, probe_id: int | None = None) -> scrapy.Request:
        raise NotImplementedError

    def start_probe(self) -> Iterator[scrapy.Request]:
        ids = [int(r.id) for r in self.articles.values()]
        # The stored article with the highest id: asked of the store, highest first, so the
        # cost does not grow with the stories stored.
        for url in self.store.urls_by_number(self.source.name, ID_DIGITS, ".html"):
            ref = self.article_ref(url, any_host=True)
            if ref is not None:
                ids.append(int(ref.id))
                break
        if not ids:
            self.count("probe_no_start")
            return
        start = max(ids)
        self.probe = Probe(next_id=start + 1, highest_hit=start)
        yield from self.extend_probe()

    def extend_probe(self) -> Iterator[scrapy.Request]:
        """Probe the ids up to ``probe_misses`` past the highest one found."""
        probe = self.probe
        assert probe is not None
        while probe.next_id <= probe.highest_hit + self.probe_misses and probe.tried < self.probe_max:
            n = probe.next_id
            probe.next_id += 1
            probe.tried += 1
            self.count("probe_ids")
            refs = [
                ArticleRef(f"{self.site}/docs/{s}/{n:0{ID_DIGITS}d}.html", s, f"{n:0{ID_DIGITS}d}", {"probe"})
                for s in self.sections
            ]
            if any(r.url in self.requested for r in refs):
                probe.found.add(n)  # already requested by a link: it exists
                probe.highest_hit = max(probe.highest_hit, n)
                continue
            probe.pending[n] = len(refs)
            for ref in refs:
                yield self.article_request(ref, probe_id=n)
        if probe.tried >= self.probe_max and probe.next_id <= probe.highest_hit + self.probe_misses:
            self.count("probe_max_reached")

    def probe_answer(self, probe_id: int | None, *, found: bool, failed: bool = False) -> Iterator[Any]:
        probe = self.probe
        if probe_id is None or probe is None or probe_id not in probe.pending:
            return
        probe.pending[probe_id] -= 1
        if found:
            probe.found.add(probe_id)
        elif failed:
            probe.failed.add(probe_id)
        if probe.pending[probe_id] > 0:
            return
        del probe.pending[probe_id]
        if probe_id in probe.found:
            probe.failed.discard(probe_id)
            if probe_id > probe.highest_hit:
                probe.highest_hit = probe_id
                yield from self.extend_probe()
        elif probe_id not in probe.failed:
            probe.missed.add(probe_id)
            self.count("probe_miss")

    def count_probe_gaps(self) -> None:
        """Ids below the highest found that every section answered 404 to."""
        if self.probe is not None:
            gaps = [n for n in self.probe.missed if n < self.probe.highest_hit]
            if gaps:
                self.count("probe_gap", len(gaps))
