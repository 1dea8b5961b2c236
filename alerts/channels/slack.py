"""``type = "slack"``: a Slack incoming webhook. Each message carries a plain ``text``
fallback (notifications, old clients) and Block Kit blocks: the title linked to the story,
the matched keywords, the source and the published time in JST. Slack reads ``&``, ``<``
and ``>`` as markup, so every piece of story text is escaped; one message per second per
webhook by default (Slack's own limit)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from alerts.channels.base import Digest, Message, Receipt
from alerts.channels.webhook import HttpChannel
from alerts.message import facts, headline
from alerts.templates import Rendered
from core.channels import SlackOptions

if TYPE_CHECKING:
    from core.config import ChannelConfig

MAX_BLOCKS = 50  # Slack refuses more
SECTION_LIMIT = 3000  # characters of one section's text
SUMMARY_LIMIT = 500
TITLE_LIMIT = 200


def escape(text: str) -> str:
    """Slack's escaping: the three characters it reads as markup, and nothing else."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str, label: str) -> str:
    """``<url|label>``; a ``|`` or ``>`` inside the URL would end it early."""
    safe_url = escape(url.replace("|", "%7C"))
    return f"<{safe_url}|{escape(_cut(label, TITLE_LIMIT))}>"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _title_line(payload: Mapping[str, Any]) -> str:
    story = payload.get("story")
    text = headline(payload)
    if story and story.get("url"):
        return f"*{link(story['url'], text)}*"
    return f"*{escape(_cut(text, TITLE_LIMIT))}*"


def _facts_line(payload: Mapping[str, Any]) -> str:
    return " · ".join(f"{label}: {escape(value)}" for label, value in facts(payload))


def fallback_text(payload: Mapping[str, Any]) -> str:
    """The ``text`` field: one plain line (escaped, since Slack parses it too)."""
    story = payload.get("story") or {}
    prefix = f"[{payload['rule']}] " if payload.get("event") not in ("ops",) else "[defwatch] "
    line = prefix + headline(payload)
    if story.get("url"):
        line += f" {story['url']}"
    return escape(_cut(line, SECTION_LIMIT))


def message_blocks(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    story = payload.get("story") or {}
    text = _title_line(payload)
    if story.get("summary"):
        text += "\n" + escape(_cut(story["summary"], SUMMARY_LIMIT))
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, SECTION_LIMIT)}},
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": _cut(_facts_line(payload), SECTION_LIMIT)}],
        },
    ]
    also = story.get("also") or []
    if also:
        named = {c.get("url"): c.get("source") for c in story.get("copies") or [] if isinstance(c, dict)}
        links = ", ".join(link(u, named.get(u) or u.split("://", 1)[-1].split("/", 1)[0]) for u in also[:10])
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"also: {links}"}]})
    return blocks


def digest_document(digest: Digest) -> dict[str, Any]:
    """One message listing every delivery of the window (within Slack's 50 blocks)."""
    count = len(digest.messages)
    header = f"*defwatch: {count} alert{'s' if count != 1 else ''}*"
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": header}}]
    room = MAX_BLOCKS - 2
    for message in digest.messages[:room]:
        line = f"{_title_line(message.payload)}\n{_facts_line(message.payload)}"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _cut(line, SECTION_LIMIT)}})
    if count > room:
        more = f"… and {count - room} more"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": more}]})
    rules = sorted({str(m.payload.get("rule")) for m in digest.messages})
    text = escape(f"defwatch: {count} alerts ({', '.join(rules)})")
    return {"text": text, "blocks": blocks}


def rendered_document(payload: Mapping[str, Any], rendered: Rendered) -> dict[str, Any]:
    """A message from the channel's templates: the title (linked to the story) and the body,
    both escaped for Slack."""
    url = (payload.get("story") or {}).get("url")
    title = f"*{link(url, rendered.title)}*" if url else f"*{escape(_cut(rendered.title, TITLE_LIMIT))}*"
    text = _cut(f"{title}\n{escape(rendered.body)}", SECTION_LIMIT)
    return {
        "text": escape(_cut(rendered.title, SECTION_LIMIT)),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    }


class SlackChannel(HttpChannel, type="slack"):
    def __init__(self, name: str, url: str, **common: Any) -> None:
        common.setdefault("min_interval", SlackOptions.min_interval)
        super().__init__(name, url, **common)

    @classmethod
    def from_config(cls, config: ChannelConfig) -> SlackChannel:
        o = config.options
        assert isinstance(o, SlackOptions)
        return cls(config.name, o.url, **cls.shared(o))

    @staticmethod
    def document(message: Message) -> dict[str, Any]:
        return {"text": fallback_text(message.payload), "blocks": message_blocks(message.payload)}

    def _post(self, document: dict[str, Any]) -> Receipt:
        body = json.dumps(document, ensure_ascii=False).encode("utf-8")
        return self.post(body, {})

    def send(self, message: Message) -> Receipt:
        if self.templated:
            return self._post(rendered_document(message.payload, self.render(message.payload)))
        return self._post(self.document(message))

    def send_digest(self, digest: Digest) -> Receipt:
        return self._post(digest_document(digest))
