"""Message templates: Jinja2 in a sandbox, one for the title (a mail subject, a Slack or
Apprise title) and one for the body, per channel.

A channel names ``language = "en" | "ja"`` (the default templates; English is today's
wording) and may override either with ``title_template`` / ``body_template``. A template is
compiled and rendered once against a sample story when the channel is built, so a mistake is
a one-line configuration error at start-up, never a lost alert. The default templates (which
tests/alerts compile and try the same way) are compiled when a message is first rendered
through them: a cycle with nothing to send does not load Jinja2. The sandbox refuses unsafe
attribute access; output is cut at ``OUTPUT_LIMIT`` characters, so a template that loops or
grows cannot make a huge message.

What a template sees: ``rule``, ``matched`` (list), ``event`` (new | revised | ranking | ops |
test), ``story`` (url, title, source, published as text in JST, summary, also), ``copies``
(the other URLs of the story: ``{url, source}``, the source name when known), ``ranking``
(window, kind, movement in words, rank, previous_rank, at) for ranking events, ``ops`` for
operations alerts, and ``headline`` (the one-line English default).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from alerts.message import cut, facts, headline, jst_text, story_payload
from core.model import Story

__all__ = ["LANGUAGES", "Rendered", "Templates", "TemplateConfigError"]

OUTPUT_LIMIT = 20_000  # characters of one rendered body
TITLE_LIMIT = 1_000

_MOVES_JA = {
    "entered": "ランキング入り",
    "left": "ランキング圏外",
    "climbed": "順位上昇",
    "fell": "順位下降",
    "new_1": "新たに1位",
    "returned": "ランキングに再登場",
}
_OPS_JA = {"degraded": "が不調です", "failing": "で失敗が続いています", "recovered": "が回復しました"}

LANGUAGES: dict[str, dict[str, str]] = {
    "en": {
        "title": "{{ headline }}",
        "body": (
            "{{ headline }}\n"
            "{% if story.url %}{{ story.url }}\n{% endif %}"
            "{% if story.summary %}\n{{ story.summary }}\n{% endif %}"
            "\n{% for label, value in facts %}{{ label }}: {{ value }}\n{% endfor %}"
            "{% if copies %}also: {% for c in copies %}{% if c.source %}{{ c.source }} {% endif %}{{ c.url }}"
            "{% if not loop.last %}, {% endif %}{% endfor %}\n{% endif %}"
        ),
    },
    "ja": {
        "title": (
            "{% if event == 'ops' %}ソース {{ ops.source }} {{ ops_ja }}"
            "{% elif event == 'ranking' %}ランキング {{ ranking.window }}: {{ ranking.move_ja }}"
            "{% if ranking.rank %} ({{ ranking.rank }}位){% endif %}: {{ story.title }}"
            "{% else %}{{ story.title }}{% if event == 'revised' %} (更新){% endif %}{% endif %}"
        ),
        "body": (
            "{% if event == 'ops' %}ソース {{ ops.source }} {{ ops_ja }}\n"
            "{% if ops.reason %}理由: {{ ops.reason }}\n{% endif %}"
            "{% if ops.runs %}連続: {{ ops.runs }} 回\n{% endif %}"
            "{% else %}{{ story.title }}\n"
            "{% if story.url %}{{ story.url }}\n{% endif %}"
            "{% if story.summary %}\n{{ story.summary }}\n{% endif %}\n"
            "ルール: {{ rule }}\n"
            "{% if matched %}キーワード: {{ matched | join('、') }}\n{% endif %}"
            "{% if story.source %}ソース: {{ story.source }}\n{% endif %}"
            "{% if story.published %}公開: {{ story.published }}\n"
            "{% elif story.stored is false %}公開: 不明(記事は未保存)\n{% endif %}"
            "{% if ranking %}ランキング: {{ ranking.window }} {{ ranking.move_ja }}"
            "{% if ranking.rank %} {{ ranking.rank }}位{% endif %}"
            "{% if ranking.previous_rank %}(前回 {{ ranking.previous_rank }}位){% endif %}"
            "{% if ranking.at %} ({{ ranking.at }}){% endif %}\n{% endif %}"
            "{% if copies %}同じ記事: {% for c in copies %}{% if c.source %}{{ c.source }} {% endif %}{{ c.url }}"
            "{% if not loop.last %}、{% endif %}{% endfor %}\n{% endif %}"
            "{% endif %}"
        ),
    },
}


class TemplateConfigError(ValueError):
    """A template that does not compile or render: the message is one line."""


@dataclass(frozen=True)
class Rendered:
    title: str
    body: str


def context(payload: Mapping[str, Any]) -> dict[str, Any]:
    story = dict(payload.get("story") or {})
    story["published"] = jst_text(story.get("published"))
    copies = [c if isinstance(c, Mapping) else {"url": c, "source": None} for c in story.get("copies") or []]
    if not copies:
        copies = [{"url": u, "source": None} for u in story.get("also") or []]
    ranking = dict(payload.get("ranking") or {})
    if ranking:
        ranking["move_ja"] = _MOVES_JA.get(ranking.get("kind", ""), ranking.get("kind"))
        ranking["at"] = jst_text(ranking.get("at"))
    ops = dict(payload.get("ops") or {})
    return {
        "rule": payload.get("rule"),
        "matched": list(payload.get("matched") or []),
        "event": payload.get("event"),
        "story": story,
        "copies": copies,
        "ranking": ranking,
        "ops": ops,
        "ops_ja": _OPS_JA.get(ops.get("state", ""), ops.get("state", "")),
        "headline": headline(payload),
        "facts": facts(payload),
    }


def sample_payload() -> dict[str, Any]:
    """What a template is tried against at start-up."""
    story = Story(
        id=1,
        url="https://www.mod.go.jp/j/press/news/2025/10/17a.html",
        source="mod",
        title="日ASEAN防衛担当大臣会合の開催について",
        published=datetime(2025, 10, 17, 7, 0, tzinfo=UTC),
        summary="防衛大臣は日ASEAN防衛担当大臣会合に出席した。",
    )
    return story_payload("asean", ["ASEAN"], story, ["https://j-defense.ikaros.jp/docs/mod/1.html"], "new")


class Templates:
    def __init__(
        self,
        channel: str,
        language: str = "en",
        title: str | None = None,
        body: str | None = None,
    ) -> None:
        if language not in LANGUAGES:
            raise TemplateConfigError(
                f"channels.{channel}.language: {language!r} is not one of {', '.join(LANGUAGES)}"
            )
        self.channel = channel
        self.language = language
        self.custom = title is not None or body is not None
        self._sources = {
            "title": title or LANGUAGES[language]["title"],
            "body": body or LANGUAGES[language]["body"],
        }
        self._templates: dict[str, Any] = {}
        if self.custom:  # the user's own: a mistake is an error now, at start-up
            self._compile()

    def _compile(self) -> dict[str, Any]:
        """The compiled templates, tried on a sample payload (once, on first use)."""
        if self._templates:
            return self._templates
        from jinja2 import StrictUndefined, TemplateError
        from jinja2.sandbox import SandboxedEnvironment

        env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
        templates = {}
        for part, text in self._sources.items():
            try:
                templates[part] = env.from_string(text)
            except TemplateError as exc:
                raise TemplateConfigError(self._where(part, exc)) from None
        self._templates = templates
        try:
            self.render(sample_payload(), strict=True)
        except TemplateError as exc:
            self._templates = {}
            raise TemplateConfigError(self._where("?", exc)) from None
        return templates

    def _where(self, part: str, exc: BaseException) -> str:
        key = f"{part}_template" if part != "?" else "title_template/body_template"
        lineno = getattr(exc, "lineno", None)
        line = f" (line {lineno})" if lineno else ""
        message = " ".join(str(exc).split()) or type(exc).__name__
        return f"channels.{self.channel}.{key}: {message}{line}"

    def _run(self, part: str, ctx: Mapping[str, Any], limit: int) -> str:
        out: list[str] = []
        size = 0
        for chunk in self._compile()[part].generate(ctx):
            out.append(chunk)
            size += len(chunk)
            if size > limit:
                break
        return cut("".join(out), limit)

    def render(self, payload: Mapping[str, Any], strict: bool = False) -> Rendered:
        """Title (one line) and body. A template failing on some payload at send time falls
        back to the English default rather than losing the alert."""
        from jinja2 import TemplateError

        ctx = context(payload)
        try:
            title = self._run("title", ctx, TITLE_LIMIT)
            body = self._run("body", ctx, OUTPUT_LIMIT)
        except TemplateError:
            if strict:
                raise
            fallback = Templates(self.channel, "en")
            return fallback.render(payload, strict=True)
        return Rendered(" ".join(title.split()), body.strip() + "\n")
