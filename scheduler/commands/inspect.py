"""``defwatch inspect URL``: print what the readers extract from one page (crawler/inspect_page.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.config import Config
from core.errors import CommandError
from core.model import JST
from core.sources import JDefenseOptions

HELP = "what the readers extract from one page, by which route, and their checks"
KINDS = ("jdefense", "mod", "page", "feed")
EXAMPLES = """\
  defwatch inspect https://j-defense.ikaros.jp/docs/mod/004400.html
  defwatch inspect --file saved.html --kind page https://example.org/news/1"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("url", metavar="URL", help="the page (with --file: the URL it was read from)")
    p.add_argument(
        "--kind", choices=KINDS, default=None, help="which readers (default: the source's kind, else page)"
    )
    p.add_argument("--file", metavar="PATH", help="read this saved page instead of fetching URL")
    p.add_argument("--source", metavar="NAME", help="use this source's timezone and selectors")


def run(args: argparse.Namespace, config: Config) -> int:
    from crawler.inspect_page import Fetched, challenge_note, fetch, inspect_page

    source = None
    if args.source:
        try:
            source = config.source(args.source)
        except KeyError:
            raise CommandError(f"inspect: no source named {args.source!r}") from None
    else:
        host = args.url.split("/")[2] if "//" in args.url else ""
        source = next((s for s in config.sources if host and s.url.split("/")[2] == host), None)
    kind = args.kind or (source.kind if source is not None else "page")
    if args.file:
        try:
            answer = Fetched(200, {}, Path(args.file).read_bytes())
        except OSError as exc:
            raise CommandError(f"inspect: cannot read {args.file}: {exc.strerror}") from None
    else:
        try:
            answer = fetch(args.url, config.crawl.user_agent, config.crawl.timeout)
        except OSError as exc:
            raise CommandError(f"inspect: cannot fetch {args.url}: {exc}", code=1) from None
    if challenge_note(args.url, answer, sys.stdout):
        return 1
    if answer.status >= 400:
        raise CommandError(f"inspect: cannot fetch {args.url}: HTTP {answer.status}", code=1)
    html = answer.text
    tz = source.tz if source is not None else JST
    options = source.options if source is not None else None
    selectors = dict(options.selectors or {}) if isinstance(options, JDefenseOptions) else None
    return inspect_page(html, args.url, kind, tz, sys.stdout, selectors or None)
