"""The same story on two sites is one story with a copy: the J-Defense article that
quotes a ministry release is linked to it, the ministry item as origin, whichever site
is crawled first (real crawls of both imitations over HTTP)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from imitations import shared_story
from imitations.jdefense import JDefenseSite
from imitations.jdefense.data import SHARED_STORY_ID
from imitations.mod import ModSite
from imitations.server import SiteServer
from store import Store
from store import schema as t
from tests.conftest import Defwatch


@pytest.fixture
def sites() -> Iterator[SiteServer]:
    with SiteServer({"jdefense": JDefenseSite(), "mod": ModSite()}) as server:
        yield server


def write_config(defwatch: Defwatch, sites: SiteServer) -> None:
    defwatch.write_config(
        f"""
        [store]
        url = "sqlite:///defwatch.db"

        [crawl]
        allow_private = true  # the imitation sites are on 127.0.0.1
        autothrottle = false

        [[sources]]
        name = "jdefense"
        kind = "jdefense"
        url = "{sites.url("jdefense", "/")}"
        sections = ["mod", "world"]

        [[sources]]
        name = "mod"
        kind = "mod"
        url = "{sites.url("mod", "/")}"
        jinji = ["/j/press/jinji/2025/index.html"]
        """
    )


@pytest.mark.parametrize(
    "order", [("mod", "jdefense"), ("jdefense", "mod")], ids=["ministry-first", "jdefense-first"]
)
def test_quoted_release_is_one_story_with_the_ministry_as_origin(
    defwatch: Defwatch, sites: SiteServer, order: tuple[str, str]
) -> None:
    write_config(defwatch, sites)
    for source in order:
        result = defwatch("crawl", source)
        assert result.returncode == 0, result.stderr

    store = Store.open(f"sqlite:///{defwatch.cwd / 'defwatch.db'}")
    ministry = store.get_story(sites.url("mod", shared_story.MOD_PATH))
    article = store.get_story(sites.url("jdefense", f"/docs/mod/{SHARED_STORY_ID}.html"))
    assert ministry is not None and article is not None
    assert ministry["title"] == shared_story.MOD_TITLE
    assert article["title"] == shared_story.JDEFENSE_TITLE
    with store.engine.connect() as conn:
        links = conn.execute(select(t.story_links.c.origin_id, t.story_links.c.copy_id)).all()
    # Exactly one link across both sites: this pair, the ministry release as origin.
    assert [(row.origin_id, row.copy_id) for row in links] == [(ministry["id"], article["id"])]
    store.close()

    shown = defwatch("stories", "show", sites.url("jdefense", f"/docs/mod/{SHARED_STORY_ID}.html"))
    assert shown.returncode == 0, shown.stderr
    assert shared_story.MOD_PATH in shown.stdout
