"""``defwatch stories show URL``: one story, the group of copies it belongs to, and its
revisions, as plain lines (times in JST)."""

from __future__ import annotations

from datetime import datetime
from typing import IO, TYPE_CHECKING, Any

from core.errors import CommandError
from core.model import JST, Story
from crawler.limits import without_controls

if TYPE_CHECKING:
    from core.config import Config
    from store import Store


def show_story(config: Config, url: str, out: IO[str]) -> None:
    """Print the story stored under ``url`` (any variant of its URL)."""
    from store import Store

    store = Store.open(config.store.url, create=False)
    try:
        story_id = find_story(store, url, [p for s in config.sources for p in s.keep_params])
        if story_id is None:
            raise CommandError(f"stories show: {url} is not in the store", code=2)
        render(store, story_id, out)
    finally:
        store.close()


def find_story(store: Store, url: str, keep_params: list[str]) -> int | None:
    """The id of the story ``url`` names. Parameters some source keeps are tried first,
    then the URL's plain identity."""
    from store import links, url_key

    try:
        keys = [url_key(url, keep_params), url_key(url)] if keep_params else [url_key(url)]
    except ValueError as exc:
        raise CommandError(f"stories show: {url} is not a URL: {exc}", code=2) from None
    with store.engine.connect() as conn:
        return links.find_story_id(conn, keys)


def render(store: Store, story_id: int, out: IO[str]) -> None:
    from store import links

    with store.engine.connect() as conn:
        group = links.group_rows(conn, story_id)
        [text] = links.matching_rows(conn, [story_id])
    story = {**next(r for r in group if r["id"] == story_id), "body": text["body"]}
    origin = group[0]
    lines = [
        f"story      {story['title']}",
        f"url        {story['url']}",
        f"source     {story['source']}",
        f"published  {_when(story['published'])}",
        f"stored     {_when(story['fetched'])}",
        f"updated    {_when(story['updated'])}",
    ]
    if origin["id"] != story_id:
        lines.append(f"copy of    {origin['url']} (similarity {story['similarity']:.2f})")
    lines.append("")
    if len(group) == 1:
        lines.append("copies: none")
    else:
        lines.append(f"copies: {len(group)} stories, origin first")
        for row in group:
            role = "origin    " if row["similarity"] is None else f"copy  {row['similarity']:.2f}"
            here = "  (this story)" if row["id"] == story_id else ""
            lines.append(f"  {role}  {row['source']:<10}  {_when(row['published'])}  {row['url']}{here}")
            lines.append(f"  {'':10}  {row['title']}")
    lines.append("")
    lines.extend(_revision_lines(store.revisions(story_id), story))
    # What a source wrote never reaches the terminal as control codes (an ANSI escape in a
    # title stored before crawler.limits existed, say).
    out.write("\n".join(without_controls(line) for line in lines) + "\n")


def _revision_lines(revisions: list[dict[str, Any]], story: dict[str, Any]) -> list[str]:
    """Oldest first; each says what the next version changed and shows the old title."""
    if not revisions:
        return ["revisions: none"]
    lines = [f"revisions: {len(revisions)}, oldest first"]
    newer: list[dict[str, Any]] = [*revisions[1:], story]
    for old, new in zip(revisions, newer, strict=True):
        changed = [name for name in ("title", "body") if _differs(old, new, name)] or ["text"]
        lines.append(
            f"  {_when(old['valid_from'])} → {_when(old['replaced_at'])}  "
            f"{'+'.join(changed)} changed; was: {old['title']}"
        )
    return lines


def _differs(old: dict[str, Any], new: dict[str, Any], name: str) -> bool:
    from core.text import normalize

    return normalize(old.get(name) or "") != normalize(new.get(name) or "")


def _when(value: datetime | None) -> str:
    return "-" if value is None else value.astimezone(JST).strftime("%Y-%m-%d %H:%M JST")


# -- defwatch stories list | search ----------------------------------------------------------


def list_stories(
    config: Config,
    out: IO[str],
    *,
    sources: list[str],
    rule: str | None,
    since: str | None,
    limit: int,
    as_json: bool,
    text: str | None = None,
) -> int:
    """``stories list`` (newest first, by source, rule and age) and ``stories search TEXT``
    (the web page's search): one line per story, or one JSON document."""
    from datetime import UTC, timedelta

    from core.config import parse_duration
    from feeds.listing import rule_ids
    from feeds.rules import RuleMatcher
    from store import Store, browse, search

    name = "stories search" if text is not None else "stories list"
    known = {s.name for s in config.sources}
    rules = {r.name for r in config.rules}
    for source in sources:
        if source not in known:
            raise CommandError(
                f"{name}: --source {source}: no such source (configured: {', '.join(sorted(known)) or 'none'})"
            )
    if rule is not None and rule not in rules:
        raise CommandError(
            f"{name}: --rule {rule}: no such rule (configured: {', '.join(sorted(rules)) or 'none'})"
        )
    if limit < 1:
        raise CommandError(f"{name}: --limit must be at least 1")
    after = None
    if since is not None:
        try:
            seconds = parse_duration(since)
        except ValueError:
            raise CommandError(
                f'{name}: --since: "{since}" is not a duration (expected e.g. "24h", "7d")'
            ) from None
        if seconds <= 0:
            raise CommandError(f'{name}: --since: "{since}" must be longer than zero')
        after = datetime.now(UTC) - timedelta(seconds=seconds)
    query = None
    if text is not None:
        try:
            query = search.parse(text)
        except search.SearchError as exc:
            raise CommandError(f"{name}: {exc}") from None
        if not query.words:
            raise CommandError(f"{name}: give the words to search for")
    matcher = RuleMatcher(config.rules)
    store = Store.open(config.store.url, create=False)
    try:
        with store.engine.connect() as conn:
            if query is not None:
                ids = search.search(conn, query, sources=sources, limit=limit)
            elif rule is not None:
                ids = rule_ids(conn, matcher, rule, limit, sources=sources, since=after)
            else:
                ids = browse.latest_ids(conn, sources=sources, since=after, limit=limit)
            rows = browse.stories_by_id(conn, ids, full=True)
            marks = browse.copy_marks(conn, ids)
    finally:
        store.close()
    stories = []
    for i in ids:
        row = rows[i]
        mark = marks.get(i)
        stories.append(
            {
                "id": i,
                "url": row["url"],
                "source": row["source"],
                "title": row["title"],
                "published": row["published"].astimezone(JST).isoformat() if row["published"] else None,
                "fetched": row["fetched"].astimezone(JST).isoformat(),
                "rules": sorted(matcher.matches(Story.from_row(row))),
                "copy_of": mark["origin"] if mark and mark["origin"] != i else None,
                "copies": mark["size"] - 1 if mark else 0,
            }
        )
    if as_json:
        import json

        out.write(json.dumps(stories, ensure_ascii=False, indent=2) + "\n")
        return 0
    if not stories:
        out.write(
            "no stories match\n"
            if query is not None or rule or since or sources
            else "no stories stored yet\n"
        )
        return 0
    for s in stories:
        when = _when(datetime.fromisoformat(s["published"] or s["fetched"]))
        tags = "".join(f" [{r}]" for r in s["rules"])
        copy = " (copy)" if s["copy_of"] else (f" (+{s['copies']} copies)" if s["copies"] else "")
        out.write(f"{when}  {s['source']:<10}  {s['title']}{tags}{copy}\n{'':22}{s['url']}\n")
    return 0
