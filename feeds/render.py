"""Feed files as bytes, and their writing: an entry (a group of stories, or a ranking
movement), one feed as RSS 2.0 and Atom 1.0 (feedgen), and ``index.opml`` listing them.
The same entries always give the same bytes, and a file is rewritten (atomically) only when
its bytes change; which feeds there are and what each shows is feeds.build's business.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape as html_escape
from pathlib import Path
from typing import Protocol
from xml.etree import ElementTree as ET

from core.model import JST, Movement
from store.urls import url_key

__all__ = [
    "EPOCH",
    "FORMATS",
    "JST",
    "TAG",
    "STORY_ID_PATTERN",
    "Entry",
    "Feed",
    "clean_text",
    "entry_id",
    "event_id",
    "event_title",
    "render",
    "render_opml",
    "story_id",
    "write_if_changed",
]

TAG = "tag:defwatch,2025:"  # ids are tag: URIs (RFC 4151), independent of where feeds are served
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # the date of a feed that has never had an entry
FORMATS: dict[str, str] = {"rss": "application/rss+xml", "atom": "application/atom+xml"}

# XML 1.0 cannot carry these at all (lxml refuses them): they are dropped from every text.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
# A story's id in an Atom file this module wrote (see story_id).
STORY_ID_PATTERN = re.compile(r"<entry>\s*<id>" + re.escape(TAG) + r"story:([^<#]*)(?:#[^<]*)?</id>")


class Feed(Protocol):
    """What rendering needs of a feed (feeds.build.FeedSpec is one)."""

    @property
    def path(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def link(self) -> str: ...
    def file(self, fmt: str) -> str: ...


# --------------------------------------------------------------------------------------
# Entries
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    id: str
    title: str
    link: str
    published: datetime
    updated: datetime
    summary: str  # plain text
    also: tuple[tuple[str, str], ...] = ()  # (url, source) of the copies
    categories: tuple[tuple[str, str], ...] = ()  # (scheme, term)

    def content_html(self) -> str:
        parts = [f"<p>{html_escape(self.summary)}</p>"] if self.summary else []
        if self.also:
            items = "".join(
                f'<li><a href="{html_escape(url)}">{html_escape(url)}</a> ({html_escape(src)})</li>'
                for url, src in self.also
            )
            parts.append(f"<p>Also published at:</p><ul>{items}</ul>")
        return "".join(parts)


def story_id(key: str) -> str:
    """The id of the story with this url_key, the same in every build: the guid / Atom id
    of its entry in ``all``, and the start of its entry's id in every feed (entry_id)."""
    return f"{TAG}story:{key.removeprefix('//')}"


def event_id(movement: Movement) -> str:
    """A ranking movement's id, from what identifies it (not its row id, which a recompute
    of the movements may change)."""
    m = movement
    at = m.at.astimezone(UTC).isoformat()
    raw = "|".join((m.source, m.window, m.kind, url_key(m.url), at))
    return f"{TAG}ranking:{m.window}:{hashlib.sha256(raw.encode()).hexdigest()[:24]}"


def clean_text(text: str | None) -> str:
    return _NOT_XML.sub("", text or "")


def event_title(movement: Movement) -> str:
    rank, prev, title = movement.rank, movement.previous_rank, clean_text(movement.title)
    kind = movement.kind
    if kind == "new_1":
        return f"New #1: {title}"
    if kind == "entered":
        return f"Entered at #{rank}: {title}"
    if kind == "returned":
        return f"Back at #{rank}: {title}"
    if kind == "climbed":
        return f"Up to #{rank} from #{prev}: {title}"
    if kind == "fell":
        return f"Down to #{rank} from #{prev}: {title}"
    if kind == "left":
        return f"Left the ranking (was #{prev}): {title}"
    return f"{kind} #{rank}: {title}"


# --------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------


def render(spec: Feed, entries: Sequence[Entry], base_url: str) -> dict[str, bytes]:
    """One feed as RSS 2.0 and Atom 1.0 bytes, by format; the same entries always give
    the same bytes."""
    from feedgen.feed import FeedGenerator  # here: a cycle that renders no feed does not load it

    fg = FeedGenerator()
    fg.id(f"{TAG}feed:{spec.path}")
    fg.title(spec.title)
    fg.description(spec.description)
    fg.language("ja")
    fg.author(name="defwatch")
    fg.generator("defwatch")
    fg.updated(max((e.updated for e in entries), default=EPOCH).astimezone(JST))
    for e in entries:
        fe = fg.add_entry(order="append")
        fe.id(entry_id(spec, e.id))
        fe.guid(entry_id(spec, e.id), permalink=False)
        fe.title(clean_text(e.title) or "(untitled)")
        fe.link(href=e.link, rel="alternate")
        fe.published(e.published)
        fe.updated(e.updated)
        if e.summary:
            # RSS readers take description as HTML: escaped once, it shows as text.
            fe.summary(f"<p>{html_escape(e.summary)}</p>", type="html")
        if e.also:
            fe.content(e.content_html(), type="html")
        for scheme, term in e.categories:
            fe.category(term=term, scheme=f"{TAG}{scheme}", label=f"{scheme}: {term}")
    out: dict[str, bytes] = {}
    for fmt, mime in FORMATS.items():
        # The alternate link goes last: feedgen makes the last link the RSS channel link.
        fg.link(
            [
                {"href": f"{base_url}{spec.file(fmt)}", "rel": "self", "type": mime},
                {"href": spec.link, "rel": "alternate"},
            ],
            replace=True,
        )
        out[fmt] = fg.rss_str(pretty=True) if fmt == "rss" else fg.atom_str(pretty=True)
    return out


def entry_id(spec: Feed, story_or_event: str) -> str:
    """The guid / Atom id of an entry in one feed: the story's (or movement's) id in
    ``all``, with the feed's path as a fragment elsewhere. Readers keep one item per id
    across all their subscriptions (newsboat moves it to the feed read last), so a story in
    all.rss and in a rule's feed under one id would leave one of the two feeds empty."""
    return story_or_event if spec.path == "all" else f"{story_or_event}#{spec.path}"


def render_opml(specs: Sequence[Feed], base_url: str, fmt: str = "rss") -> bytes:
    """index.opml: one outline per feed (its RSS file, or its Atom file), with its title,
    grouped by kind: a reader importing it subscribes to each feed once."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = "defwatch feeds"
    body = ET.SubElement(root, "body")
    groups = {"all": "All stories", "source": "Sources", "rule": "Rules", "ranking": "Ranking movements"}
    for kind, label in groups.items():
        members = [s for s in specs if s.kind == kind]
        if not members:
            continue
        folder = ET.SubElement(body, "outline", text=label, title=label)
        for s in members:
            ET.SubElement(
                folder,
                "outline",
                type="rss",
                version="RSS2" if fmt == "rss" else "ATOM",
                text=s.title,
                title=s.title,
                xmlUrl=f"{base_url}{s.file(fmt)}",
                htmlUrl=s.link,
            )
    ET.indent(root)
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True) + b"\n"


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` through a temporary file and a rename, unless the file
    already holds exactly these bytes. True when the file was written."""
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; the feeds are for anyone to read
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True
