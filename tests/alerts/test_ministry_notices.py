"""The ministry as the real site answers (imitations/mod: every HTML page, the 人事発令 index
included, is a bot challenge): each 人事発令 notice of update.xml is kept from the feed as a
title-only story and a rule on 人事発令 fires once per notice, through the rule's feed, a
webhook, Slack and mail. The challenged index is a known limit: not `degraded` run after run,
shown by `defwatch status`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from imitations.mod import ModSite, data
from imitations.server import SiteServer
from store import Store
from tests.conftest import Defwatch

from .conftest import Receiver, SmtpServer

NOTICES_0 = {
    "人事発令(10月15日付 １佐職人事)",
    "人事発令(10月1日付 １佐職人事)",
    "人事発令(10月1日付 将補人事)",
}
NOTICE_1 = "人事発令(10月31日付 将官人事)"


def _config(defwatch: Defwatch, mod_url: str, hook: str, slack: str, smtp: str) -> None:
    defwatch.write_config(
        f"""
        [store]
        url = "sqlite:///defwatch.db"

        [crawl]
        autothrottle = false
        allow_private = true  # the imitation is on 127.0.0.1

        [alerts]
        retry_initial = "100ms"

        [[sources]]
        name = "mod"
        kind = "mod"
        url = "{mod_url}"
        jinji = ["/j/press/jinji/2025/index.html"]

        [[rules]]
        name = "jinji"
        keywords = ["人事発令"]
        notify = ["hook", "slack", "mail"]

        [channels.hook]
        type = "webhook"
        url = "{hook}"

        [channels.slack]
        type = "slack"
        url = "{slack}"

        [channels.mail]
        type = "email"
        smtp_url = "{smtp}"
        from = "defwatch@example.org"
        to = ["desk@example.org"]
        """
    )


def _stories(cwd: Path) -> list[dict[str, object]]:
    with Store.open(f"sqlite:///{cwd / 'defwatch.db'}") as store:
        return [s for s in store.stories("mod") if s["extra"].get("notice")]


def _runs(cwd: Path) -> list[dict[str, object]]:
    with Store.open(f"sqlite:///{cwd / 'defwatch.db'}") as store:
        return list(reversed(store.runs("mod", limit=10)))


@pytest.mark.timeout(600)  # five crawls and three deliveries, on a busy machine
def test_each_personnel_notice_alerts_once_on_the_challenging_site(
    defwatch: Defwatch,
    receiver: Receiver,
    make_receiver: Callable[[], Receiver],
    smtp_server: Callable[..., SmtpServer],
) -> None:
    slack = make_receiver()
    smtp = smtp_server("plain")
    site = ModSite()
    with SiteServer({"mod": site}) as sites:
        _config(defwatch, sites.url("mod", "/"), receiver.url(), slack.url(), smtp.url())
        first = defwatch("crawl", "mod")
        assert first.returncode == 0, first.stderr[-2000:]
        html_hits = [h for h in sites.hits_for("mod") if h.path.endswith((".html", "/"))]
        assert html_hits and {h.status for h in html_hits} <= {403, 200}
        assert (data.JINJI_INDEX_PATH, 403) in {(h.path, h.status) for h in html_hits}
        assert defwatch("alerts").returncode == 0
        again = defwatch("crawl", "mod")  # the same notices again: known, nothing new
        assert again.returncode == 0
        assert defwatch("alerts").returncode == 0
        site.epoch = 1
        assert defwatch("crawl", "mod").returncode == 0
        sent = defwatch("alerts")
        assert sent.returncode == 0, sent.stdout + sent.stderr
        assert defwatch("feeds").returncode == 0
        status = defwatch("status")

    notices = _stories(defwatch.cwd)
    assert sorted(str(s["title"]) for s in notices) == sorted([*NOTICES_0, NOTICE_1])
    index_url = sites.url("mod", data.JINJI_INDEX_PATH)
    for story in notices:
        assert story["link"] == index_url and story["complete"] is False
        assert story["extra"]["challenged"] is True and story["section"] == "人事発令"  # type: ignore[index]

    # Once per notice and channel.
    hook_titles = sorted(r.json()["story"]["title"] for r in receiver.requests if 200 <= r.status < 300)
    assert hook_titles == sorted([*NOTICES_0, NOTICE_1])
    assert {r.json()["story"]["url"] for r in receiver.requests} == {index_url}
    slack_text = [json.dumps(r.json(), ensure_ascii=False) for r in slack.requests]
    assert len(slack_text) == 4 and all(any(t in s for t in [*NOTICES_0, NOTICE_1]) for s in slack_text)
    mails = smtp.inbox.messages
    assert sorted(str(m["Subject"]) for m in mails if "人事発令" in str(m["Subject"])) == sorted(
        str(m["Subject"]) for m in mails
    )
    assert len(mails) == 4
    rule_feed = (defwatch.cwd / "public" / "rules" / "jinji.rss").read_text("utf-8")
    assert all(title in rule_feed for title in [*NOTICES_0, NOTICE_1])

    # The challenged index is a known limit: the first run already says so without
    # degrading, and status shows it.
    runs = _runs(defwatch.cwd)
    assert [r["outcome"] for r in runs] == ["ok", "ok", "ok"], [r["reason"] for r in runs]
    assert f"known limit: {data.JINJI_INDEX_PATH}" in status.stdout


@pytest.mark.timeout(600)
def test_an_index_that_answered_and_starts_challenging_degrades_and_challenged_feeds_fail(
    defwatch: Defwatch,
) -> None:
    site = ModSite(open_pages=True)
    with SiteServer({"mod": site}) as sites:
        _config(
            defwatch,
            sites.url("mod", "/"),
            "http://127.0.0.1:9/",
            "http://127.0.0.1:9/",
            "smtp://127.0.0.1:9",
        )
        assert defwatch("crawl", "mod").returncode == 0
        site.open_pages = False
        assert defwatch("crawl", "mod").returncode == 0
        assert defwatch("crawl", "mod").returncode == 0
        site.faults = {data.FAULT_CHALLENGED_FEEDS}  # now the feeds too: nothing can be read
        assert defwatch("crawl", "mod").returncode == 1
    runs = _runs(defwatch.cwd)
    assert runs[0]["outcome"] == "ok"
    assert runs[1]["outcome"] == "degraded" and "answered before" in str(runs[1]["reason"])
    assert runs[2]["outcome"] == "ok"  # challenged twice in a row: now a known limit
    assert runs[3]["outcome"] == "failed"
    assert runs[3]["reason"].startswith(f"{data.NEWS_FEED_PATH} answered with a bot challenge"), runs[3][
        "reason"
    ]
