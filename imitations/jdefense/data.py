"""Content of the J-Defense imitation: articles, id gaps, ranking lists, discovery routes.

Everything a test may assert against lives here as plain data. The site (``__init__.py``)
and the templates (``render.py``) only present it.

Time line (JST). Epoch 0 is the site as of Monday 2025-10-20 evening; each later epoch is
the next day (epoch 1 = Tue 10-21, 2 = Wed 10-22, 3 = Thu 10-23, 4 = Fri 10-24). New
articles appear at epochs 1, 2 and 3; epoch 4 only changes the rankings (and its 1-week
list is a broken, half-loaded snapshot).

Discovery routes (``ROUTES[epoch][article_id]``, a frozenset of):
  "home"    linked from the home page list (the 12 newest articles the list has caught up with);
  "section" linked from the section index page ``/docs/<section>/`` (its 8 newest articles);
  "ranking" linked from one of the three ranking lists;
  "probe"   linked nowhere, but its id is above the highest linked id, so probing the next
            ids after the highest known one finds it.
An existing article with an empty set is linked nowhere and lies below the highest linked
id: only a backfill could find it. Article pages link to other articles only through the
ranking sidebar (their related links point to section pages and offsite), so the home page,
the section pages and the rankings are the whole link graph.
"""

from __future__ import annotations

# The articles are a module of their own; named here as they always were.
from imitations.jdefense.articles import ARTICLES, BY_ID, JST, SECTIONS, SHARED_STORY_ID, Article  # noqa: F401

SITE_NAME = "Jディフェンスニュース"
TAGLINE = "防衛の今を伝えるニュースサイト"

EPOCHS: tuple[int, ...] = (0, 1, 2, 3, 4)
HOME_SIZE = 12  # the home page lists this many of the newest articles it has caught up with
SECTION_PAGE_SIZE = 8  # a section index lists this many of the section's newest articles

WINDOWS: tuple[str, ...] = ("24h", "1w", "1m")
WINDOW_LABELS: dict[str, str] = {"24h": "24時間", "1w": "1週間", "1m": "1ヶ月"}
RANKING_HEADING = "Ranking読まれている記事"

# Ids inside the id range that never existed (a deleted article, a skipped number): 404.
MISSING_IDS: list[str] = ["004417", "004440"]


# Named examples, checked against ROUTES by the tests.
ASEAN_HALFWIDTH_IDS = ["004431", SHARED_STORY_ID, "004447"]  # titles with "ASEAN"
ASEAN_FULLWIDTH_IDS = ["004412", "004438"]  # titles with "ＡＳＥＡＮ"
IDEOGRAPHIC_SPACE_TITLE_IDS = ["004408", "004448"]  # titles with 「」 and U+3000
WEEKEND_IDS = ["004402", "004430", "004431"]  # Sat 10-4, Sat 10-18, Sun 10-19
UNPADDED_DATE_IDS = [a.id for a in ARTICLES if len(a.date_line.split()[0].split("-")[2]) == 1]
PADDED_DAY_IDS = ["004406", "004407"]  # "2025-10-07 09:05"
WRONG_WEEKDAY_IDS = ["004444"]  # body says 令和7年10月20日(火); it was a Monday
HOME_ONLY_NEW = {1: ["004437", "004438"], 2: ["004442", "004443"], 3: ["004446", "004447", "004448"]}
SECTION_ONLY = {1: "004439", 2: "004444"}  # new, linked only from its section page
PROBE_ONLY = {1: "004441", 2: "004445"}  # new, linked nowhere yet
RANKING_ONLY_OLD = "004401"  # old, linked only from the rankings (1-month list at every epoch)

