"""The stories the feed tests store: the imitation sites' own content (J-Defense articles,
ministry releases, the release both carry), a foreign source in UTC, and one hostile
title. Plain data and one function that saves it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from textwrap import dedent

from core.config import Config, load_config
from imitations import shared_story
from imitations.jdefense import data as jd
from imitations.mod import data as mod
from store import Store, StoryIn, utcnow
from store import links as story_links

JDEFENSE_URL = "https://j-defense.ikaros.jp"
MOD_URL = "https://www.mod.go.jp"

HOSTILE_TITLE = "防衛装備庁 <script>alert('x')</script> & 入札公告のお知らせ"
HOSTILE_SUMMARY = "<b>太字</b> & 入札 <script>alert(1)</script> の注記"
HOSTILE_URL = f"{MOD_URL}/j/press/news/2025/10/19z.html"

NAVAL = [
    # (path, title, published in UTC, body)
    (
        "/2025/10/f-35b-lands-on-js-kaga/",
        "F-35B completes first landing trials aboard JS Kaga",
        datetime(2025, 10, 19, 23, 30, tzinfo=UTC),
        "The Japan Maritime Self-Defense Force's JS Kaga hosted F-35B landing trials off San Diego.",
    ),
    (
        "/2025/10/asean-navies-meet/",
        "ASEAN navies meet in Jakarta on maritime domain awareness",
        datetime(2025, 10, 18, 8, 0, tzinfo=UTC),
        "Chiefs of the ASEAN navies met to discuss information sharing at sea.",
    ),
]
NAVAL_URL = "https://www.navalnews.com"

CONFIG = """
[store]
url = "sqlite:///{db}"

[feeds]
dir = "{dir}"
base_url = "http://127.0.0.1:8080/"
max_items = {max_items}

[[sources]]
name = "jdefense"
kind = "jdefense"
url = "https://j-defense.ikaros.jp/"

[[sources]]
name = "mod"
kind = "mod"
url = "https://www.mod.go.jp/"

[[sources]]
name = "navalnews"
kind = "feed"
url = "https://www.navalnews.com/feed/"
timezone = "UTC"

[[rules]]
name = "asean"
keywords = ["ASEAN", "東南アジア諸国連合"]

[[rules]]
name = "jinji"
keywords = ["人事発令"]
fields = ["title"]
sources = ["jdefense", "mod"]

[[rules]]
name = "f35"
regex = "F-35[AB]"

[[rules]]
name = "nothing"
keywords = ["該当なしの語"]

[[rules]]
name = "top"
on = ["ranking"]
max_rank = 3
{extra}"""


def make_config(folder: Path, max_items: int = 100, extra: str = "") -> Config:
    """The test configuration, its store and feed folder under ``folder``."""
    path = folder / "defwatch.toml"
    path.write_text(
        dedent(CONFIG).format(
            db=folder / "defwatch.db", dir=folder / "public", max_items=max_items, extra=extra
        ),
        encoding="utf-8",
    )
    return load_config(path)


@dataclass
class Stored:
    """What a test needs to find again."""

    ids: dict[str, int] = field(default_factory=dict)  # url -> story id
    shared_origin: str = ""  # the ministry release (origin)
    shared_copy: str = ""  # J-Defense's article quoting it (copy)


def jdefense_story(article: jd.Article) -> StoryIn:
    return StoryIn(
        url=f"{JDEFENSE_URL}{article.path}",
        source="jdefense",
        title=article.title,
        published=article.published,
        summary=article.body[0],
        body="\n".join(article.body),
        section=article.section,
    )


def mod_story(item: mod.NewsItem) -> StoryIn:
    body = (
        shared_story.RELEASE_TEXT
        if item.path == shared_story.MOD_PATH
        else f"{item.title}。詳細は別添のとおり。"
    )
    return StoryIn(
        url=f"{MOD_URL}{item.path}",
        source="mod",
        title=item.title,
        published=parsedate_to_datetime(item.pub_date),
        body=body,
        kind="pdf" if item.kind == "pdf" else "article",
        section=item.category,
    )


def fill(store: Store, epoch: int = 0) -> Stored:
    """Save the imitations' stories up to ``epoch``, the foreign ones and the hostile one,
    and link the release both sites carry (the ministry's is the origin)."""
    stored = Stored()
    stories = [jdefense_story(a) for a in jd.ARTICLES if a.epoch <= epoch]
    stories += [mod_story(i) for i in mod.NEWS_ITEMS if i.epoch <= epoch]
    stories += [
        StoryIn(url=f"{NAVAL_URL}{p}", source="navalnews", title=t, published=when, body=b, summary=b)
        for p, t, when, b in NAVAL
    ]
    stories.append(
        StoryIn(
            url=HOSTILE_URL,
            source="mod",
            title=HOSTILE_TITLE,
            summary=HOSTILE_SUMMARY,
            published=datetime(2025, 10, 19, 10, 0, tzinfo=jd.JST),
            body="入札公告。",
        )
    )
    for story in stories:
        stored.ids[story.url] = store.save_story(story).story_id
    stored.shared_origin = f"{MOD_URL}{shared_story.MOD_PATH}"
    stored.shared_copy = f"{JDEFENSE_URL}/docs/mod/{jd.SHARED_STORY_ID}.html"
    link(store, stored.ids[stored.shared_origin], stored.ids[stored.shared_copy])
    return stored


def link(store: Store, origin: int, copy: int) -> None:
    with store.transaction() as conn:
        story_links.link(conn, origin, copy, 0.9, utcnow())
