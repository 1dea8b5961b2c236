"""What the ``jdefense`` spider reads on a page, apart from the crawl: the site's URL shapes,
the ranking block's labels, an article page's fields (run in the page worker), and the
checks a ranking window must pass before it is stored."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from urllib.parse import urlsplit

from crawler.checks import Check
from crawler.extract_article import (
    ArticleFields,
    HtmlPage,
    RankingBlock,
    parse_page,
    read_article,
    read_ranking,
)
from crawler.selectors import article_selectors, ranking_selectors

__all__ = [
    "ARTICLE_PATH",
    "ARTICLE_SHAPE",
    "ROUTES",
    "ArticleRef",
    "RANKING_HEADING",
    "RANKING_TABS",
    "SECTION_PATH",
    "WINDOWS",
    "ArticleUrls",
    "ranking_block",
    "read_article_page",
    "titles_agree",
]

# The article URL shape, as messages describe it.
ARTICLE_SHAPE = "/docs/<section>/NNNNNN.html"
ARTICLE_PATH = re.compile(r"^/docs/(?P<section>[a-z0-9_-]+)/(?P<id>\d{6})\.html$")
SECTION_PATH = re.compile(r"^/docs/(?P<section>[a-z0-9_-]+)/(?:index\.html)?$")

RANKING_HEADING = ("Ranking", "ランキング", "読まれている記事", "アクセスランキング", "人気記事")
RANKING_TABS = {
    "24時間": "24h",
    "1日": "24h",
    "日間": "24h",
    "デイリー": "24h",
    "daily": "24h",
    "1週間": "1w",
    "週間": "1w",
    "ウィークリー": "1w",
    "weekly": "1w",
    "1ヶ月": "1m",
    "1ケ月": "1m",
    "1か月": "1m",
    "1カ月": "1m",
    "1ヵ月": "1m",
    "月間": "1m",
    "マンスリー": "1m",
    "monthly": "1m",
}
WINDOWS = ("24h", "1w", "1m")

# Discovery routes, most telling first: an article both on the home page and ranked was
# "discovered by" the home page.
ROUTES = ("home", "section", "ranking", "probe")


@dataclass
class ArticleRef:
    """An article URL on the site, and how this run came to request it."""

    url: str
    section: str
    id: str
    routes: set[str] = field(default_factory=set)

    @property
    def discovered_by(self) -> str:
        return next(r for r in ROUTES if r in self.routes)


@dataclass(frozen=True)
class ArticleUrls:
    """Whether a URL is an article page of the site on ``netloc`` (any scheme); a plain
    object, so that the worker process can be handed it."""

    netloc: str  # lower-cased

    def on_site(self, netloc: str) -> bool:
        return not netloc or netloc.lower() == self.netloc

    def __call__(self, url: str) -> bool:
        parts = urlsplit(url)
        return self.on_site(parts.netloc) and ARTICLE_PATH.match(parts.path) is not None


def ranking_block(
    page: HtmlPage,
    is_article_url: Callable[[str], bool],
    selectors: Mapping[str, str] | None = None,
    checks: bool = True,
) -> RankingBlock:
    return read_ranking(
        page,
        heading_words=RANKING_HEADING,
        tab_labels=RANKING_TABS,
        accept=is_article_url,
        selectors=ranking_selectors(selectors),
        checks=checks,
    )


def read_article_page(
    html: str,
    url: str,
    tz: tzinfo,
    is_article_url: ArticleUrls,
    selectors: Mapping[str, str] | None = None,
) -> ArticleFields | None:
    """An article page's fields and checks (None when it is no HTML), its ranking block left
    out of the body. Runs in the worker process. Only the block's bounds are wanted here
    (the snapshots are read by the spider, with every check), so its windows' checks are
    not run."""
    page = parse_page(html, url)
    if page is None:
        return None
    ranking = ranking_block(page, is_article_url, selectors, checks=False)
    return read_article(
        page, tz=tz, exclude=ranking.elements(), selectors=article_selectors(selectors)
    ).detached()


def _title_key(text: str) -> str:
    key = "".join(unicodedata.normalize("NFKC", text).casefold().split())
    return key.rstrip("….")


def titles_agree(ranked: str, own: str) -> bool:
    """Whether a ranking entry's title is the article's own (a list may shorten it)."""
    a, b = _title_key(ranked), _title_key(own)
    return bool(a) and (a == b or (len(a) >= 8 and b.startswith(a)))


def title_check(entries: list[tuple[int, str, str | None]]) -> Check:
    """The titles a window shows against the articles' own (rank, shown, own or None)."""
    wrong = [
        (rank, shown, own) for rank, shown, own in entries if own is not None and not titles_agree(shown, own)
    ]
    if not wrong:
        known = sum(1 for *_, own in entries if own is not None)
        return Check("titles-agree", True, f"{known} known articles agree")
    rank, shown, own = wrong[0]
    return Check(
        "titles-agree",
        False,
        f"{len(wrong)} entries disagree with their article, e.g. rank {rank} reads {shown[:40]!r}, "
        f"the article {own[:40]!r}",
    )