# Ranking lists, epoch -> window -> ordered ids (#1 first). Every article page renders the
# lists of the current epoch (and the home page too, unless home_ranking is off).
#
# 24h, epoch by epoch:
#   0->1  enter 004438 004437 004436; leave 004427 004431 004435; fall 004432 (2->4), 004430 (3->6)
#   1->2  new #1 004441 (enters at #1); 004431 RETURNS (#6, was out at 1); 004433 falls 1->3
#   2->3  004424 climbs 5->4; enter 004446 004447 004443; 004438 falls 2->7
#   3->4  new #1 004447 (climbs 3->1); enter 004448 004444; leave 004443 004438
# 1w at epoch 4 is a broken, half-loaded snapshot: a single entry where there were eight.
RANKINGS: dict[int, dict[str, list[str]]] = {
    0: {
        "24h": ["004433", "004432", "004430", "004424", "004427", "004431", "004435"],
        "1w": ["004433", "004424", "004401", "004420", "004432", "004427", "004413", "004430"],
        "1m": ["004401", "004424", "004409", "004433", "004403", "004413", "004420", "004406"],
    },
    1: {
        "24h": ["004433", "004438", "004437", "004432", "004424", "004430", "004436"],
        "1w": ["004433", "004424", "004432", "004438", "004401", "004427", "004420", "004437"],
        "1m": ["004401", "004424", "004433", "004409", "004403", "004413", "004420", "004432"],
    },
    2: {
        "24h": ["004441", "004438", "004433", "004442", "004424", "004431", "004437"],
        "1w": ["004433", "004441", "004424", "004438", "004432", "004401", "004437", "004427"],
        "1m": ["004424", "004401", "004433", "004409", "004441", "004403", "004413", "004420"],
    },
    3: {
        "24h": ["004441", "004446", "004447", "004424", "004442", "004443", "004438"],
        "1w": ["004441", "004433", "004424", "004446", "004438", "004442", "004401", "004432"],
        "1m": ["004424", "004401", "004433", "004441", "004409", "004403", "004446", "004413"],
    },
    4: {
        "24h": ["004447", "004446", "004441", "004424", "004448", "004444", "004442"],
        "1w": ["004441"],  # half-loaded: an invalid snapshot
        "1m": ["004424", "004433", "004401", "004441", "004409", "004447", "004403", "004446"],
    },
}
HALF_LOADED = {4: "1w"}  # epoch -> window whose list is a broken snapshot


# ---- derived views (used by the site and by the tests) -------------------------------------


def clamp_epoch(epoch: int) -> int:
    return max(EPOCHS[0], min(epoch, EPOCHS[-1]))


def articles_at(epoch: int) -> list[Article]:
    """Articles that exist at the epoch, newest first."""
    return sorted((a for a in ARTICLES if a.epoch <= epoch), key=lambda a: a.id, reverse=True)


def home_ids(epoch: int) -> list[str]:
    """Ids the home page lists at the epoch, newest first."""
    return [a.id for a in articles_at(epoch) if a.home_from <= epoch][:HOME_SIZE]


def section_ids(section: str, epoch: int) -> list[str]:
    """Ids the section index page lists at the epoch, newest first."""
    listed = [a.id for a in articles_at(epoch) if a.section == section and a.section_from <= epoch]
    return listed[:SECTION_PAGE_SIZE]


def rankings_at(epoch: int) -> dict[str, list[str]]:
    return RANKINGS[clamp_epoch(epoch)]


def _compute_routes(epoch: int) -> dict[str, frozenset[str]]:
    home = set(home_ids(epoch))
    section = {i for s in SECTIONS for i in section_ids(s, epoch)}
    ranking = {i for ids in rankings_at(epoch).values() for i in ids}
    highest_linked = max(home | section | ranking)
    routes: dict[str, frozenset[str]] = {}
    for a in articles_at(epoch):
        r = {
            name for name, ids in (("home", home), ("section", section), ("ranking", ranking)) if a.id in ids
        }
        if not r and a.id > highest_linked:
            r.add("probe")
        routes[a.id] = frozenset(r)
    return routes


ROUTES: dict[int, dict[str, frozenset[str]]] = {e: _compute_routes(e) for e in EPOCHS}
for _article in ARTICLES:
    _article.routes = {e: ROUTES[e][_article.id] for e in EPOCHS if _article.id in ROUTES[e]}
