"""Feed files from the store: ``all``, one per source, per rule and per ranking window, each
as RSS 2.0 and Atom 1.0 (feedgen), and ``index.opml`` listing them (docs/interface.md "Feeds").

A feed entry is a group of stories: the origin, with its copies' URLs in the content. Its
id comes from the origin's url_key, its ``updated`` from the origin's last revision or the
last copy linked to it, and a feed's own date from its newest entry, so an unchanged store
renders byte-identical files, and a file is rewritten (atomically) only when its bytes
change: Last-Modified and ETag stay meaningful for the readers polling it.

This module decides which feeds exist and what each shows, and drives a build;
feeds.rules finds what the rules match, and feeds.render turns entries into bytes and
writes them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from html import unescape
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape as xml_escape

from core.config import RANKING_WINDOWS
from core.model import Movement, Story
from core.text import summarize
from feeds.render import (
    FORMATS,
    JST,
    STORY_ID_PATTERN,
    Entry,
    clean_text,
    event_id,
    event_title,
    render,
    render_opml,
    story_id,
    write_if_changed,
)
from feeds.rules import RuleMatcher, rule_groups
from feeds.story_index import Groups, StoryIndex
from store import feeds as sql
from store.rankings import recent_events

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from core.config import Config
    from store.db import Store

# FORMATS and story_id are feeds.render's, importable from here as they always were.
__all__ = [
    "FORMATS",
    "BuildReport",
    "FeedSpec",
    "build_all",
    "build_changed",
    "build_due",
    "feed_specs",
    "story_id",
]

log = logging.getLogger(__name__)

SUMMARY_CHARS = 300
SUBFOLDERS = ("sources", "rules", "ranking")


# --------------------------------------------------------------------------------------
# What is built
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedSpec:
    """One feed, written in both formats: ``<path>.rss`` and ``<path>.atom``."""

    path: str  # "all", "sources/mod", "rules/asean", "ranking/24h"
    kind: str  # all | source | rule | ranking
    name: str  # the source, rule or window; "all" for all
    title: str
    description: str
    link: str  # the page the feed is about (its alternate link)

    def file(self, fmt: str) -> str:
        return f"{self.path}.{fmt}"


@dataclass
class BuildReport:
    """What a build did, relative paths under the feed folder."""

    folder: Path
    built: list[str] = field(default_factory=list)  # feeds recomputed (paths without extension)
    written: list[str] = field(default_factory=list)  # files whose content changed
    unchanged: list[str] = field(default_factory=list)  # files recomputed, byte-identical
    removed: list[str] = field(default_factory=list)  # files of feeds no longer configured
    seconds: float = 0.0


def _base(config: Config) -> str:
    base = config.feeds.base_url
    return base if base.endswith("/") else base + "/"


def feed_specs(config: Config) -> list[FeedSpec]:
    """Every feed the configuration asks for, in index order."""
    base = _base(config)
    specs = [
        FeedSpec(
            "all", "all", "all", "defwatch: all stories", "Every story defwatch stored, newest first", base
        )
    ]
    for s in config.sources:
        specs.append(
            FeedSpec(
                f"sources/{s.name}",
                "source",
                s.name,
                f"defwatch: {s.name}",
                f"Stories from {s.name} ({s.url}), newest first",
                s.url,
            )
        )
    for r in config.rules:
        specs.append(
            FeedSpec(
                f"rules/{r.name}",
                "rule",
                r.name,
                f"defwatch: rule {r.name}",
                f"What the rule {r.name} matched, newest first",
                base,
            )
        )
    for w in RANKING_WINDOWS:
        specs.append(
            FeedSpec(
                f"ranking/{w}",
                "ranking",
                w,
                f"defwatch: ranking movements ({w})",
                f"Stories entering, leaving, climbing and falling in the {w} reading rankings",
                base,
            )
        )
    return specs


# --------------------------------------------------------------------------------------
# The build
# --------------------------------------------------------------------------------------


class _Builder:
    def __init__(self, config: Config, store: Store) -> None:
        self.config = config
        self.store = store
        self.folder = Path(config.feeds.dir)
        self.base = _base(config)
        self.limit = config.feeds.max_items
        self.specs = feed_specs(config)
        self.tz: dict[str, tzinfo] = {s.name: s.tz for s in config.sources}
        self.matcher = RuleMatcher(config.rules)
        self._events: dict[str, list[Movement]] = {}
        self._changed: set[int] | None = None  # stories changed since the last build, if known

    def zone(self, source: str) -> tzinfo:
        return self.tz.get(source, JST)

    # -- choosing what to build -------------------------------------------------------------
    def changed_specs(self, conn: Connection, since: datetime) -> list[FeedSpec]:
        """The feeds whose data changed since ``since``, and any whose files are missing."""
        changed = sql.changed_since(conn, since)
        touched: set[int] = set(changed)
        self._changed = changed
        if changed:
            groups = Groups(sql.copy_links(conn))
            for sid in changed:
                touched.update(groups.members(groups.group_of(sid)))
        rows = sql.entry_rows(conn, touched) if touched else {}
        sources = {r.source for r in rows.values()}
        rules: set[str] = set()
        for row in rows.values():
            rules |= self.matcher.matches(row)
        # A story may also leave a feed (it became a copy, or a revision no longer matches
        # a rule): any feed whose file shows a changed story is rebuilt too.
        ids = [xml_escape(story_id(rows[i].url_key)).encode() for i in changed if i in rows]
        windows: set[str] = set()
        for w in RANKING_WINDOWS:
            if recent_events(self.store, None, w, 1, since=since):
                windows.add(w)
        if windows:
            rules.update(self.matcher.ranking_rules)
        names = {"all": {"all"} if changed else set(), "source": sources, "rule": rules, "ranking": windows}
        return [
            spec
            for spec in self.specs
            if spec.name in names[spec.kind]
            or any(not (self.folder / spec.file(f)).exists() for f in FORMATS)
            or (spec.kind in ("source", "rule") and ids and self._shows_any(spec, ids))
        ]

    def updated_rules(
        self, conn: Connection, index: StoryIndex, names: Sequence[str]
    ) -> tuple[dict[str, list[int]], list[str]]:
        """Rule feeds brought up to date without reading every story: what the file
        shows, plus the changed stories' groups that match now. A feed where a group it
        showed no longer matches (or is gone, or the file cannot be read) needs a full
        search: an older match may have to fill its place. Returns the updated feeds'
        groups and the rules left to search."""
        touched = {index.group_of(s) for s in self._changed or ()}
        rows = sql.entry_rows(conn, {m for g in touched for m in index.members(g)})
        done: dict[str, list[int]] = {}
        left: list[str] = []
        for name in names:
            shown = self._shown_groups(conn, index, f"rules/{name}")
            if shown is None or name not in self.matcher.bit:
                left.append(name)
                continue

            def matches(group: int, rule: str = name) -> bool:
                return any(m in rows and rule in self.matcher.matches(rows[m]) for m in index.members(group))

            if not all(g in index.position and (g not in touched or matches(g)) for g in shown):
                left.append(name)
                continue
            groups = shown | {g for g in touched if g in index.position and matches(g)}
            done[name] = sorted(groups, key=index.position.__getitem__)[: self.limit]
        return done, left

    def _shown_groups(self, conn: Connection, index: StoryIndex, path: str) -> set[int] | None:
        """The groups (origins, as they are now) a feed file shows, None if unreadable."""
        try:
            data = (self.folder / f"{path}.atom").read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        keys = ["//" + unescape(k) for k in STORY_ID_PATTERN.findall(data)]
        found = sql.ids_by_url_key(conn, keys)
        if len(found) != len(set(keys)):
            return None  # a story the file shows is gone
        return {index.group_of(i) for i in found.values()}

    def _shows_any(self, spec: FeedSpec, ids: Sequence[bytes]) -> bool:
        try:
            data = (self.folder / spec.file("atom")).read_bytes()
        except OSError:
            return True
        return any(i in data for i in ids)

    # -- entries ----------------------------------------------------------------------------
    def story_entries(
        self, conn: Connection, index: StoryIndex, chosen: dict[FeedSpec, list[int]]
    ) -> dict[FeedSpec, list[Entry]]:
        origins = {o for groups in chosen.values() for o in groups}
        members = {m for o in origins for m in index.members(o)}
        rows = sql.entry_rows(conn, members)
        entries: dict[int, Entry] = {}
        for origin in origins:
            if origin in rows:
                entries[origin] = self.story_entry(index, rows, origin)
        return {spec: [entries[o] for o in groups if o in entries] for spec, groups in chosen.items()}

    def story_entry(self, index: StoryIndex, rows: Mapping[int, Story], origin: int) -> Entry:
        row = rows[origin]
        copies = [rows[c] for c in index.copies.get(origin, ()) if c in rows]
        zone = self.zone(row.source)
        published = row.published or row.fetched
        assert published is not None and row.updated is not None  # a stored story has both times
        updated = max([row.updated, *(index.linked_at[c.id] for c in copies)])
        rules: set[str] = set()
        for member in (row, *copies):
            rules |= self.matcher.matches(member)
        categories = [("source", row.source)]
        if row.section:
            categories.append(("section", clean_text(row.section)))
        categories += [("rule", name) for name in sorted(rules)]
        summary = row.summary or (summarize(row.body, SUMMARY_CHARS) if row.body else "")
        return Entry(
            id=story_id(row.url_key),
            title=clean_text(row.title),
            link=row.link or row.url,  # as the site gave it
            published=published.astimezone(zone),
            updated=updated.astimezone(zone),
            summary=clean_text(summary),
            also=tuple((c.link or c.url, c.source) for c in copies),
            categories=tuple(categories),
        )

    def events(self, window: str) -> list[Movement]:
        if window not in self._events:
            # A rule feed of movements filters them: read more than one feed shows.
            self._events[window] = recent_events(self.store, None, window, max(self.limit * 5, 200))
        return self._events[window]

    def event_entry(self, event: Movement) -> Entry:
        zone = self.zone(event.source)
        at = event.at.astimezone(zone)
        rank = f"#{event.rank}" if event.rank is not None else "off the list"
        summary = f"{event.source} {event.window} ranking: {clean_text(event.title)} ({rank})"
        return Entry(
            id=event_id(event),
            title=event_title(event),
            link=event.url,
            published=at,
            updated=at,
            summary=summary,
            categories=(
                ("source", event.source),
                ("window", event.window),
                ("movement", event.kind),
            ),
        )

    def ranking_entries(self, spec: FeedSpec) -> list[Entry]:
        return [self.event_entry(e) for e in self.events(spec.name)[: self.limit]]

    def rule_event_entries(self, name: str) -> list[Entry]:
        if name not in self.matcher.ranking_rules:
            return []
        return [
            self.event_entry(e)
            for w in RANKING_WINDOWS
            for e in self.events(w)
            if name in self.matcher.ranking_matches(e)
        ]

    # -- the whole build --------------------------------------------------------------------
    def build(self, since: datetime | None) -> BuildReport:
        started = time.perf_counter()
        report = BuildReport(self.folder)
        with self.store.engine.connect() as conn:
            # One connection, one read transaction: every feed sees the same store.
            specs = self.specs if since is None else self.changed_specs(conn, since)
            story_feeds: dict[FeedSpec, list[Entry]] = {}
            if any(spec.kind != "ranking" for spec in specs):
                index = StoryIndex(sql.story_order(conn), sql.copy_links(conn))
                rules = [s.name for s in specs if s.kind == "rule"]
                by_rule: dict[str, list[int]] = {}
                if rules and since is not None:
                    by_rule, rules = self.updated_rules(conn, index, rules)
                if rules:
                    by_rule.update(rule_groups(conn, index, self.matcher, rules, self.limit))
                chosen: dict[FeedSpec, list[int]] = {}
                for spec in specs:
                    if spec.kind == "all":
                        chosen[spec] = index.newest(self.limit)
                    elif spec.kind == "source":
                        chosen[spec] = index.newest(self.limit, spec.name)
                    elif spec.kind == "rule":
                        chosen[spec] = by_rule.get(spec.name, [])
                story_feeds = self.story_entries(conn, index, chosen)
        for spec in specs:
            if spec.kind == "ranking":
                entries = self.ranking_entries(spec)
            else:
                entries = story_feeds[spec]
                if spec.kind == "rule":
                    entries = self._merge(entries, self.rule_event_entries(spec.name))
            self._write(spec, entries, report)
        self._write_file(
            "index.opml", render_opml(self.specs, self.base, self.config.feeds.opml_format), report
        )
        if since is None:
            self._prune(report)
        report.seconds = time.perf_counter() - started
        log.info(
            "feeds: %d built, %d files written, %d unchanged (%.2f s)",
            len(report.built),
            len(report.written),
            len(report.unchanged),
            report.seconds,
        )
        return report

    def _merge(self, stories: list[Entry], events: list[Entry]) -> list[Entry]:
        if not events:
            return stories
        merged = sorted(stories + events, key=lambda e: (e.published, e.id), reverse=True)
        return merged[: self.limit]

    def _write(self, spec: FeedSpec, entries: Sequence[Entry], report: BuildReport) -> None:
        report.built.append(spec.path)
        for fmt, data in render(spec, entries, self.base).items():
            self._write_file(spec.file(fmt), data, report)

    def _write_file(self, name: str, data: bytes, report: BuildReport) -> None:
        if write_if_changed(self.folder / name, data):
            report.written.append(name)
        else:
            report.unchanged.append(name)

    def _prune(self, report: BuildReport) -> None:
        """Remove the files of feeds no longer configured (a rule or source taken out)."""
        expected = {spec.file(fmt) for spec in self.specs for fmt in FORMATS}
        for sub in SUBFOLDERS:
            folder = self.folder / sub
            if not folder.is_dir():
                continue
            for path in sorted(folder.iterdir()):
                rel = f"{sub}/{path.name}"
                if path.suffix[1:] in FORMATS and path.is_file() and rel not in expected:
                    path.unlink()
                    report.removed.append(rel)


def build_all(config: Config, store: Store) -> BuildReport:
    """Rebuild every feed and index.opml from the store; remove feeds no longer configured."""
    return _Builder(config, store).build(since=None)


def build_changed(config: Config, store: Store, since: datetime) -> BuildReport:
    """Rebuild only the feeds whose data changed at or after ``since`` (stories saved or
    revised, copies linked, ranking movements), plus any feed whose files are missing;
    what a crawl calls when it is done, with ``since`` the time the crawl started."""
    return _Builder(config, store).build(since=since)


# What build_due keeps beside the feeds: when its last build began reading the store, the
# last full one, and a digest of what shapes the feeds (a hidden file: never a feed).
LAST_BUILD = ".last-build.json"
FULL_EVERY = timedelta(days=1)  # a full build at least this often, whatever the records say


def build_due(config: Config, store: Store) -> BuildReport:
    """Rebuild what changed since the last ``build_due`` (what ``run --once`` does after its
    crawl): the feeds whose stories, copies or ranking movements changed since that build
    began, and any whose files are missing, as the daemon does after each crawl. Everything
    is rebuilt when there is no record of that build beside the feeds (or it cannot be
    read), when the configuration's sources, rules or ``[feeds]`` or defwatch's version
    changed since, or when the last full build is a day old. An unchanged cycle then reads
    a few indexed rows instead of rendering every feed to compare it with its file.

    Its callers hold the store's lock, with no crawl running: every story saved before
    ``started`` is committed when the build reads the store."""
    started = datetime.now(UTC)
    folder = Path(config.feeds.dir)
    digest = _shape(config)
    last = _read_last_build(folder / LAST_BUILD)
    since: datetime | None = None
    full = started
    if (
        last is not None
        and last["shape"] == digest
        and started - FULL_EVERY <= last["full"] <= last["since"] <= started
    ):
        since, full = last["since"], last["full"]
    report = _Builder(config, store).build(since=since)
    record = {"since": started.isoformat(), "full": full.isoformat(), "shape": digest}
    text = json.dumps(record, indent=1) + "\n"
    write_if_changed(folder / LAST_BUILD, text.encode("utf-8"))
    return report


def _shape(config: Config) -> str:
    """A digest of what decides the feeds' content besides the store: the configuration's
    sources, rules and ``[feeds]``, defwatch's version, and the code that renders them (an
    edited checkout keeps its version)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version("defwatch")
    except PackageNotFoundError:
        installed = "unknown"
    here = Path(__file__).parent
    code = [(p.name, p.stat().st_mtime_ns) for p in sorted(here.glob("*.py"))]
    shape = repr((installed, code, config.feeds, config.rules, config.sources))
    return hashlib.sha256(shape.encode("utf-8")).hexdigest()


def _read_last_build(path: Path) -> dict[str, Any] | None:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        since, full = datetime.fromisoformat(raw["since"]), datetime.fromisoformat(raw["full"])
        if since.tzinfo is None or full.tzinfo is None:
            raise ValueError("a time without its zone")
        return {"since": since, "full": full, "shape": str(raw["shape"])}
    except (OSError, ValueError, KeyError, TypeError):  # none yet, or damaged: a full build
        return None
