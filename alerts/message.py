"""What an alert says, independent of the channel: the payload stored with each delivery
(the webhook document of docs/interface.md, without its id) and the plain lines every channel
renders from it. Times go out in JST."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from core.model import JST, Movement, Story
from core.text import summarize

__all__ = [
    "JST",
    "bounded",
    "facts",
    "headline",
    "jst_text",
    "ops_payload",
    "ranking_payload",
    "story_payload",
    "test_payload",
]

SUMMARY_LIMIT = 300

# What any output carries at most (issue 22: a 1,000,000-character title made a 3 MB webhook
# body and a 13 MB email). Characters per string by key, items per list.
TEXT_LIMITS = {"title": 1000, "summary": 1000, "url": 2000, "reason": 1000}
TEXT_LIMIT = 2000  # any other string
LIST_LIMIT = 50  # items of any list (matched words, also)


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bounded(value: Any, key: str = "") -> Any:
    """The payload with every string and list within the limits above (a copy; the stored
    payload of an older delivery may be larger)."""
    if isinstance(value, str):
        return cut(value, TEXT_LIMITS.get(key, TEXT_LIMIT))
    if isinstance(value, Mapping):
        return {k: bounded(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [bounded(v, key) for v in value[:LIST_LIMIT]]
    return value


_MOVES = {
    "entered": "entered the ranking",
    "left": "left the ranking",
    "climbed": "climbed",
    "fell": "fell",
    "new_1": "new #1",
    "returned": "returned to the ranking",
}
_OPS_STATES = {
    "degraded": "is degraded",
    "failing": "is failing",
    "recovered": "has recovered",
}


def _iso_jst(value: datetime | None) -> str | None:
    return value.astimezone(JST).isoformat() if value is not None else None


def story_document(
    story: Story, also: Sequence[str] = (), sources: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The ``story`` object of a delivery, from a stored story. ``sources``: the source
    name of each ``also`` URL, when known (``copies`` names them)."""
    summary = story.summary or summarize(story.body or "", SUMMARY_LIMIT)
    doc: dict[str, Any] = {
        "url": story.link or story.url,  # the link as the site gave it
        "title": story.title,
        "source": story.source,
        "published": _iso_jst(story.published),
        "summary": summary,
        "also": list(also),
    }
    if sources:
        doc["copies"] = [{"url": u, "source": sources.get(u)} for u in also]
    return doc


def story_payload(
    rule: str,
    matched: Sequence[str],
    story: Story,
    also: Sequence[str],
    event: str,
    sources: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    return bounded(
        {
            "rule": rule,
            "matched": list(matched),
            "event": event,  # new | revised
            "story": story_document(story, also, sources),
        }
    )


def ranking_payload(
    rule: str,
    matched: Sequence[str],
    movement: Movement,
    story: Story | None,
    also: Sequence[str] = (),
    sources: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A ranking movement; ``story`` is the stored story behind the ranked URL, if any."""
    if story is not None:
        doc = story_document(story, also, sources)
    else:
        # Not stored (the ranking lists pages defwatch has not read): what the ranking itself
        # says, and ``stored`` false so a message says the date is not known, not blank.
        doc = {
            "url": movement.url,
            "title": movement.title,
            "source": movement.source,
            "published": None,
            "summary": "",
            "also": list(also),
            "stored": False,
        }
    payload = {
        "rule": rule,
        "matched": list(matched),
        "event": "ranking",
        "ranking": {
            "id": movement.id,
            "source": movement.source,
            "window": movement.window,
            "kind": movement.kind,
            "rank": movement.rank,
            "previous_rank": movement.previous_rank,
            "at": _iso_jst(movement.at),
        },
        "story": doc,
    }
    return bounded(payload)


def ops_payload(
    source: str, state: str, runs: int, outcome: str | None, reason: str | None, at: datetime
) -> dict[str, Any]:
    """An operations alert: ``state`` is degraded | failing | recovered."""
    return {
        "rule": "ops",
        "matched": [],
        "event": "ops",
        "ops": {
            "source": source,
            "state": state,
            "runs": runs,
            "outcome": outcome,
            "reason": reason,
            "at": _iso_jst(at),
        },
    }


def test_payload(channel: str, at: datetime) -> dict[str, Any]:
    """Shaped like a real story delivery, so a receiver's parsing is tested too."""
    return {
        "rule": "test",
        "matched": ["テスト"],
        "event": "test",
        "story": {
            "url": "https://example.org/defwatch/test",
            "title": "defwatch テストメッセージ (test message)",
            "source": "defwatch",
            "published": _iso_jst(at),
            "summary": f"チャンネル {channel} の接続確認です。This is a test of channel {channel}.",
            "also": [],
        },
    }


# -- plain renderings every channel builds on ---------------------------------------------


def jst_text(iso: str | None) -> str | None:
    """``2025-10-17T16:00:00+09:00`` as ``2025-10-17 16:00 JST``."""
    if not iso:
        return None
    try:
        return datetime.fromisoformat(iso).astimezone(JST).strftime("%Y-%m-%d %H:%M JST")
    except ValueError:
        return iso


def headline(payload: Mapping[str, Any]) -> str:
    """One line: what happened."""
    event = payload.get("event")
    if event == "ops":
        ops = payload["ops"]
        state = _OPS_STATES.get(ops["state"], ops["state"])
        return f"source {ops['source']} {state}"
    story = payload.get("story") or {}
    title = story.get("title") or story.get("url") or "(untitled)"
    if event == "ranking":
        r = payload["ranking"]
        return f"{_move_text(r)}: {title}"
    return title


def _move_text(r: Mapping[str, Any]) -> str:
    move = _MOVES.get(r["kind"], r["kind"])
    where = f"ranking {r['window']}"
    rank, prev = r.get("rank"), r.get("previous_rank")
    if r["kind"] in ("climbed", "fell") and rank is not None and prev is not None:
        return f"{where}: {move} {prev} → {rank}"
    if rank is not None:
        return f"{where}: {move} (#{rank})"
    if prev is not None:
        return f"{where}: {move} (was #{prev})"
    return f"{where}: {move}"


def facts(payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Labelled details under the headline, in reading order."""
    out: list[tuple[str, str]] = []
    if payload.get("event") == "ops":
        ops = payload["ops"]
        if ops.get("outcome"):
            out.append(("last run", str(ops["outcome"])))
        if ops.get("runs"):
            out.append(("runs in a row", str(ops["runs"])))
        if ops.get("reason"):
            out.append(("reason", str(ops["reason"])))
        if ops.get("at"):
            out.append(("at", jst_text(ops["at"]) or ""))
        return out
    out.append(("rule", str(payload.get("rule", ""))))
    if payload.get("matched"):
        out.append(("matched", ", ".join(payload["matched"])))
    story = payload.get("story") or {}
    if story.get("source"):
        out.append(("source", story["source"]))
    published = jst_text(story.get("published"))
    if published:
        out.append(("published", published))
    elif story.get("stored") is False:
        out.append(("published", "not known (the article is not stored)"))
    ranked = jst_text((payload.get("ranking") or {}).get("at"))
    if ranked:
        out.append(("ranked at", ranked))
    if payload.get("event") == "revised":
        out.append(("event", "revised"))
    return out
