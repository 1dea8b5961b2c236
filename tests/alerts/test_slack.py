"""Slack incoming webhooks: the text fallback, the Block Kit blocks, Slack's escaping and
the one-message-per-second limit, against a real local receiver."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from alerts.channels import Digest, Message
from alerts.channels.slack import SlackChannel, digest_document, escape, link
from alerts.dispatcher import Dispatcher
from alerts.message import story_payload
from core.model import Story

from .conftest import Pipeline, Receiver

TITLE = "防衛相 & 米国防長官が会談 <速報> 1>0"
URL = "https://www.mod.go.jp/j/press/news/2025/10/24b.html?a=1&b=2"


def slack_config(url: str) -> str:
    return f"""
[[rules]]
name = "asean"
keywords = ["ASEAN", "会談"]
notify = ["team-slack"]

[channels.team-slack]
type = "slack"
url = "{url}"
"""


def test_escape_only_the_three_characters() -> None:
    assert escape("A & B <b> *bold* 1>0 &amp;") == "A &amp; B &lt;b&gt; *bold* 1&gt;0 &amp;amp;"
    assert link("https://x.org/a?b=1&c=2|3", "<T>") == "<https://x.org/a?b=1&amp;c=2%7C3|&lt;T&gt;>"


def test_message_shape_escaping_and_one_per_second(
    pipeline: Callable[..., Pipeline], receiver: Receiver
) -> None:
    p = pipeline(slack_config(receiver.url("/services/T000/B000/XXXX")))
    published = dt.datetime(2025, 10, 24, 2, 30, tzinfo=dt.UTC)
    p.save(URL, "mod", TITLE, "ASEAN諸国の代表と会談した。", published=published, summary="概要 & <詳細>")
    p.save(URL + "&c=3", "mod", "ASEAN 2", "本文")
    report = Dispatcher.from_config(p.config, p.store).run()
    assert report.sent == 2
    first, second = receiver.requests
    assert second.at - first.at >= 0.95  # Slack's limit: one message per second per webhook
    assert "X-Defwatch-Delivery" not in first.headers  # Slack gets its own format
    doc = first.json()
    assert set(doc) == {"text", "blocks"}
    # the fallback text: plain, escaped
    assert "&amp;" in doc["text"] and "&lt;速報&gt;" in doc["text"] and "<速報>" not in doc["text"]
    section, context = doc["blocks"][:2]
    assert section["type"] == "section" and section["text"]["type"] == "mrkdwn"
    link_text = section["text"]["text"].split("\n")[0]
    assert link_text == (
        "*<https://www.mod.go.jp/j/press/news/2025/10/24b.html?a=1&amp;b=2|"
        "防衛相 &amp; 米国防長官が会談 &lt;速報&gt; 1&gt;0>*"
    )
    assert section["text"]["text"].split("\n")[1] == "概要 &amp; &lt;詳細&gt;"
    assert context["type"] == "context"
    facts = context["elements"][0]["text"]
    assert "matched: ASEAN, 会談" in facts
    assert "source: mod" in facts
    assert "published: 2025-10-24 11:30 JST" in facts


def test_slack_answers_are_reported(pipeline: Callable[..., Pipeline], receiver: Receiver) -> None:
    from .conftest import Answer

    receiver.answer(Answer(404, "no_service"))
    p = pipeline(slack_config(receiver.url("/services/T000/B000/SECRET")))
    p.save(URL, "mod", "ASEAN", "本文")
    report = Dispatcher.from_config(p.config, p.store).run()
    assert report.errors == ["team-slack: HTTP 404 Not Found: no_service"]


def test_a_digest_fits_slack_limits() -> None:
    story = Story(1, "https://x.org/1", "mod", "T & <1>")
    messages = tuple(
        Message(f"id{i}", story_payload("asean", ["ASEAN"], story, [], "new")) for i in range(60)
    )
    doc = digest_document(Digest("d1", messages))
    assert len(doc["blocks"]) <= 50
    assert doc["blocks"][0]["text"]["text"] == "*defwatch: 60 alerts*"
    assert doc["blocks"][-1]["elements"][0]["text"] == "… and 12 more"
    assert "T &amp; &lt;1&gt;" in doc["blocks"][1]["text"]["text"]


def test_channel_repr_hides_the_webhook_url() -> None:
    channel = SlackChannel("team", "https://hooks.slack.com/services/T/B/SECRET")
    assert "SECRET" not in repr(channel)
