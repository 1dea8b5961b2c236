"""Alerts from real crawls of both imitation sites: the ministry release and the J-Defense
article quoting it make one alert whichever is crawled first, crawling again makes none,
and ``defwatch alerts`` delivers each once."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select

from imitations import shared_story
from imitations.jdefense import JDefenseSite
from imitations.jdefense.data import SHARED_STORY_ID
from imitations.mod import ModSite
from imitations.server import SiteServer
from store import Store, links
from store import schema as t
from tests.conftest import Defwatch

from .conftest import Receiver


@pytest.fixture
def sites() -> Iterator[SiteServer]:
    with SiteServer({"jdefense": JDefenseSite(), "mod": ModSite()}) as server:
        yield server


def write_config(defwatch: Defwatch, sites: SiteServer, receiver: Receiver, store: str) -> None:
    defwatch.write_config(
        f"""
        [store]
        url = "{store}"

        [crawl]
        allow_private = true
        autothrottle = false

        [alerts]
        retry_initial = "100ms"

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

        [[rules]]
        name = "asean"
        keywords = ["ASEAN"]
        notify = ["hook"]

        [channels.hook]
        type = "webhook"
        url = "{receiver.url()}"
        """
    )


def deliveries(url: str) -> list[dict[str, object]]:
    with Store.open(url) as store, store.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(select(t.deliveries)).mappings()]
        for row in rows:
            row["group"] = tuple(links.group_ids(conn, row["story_id"]))
        return rows


@pytest.mark.parametrize(
    "order", [("mod", "jdefense"), ("jdefense", "mod")], ids=["ministry-first", "jdefense-first"]
)
def test_one_alert_per_story_across_sites_and_crawls(
    defwatch: Defwatch,
    sites: SiteServer,
    receiver: Receiver,
    order: tuple[str, str],
    store_url: Callable[..., str],
) -> None:
    """On SQLite and on PostgreSQL alike."""
    url = store_url()
    write_config(defwatch, sites, receiver, url)
    for source in order:
        assert defwatch("crawl", source).returncode == 0

    rows = deliveries(url)
    groups = [r["group"] for r in rows]
    assert len(groups) == len(set(groups)), "two alerts for one story"
    mod_url = sites.url("mod", shared_story.MOD_PATH)
    article_url = sites.url("jdefense", f"/docs/mod/{SHARED_STORY_ID}.html")
    (shared,) = [
        r for r in rows if len(r["group"]) > 1 and r["payload"]["story"]["url"] in (mod_url, article_url)
    ]
    first_url = mod_url if order[0] == "mod" else article_url
    other_url = article_url if order[0] == "mod" else mod_url
    assert shared["payload"]["story"]["url"] == first_url
    assert shared["payload"]["story"]["also"] == [other_url]
    # The full-width ＡＳＥＡＮ of the imitation's own headlines is matched too.
    assert any("ＡＳＥＡＮ" in r["payload"]["story"]["title"] for r in rows)

    for source in order:  # the same sites crawled again
        assert defwatch("crawl", source).returncode == 0
    assert sorted(r["id"] for r in deliveries(url)) == sorted(r["id"] for r in rows)

    sent = defwatch("alerts")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert sorted(receiver.delivered_ids()) == sorted(r["id"] for r in rows)
