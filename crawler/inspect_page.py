"""``defwatch inspect URL``: what each reader extracts from one page and by which route, and
which checks passed or failed. How a user verifies a real site on day one, and what a bug
report attaches (``--file`` reads a page kept under the data folder)."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import tzinfo
from typing import TextIO
from urllib.parse import urlsplit

from crawler.checks import Check
from crawler.extract_article import links, parse_page, read_article
from crawler.jdefense_read import ARTICLE_PATH, ARTICLE_SHAPE, ArticleUrls, ranking_block
from crawler.mod_parse import is_challenge
from crawler.selectors import article_selectors
from crawler.url_shape import link_lists, listing_problem

__all__ = ["Fetched", "challenge_note", "fetch", "inspect_page"]


@dataclass(frozen=True)
class Fetched:
    """A page as the server answered it (an HTTP error status too: a challenge is one)."""

    status: int
    headers: dict[str, str]
    body: bytes
    charset: str = "utf-8"

    @property
    def text(self) -> str:
        return self.body.decode(self.charset, errors="replace")


def fetch(url: str, user_agent: str, timeout: float) -> Fetched:
    """``url`` as the crawl would see it; raises OSError when nothing answered."""
    request = urllib.request.Request(url, headers={"User-Agent": user_agent})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Fetched(
                response.status,
                {k.lower(): v for k, v in response.headers.items()},
                response.read(),
                response.headers.get_content_charset() or "utf-8",
            )
    except urllib.error.HTTPError as exc:
        with exc:
            return Fetched(
                exc.code,
                {k.lower(): v for k, v in (exc.headers or {}).items()},
                exc.read(),
                exc.headers.get_content_charset() or "utf-8" if exc.headers else "utf-8",
            )


def challenge_note(url: str, answer: Fetched, out: TextIO) -> bool:
    """Say so when ``answer`` is a bot challenge, not the page (True then), as the crawl
    tells them apart (crawler.mod_parse.is_challenge)."""
    if not is_challenge(answer.status, answer.headers, answer.body):
        return False
    how = f"HTTP {answer.status}" + (
        ", cf-mitigated: challenge"
        if answer.headers.get("cf-mitigated", "").strip().lower() == "challenge"
        else ""
    )
    print(f"page: {url}", file=out)
    print(f"FAILED challenge: the site answered with a bot challenge ({how}), not the page", file=out)
    print(
        "  nothing on it can be read from here. The crawl keeps a mod feed item whose page is\n"
        "  challenged as a title-only story from the feed (title, date, URL as given), and a\n"
        "  listing route challenged run after run is a known limit shown by `defwatch status`.",
        file=out,
    )
    return True


def inspect_page(
    html: str,
    url: str,
    kind: str,
    tz: tzinfo,
    out: TextIO,
    selectors: Mapping[str, str] | None = None,
) -> int:
    """Print what the readers of ``kind`` read on the page; 0 when every check passed, 1 when
    one failed."""
    if kind == "feed" or (
        kind == "mod" and html.lstrip()[:200].lower().startswith(("<?xml", "<rss", "<feed"))
    ):
        return _inspect_feed(html, url, out)
    page = parse_page(html, url)
    if page is None:
        print("not HTML: nothing to read", file=out)
        return 1
    failed = 0
    is_article = ArticleUrls(urlsplit(url).netloc.lower())
    block = ranking_block(page, is_article, selectors) if kind == "jdefense" else None
    fields = read_article(
        page, tz=tz, exclude=block.elements() if block else (), selectors=article_selectors(selectors)
    )
    print(f"page: {url}", file=out)
    print(f"title: {fields.title!r} (by {fields.routes.get('title', '-')})", file=out)
    published = fields.published.isoformat() if fields.published else None
    print(f"date: {published} (by {fields.routes.get('published', '-')})", file=out)
    print(f"categories: {fields.categories} (by {fields.routes.get('categories', '-')})", file=out)
    in_url = ARTICLE_PATH.match(urlsplit(url).path) if kind == "jdefense" else None
    section, by = (
        (in_url["section"], "url") if in_url else (fields.section, "json-ld" if fields.section else "-")
    )
    print(f"section: {section} (by {by})", file=out)
    n = len(fields.paragraphs)
    print(f"body: {n} paragraphs (by {fields.routes.get('body', '-')})", file=out)
    if n:
        print(f"  first: {fields.paragraphs[0][:100]}", file=out)
        print(f"  last:  {fields.paragraphs[-1][:100]}", file=out)
    if fields.body_stopped_at:
        print(f"  ended at: {fields.body_stopped_at!r}", file=out)
    print("article checks:", file=out)
    for check in fields.checks:
        print(f"  {check}", file=out)
        failed += not check.passed
    if block is not None:
        if not block.found:
            print("ranking: no ranking block found", file=out)
        elif block.problem:
            print(f"ranking: FAILED {block.problem} (by {block.route})", file=out)
            failed += 1
        else:
            print(f"ranking: {len(block.windows)} windows (by {block.route})", file=out)
            for window, entries in block.windows.items():
                print(f"  {window}: {len(entries)} entries", file=out)
                for rank, entry in enumerate(entries, start=1):
                    print(f"    {rank:2d}. {entry.text[:60]}  {entry.url}", file=out)
                for check in block.checks.get(window, []):
                    print(f"    {check}", file=out)
                    failed += not check.passed
        listed = links(page, is_article, exclude=block.elements())
        print(f"list links (article URLs outside the ranking): {len(listed)}", file=out)
        for link in listed[:20]:
            print(f"  {link.text[:60]}  {link.url}", file=out)
        lists = link_lists(page, is_article, exclude=block.elements())
        problem = listing_problem(lists, ARTICLE_SHAPE)
        outside = [u for x in lists if x.in_shape for u in x.outside]
        detail = problem or (
            f"{len(outside)} title links beside them outside it, e.g. {outside[0]}" if outside else ""
        )
        print(f"list checks:\n  {Check('url-shape', problem is None, detail)}", file=out)
        failed += problem is not None
    return 1 if failed else 0


def _inspect_feed(text: str, url: str, out: TextIO) -> int:
    import feedparser

    parsed = feedparser.parse(text)
    entries = parsed.entries
    print(f"feed: {url} ({parsed.get('version') or 'unknown format'}), {len(entries)} entries", file=out)
    for entry in entries[:30]:
        print(
            f"  {entry.get('published') or entry.get('updated') or '-'}  {entry.get('title', '')[:60]}",
            file=out,
        )
        print(f"      {entry.get('link', '')}", file=out)
    if parsed.get("bozo") and not entries:
        print(f"FAILED feed: {parsed.get('bozo_exception')}", file=out)
        return 1
    return 0
