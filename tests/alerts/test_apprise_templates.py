"""Alerts where teams are (issue 20): Apprise targets tracked per URL, Jinja2 templates in
Japanese and English (mail subjects in RFC 2047, Slack), mail list headers, and mistakes
caught at start-up in one line."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from alerts.channels.email import text_body
from alerts.channels.slack import message_blocks
from alerts.dispatcher import Dispatcher
from alerts.message import ranking_payload
from alerts.templates import LANGUAGES, Templates, sample_payload
from core.model import Movement
from tests.conftest import Defwatch

from .conftest import Answer, Pipeline, Receiver, SmtpServer, Trickler, write_config

MOD = "https://www.mod.go.jp/j/press/news/2025/10/{n}.html"


def apprise_rule(*urls: str, extra: str = "") -> str:
    listed = ", ".join(f'"{u}"' for u in urls)
    return f"""
[[rules]]
name = "asean"
keywords = ["ASEAN"]
notify = ["team"]

[channels.team]
type = "apprise"
urls = [{listed}]
timeout = "5s"
{extra}
"""


def json_url(receiver: Receiver, path: str = "/team") -> str:
    return f"json://127.0.0.1:{receiver.port}{path}"


def test_an_apprise_json_target_gets_one_message_per_story(
    pipeline: Callable[..., Pipeline], receiver: Receiver
) -> None:
    p = pipeline(apprise_rule(json_url(receiver)))
    for n in range(3):
        p.save(MOD.format(n=n), "mod", f"日ASEAN会合 {n}", "本文")
    report = Dispatcher.from_config(p.config, p.store).run()
    assert report.sent == 3
    titles = sorted(r.json()["title"] for r in receiver.requests)
    assert titles == [f"日ASEAN会合 {n}" for n in range(3)]
    assert all(
        MOD.format(n=n) in r.json()["message"]
        for n, r in enumerate(sorted(receiver.requests, key=lambda r: r.json()["title"]))
    )
    assert Dispatcher.from_config(p.config, p.store).run().sent == 0  # nothing twice


def test_each_apprise_url_is_tracked_a_retry_goes_only_where_it_failed(
    pipeline: Callable[..., Pipeline], make_receiver: Callable[[], Receiver]
) -> None:
    good, flaky = make_receiver(), make_receiver()
    flaky.answer(Answer(503, "down"), Answer(503, "down"))
    p = pipeline(apprise_rule(json_url(good), json_url(flaky)))
    p.save(MOD.format(n=1), "mod", "ASEAN", "本文")
    dispatcher = Dispatcher.from_config(p.config, p.store)
    for _ in range(200):
        dispatcher.run()
        if p.statuses() and set(p.statuses().values()) == {"sent"}:
            break
        import time

        time.sleep(0.05)
    assert set(p.statuses().values()) == {"sent"}
    assert len(good.requests) == 1  # never sent again while the other target failed
    assert [r.status for r in flaky.requests] == [503, 503, 200]
    (row,) = p.deliveries()
    assert len(row["targets_done"]) == 2


def test_an_apprise_url_it_cannot_use_is_one_line_at_start_up_with_the_secret_masked(
    defwatch: Defwatch,
) -> None:
    write_config(defwatch.cwd, apprise_rule("nosuchservice://sekret-token@host/x"))
    result = defwatch("alerts")
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "channels.team.urls" in line and "nosuchservice://***" in line
    assert "sekret-token" not in result.stderr + result.stdout


def test_alerts_test_sends_one_apprise_message(defwatch: Defwatch, receiver: Receiver) -> None:
    write_config(defwatch.cwd, apprise_rule(json_url(receiver)))
    result = defwatch("alerts", "test", "team")
    assert result.returncode == 0, result.stderr
    (request,) = receiver.requests
    assert "テスト" in request.json()["title"]


def test_a_template_error_is_one_line_at_start_up(defwatch: Defwatch, receiver: Receiver) -> None:
    write_config(
        defwatch.cwd,
        apprise_rule(json_url(receiver), extra='title_template = "{{ story.title | nosuchfilter }}"'),
    )
    for command in (("alerts",), ("run", "--once")):
        result = defwatch(*command)
        assert result.returncode == 2, result.stderr
        (line,) = result.stderr.strip().splitlines()
        assert "channels.team.title_template" in line and "nosuchfilter" in line
    assert not receiver.requests


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_the_default_templates_compile_and_render_the_start_up_sample(language: str) -> None:
    # Compiled when a message first needs them, not when the channel is built: they are
    # tried here as a user's own templates are tried at start-up.
    rendered = Templates("team", language).render(sample_payload(), strict=True)
    assert "日ASEAN防衛担当大臣会合の開催について" in rendered.title + rendered.body


def test_templates_bound_a_template_that_loops(pipeline: Callable[..., Pipeline], receiver: Receiver) -> None:
    loop = "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}"
    p = pipeline(apprise_rule(json_url(receiver), extra=f'body_template = "{loop}"'))
    p.save(MOD.format(n=1), "mod", "ASEAN", "本文")
    assert Dispatcher.from_config(p.config, p.store).run().sent == 1
    assert len(receiver.requests[0].json()["message"]) <= 20_000


def test_japanese_templates_in_mail_are_rfc_2047_with_list_headers(
    pipeline: Callable[..., Pipeline], smtp_server: Callable[..., SmtpServer]
) -> None:
    server = smtp_server("plain")
    p = pipeline(
        f"""
[[rules]]
name = "asean"
keywords = ["ASEAN"]
notify = ["mail"]

[channels.mail]
type = "email"
smtp_url = "{server.url()}"
from = "defwatch@example.org"
to = ["desk@example.org"]
language = "ja"
list_unsubscribe = "mailto:desk-leave@example.org"
"""
    )
    p.save(MOD.format(n=1), "mod", "日ASEAN防衛担当大臣会合の開催について", "防衛大臣が出席した。")
    assert Dispatcher.from_config(p.config, p.store).run().sent == 1
    (envelope,) = server.inbox.envelopes
    raw = envelope.original_content or envelope.content
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"=?utf-8?" in head.lower()  # the subject is encoded, not raw UTF-8
    assert all(b < 0x80 for b in head)
    (msg,) = server.inbox.messages
    assert str(msg["Subject"]) == "[defwatch] 日ASEAN防衛担当大臣会合の開催について"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert "mail.defwatch.example.org" in msg["List-Id"]
    assert msg["List-Unsubscribe"] == "<mailto:desk-leave@example.org>"
    text = msg.get_body(("plain",)).get_content()
    assert "ルール: asean" in text and "キーワード: ASEAN" in text and "公開: 2025-10-18 01:00 JST" in text


def test_japanese_templates_in_slack(pipeline: Callable[..., Pipeline], receiver: Receiver) -> None:
    p = pipeline(
        f"""
[[rules]]
name = "asean"
keywords = ["ASEAN"]
notify = ["slack"]

[channels.slack]
type = "slack"
url = "{receiver.url()}"
language = "ja"
min_interval = "0s"
"""
    )
    p.save(MOD.format(n=1), "mod", "日ASEAN会合 <速報> & 続報", "本文")
    assert Dispatcher.from_config(p.config, p.store).run().sent == 1
    document = receiver.requests[0].json()
    assert document["text"] == "日ASEAN会合 &lt;速報&gt; &amp; 続報"
    section = document["blocks"][0]["text"]["text"]
    assert f"<{MOD.format(n=1)}|日ASEAN会合 &lt;速報&gt; &amp; 続報>" in section
    assert "ルール: asean" in section


def test_the_english_default_is_todays_output(
    pipeline: Callable[..., Pipeline], smtp_server: Callable[..., SmtpServer]
) -> None:
    """Without a language or template, mail is exactly as before (subject and layout)."""
    server = smtp_server("plain")
    p = pipeline(
        f"""
[[rules]]
name = "asean"
keywords = ["ASEAN"]
notify = ["mail"]

[channels.mail]
type = "email"
smtp_url = "{server.url()}"
from = "defwatch@example.org"
to = ["desk@example.org"]
"""
    )
    p.save(MOD.format(n=1), "mod", "日ASEAN会合", "本文")
    Dispatcher.from_config(p.config, p.store).run()
    (msg,) = server.inbox.messages
    assert str(msg["Subject"]) == "[defwatch] asean: 日ASEAN会合"
    assert "matched: ASEAN" in msg.get_body(("plain",)).get_content()


def test_rules_test_lists_what_a_rule_would_match_and_backfill_queues_once(
    pipeline: Callable[..., Pipeline], defwatch: Defwatch, tmp_path: Path
) -> None:
    out = tmp_path / "alerts.jsonl"
    p = pipeline()  # stories stored before the rule existed: nothing queued
    p.save(MOD.format(n=1), "mod", "日ASEAN会合", "本文")
    p.save(MOD.format(n=2), "mod", "人事発令", "本文")
    p.save(MOD.format(n=3), "mod", "ＡＳＥＡＮ拡大国防相会議", "本文")
    assert p.deliveries() == []
    write_config(
        tmp_path,
        f"""
[[rules]]
name = "asean"
keywords = ["ASEAN"]
notify = ["file"]

[channels.file]
type = "file"
path = "{out.as_posix()}"
""",
    )
    dry = defwatch("rules", "test", "asean", "--since", "3650d")
    assert dry.returncode == 0, dry.stderr
    assert "日ASEAN会合" in dry.stdout and "ＡＳＥＡＮ拡大国防相会議" in dry.stdout
    assert "人事発令" not in dry.stdout
    assert "2 stories since 3650d match rule asean" in dry.stdout
    assert p.deliveries() == []  # a dry run
    for _ in range(2):
        filled = defwatch("rules", "test", "asean", "--since", "3650d", "--backfill")
        assert filled.returncode == 0, filled.stderr
    assert "0 deliveries queued" in filled.stdout  # the second backfill adds nothing
    assert len(p.deliveries()) == 2
    assert defwatch("alerts").returncode == 0
    assert len(out.read_text(encoding="utf-8").splitlines()) == 2
    missing = defwatch("rules", "test", "nosuch")
    assert missing.returncode == 2 and "no rule named 'nosuch'" in missing.stderr


# -- a ranking alert for a page defwatch has not stored ------------------------------------------

RANKED_UNSTORED = Movement(
    id=7,
    source="jdefense",
    window="24h",
    kind="entered",
    rank=2,
    previous_rank=None,
    url="https://j-defense.ikaros.jp/docs/news/2025/10/20-1.html",
    title="防衛装備庁、新型レーダーを発表",
    at=dt.datetime(2025, 10, 20, 3, 0, tzinfo=dt.UTC),
)


def _rendered(how: str, payload: dict[str, Any]) -> str:
    if how in ("en", "ja"):
        rendered = Templates("hook", how).render(payload)
        return f"{rendered.title}\n{rendered.body}"
    if how == "slack":
        return json.dumps(message_blocks(payload), ensure_ascii=False)
    return text_body([payload], "d-1")


@pytest.mark.parametrize("how", ["en", "ja", "slack", "mail"])
def test_a_ranking_alert_for_an_unstored_page_says_what_is_known_and_no_blanks(how: str) -> None:
    payload = ranking_payload("top3", [], RANKED_UNSTORED, story=None)
    text = _rendered(how, payload)
    assert "None" not in text and "null" not in text
    assert "防衛装備庁、新型レーダーを発表" in text and RANKED_UNSTORED.url in text
    if how == "ja":
        assert "公開: 不明(記事は未保存)" in text and "24h ランキング入り 2位 (2025-10-20 12:00 JST)" in text
    else:
        assert "published: not known (the article is not stored)" in text
        assert "ranked at: 2025-10-20 12:00 JST" in text


# -- an Apprise send past its deadline ---------------------------------------------------------


def test_an_apprise_send_past_its_deadline_is_retried_and_never_sent_twice_meanwhile(
    pipeline: Callable[..., Pipeline], trickler: Trickler
) -> None:
    """Apprise's timeouts are per read; a receiver trickling its answer is left at the
    attempt's total deadline. The attempt is recorded as failed and retried, but while the
    left-behind send is still going, a retry does not open a second one."""
    url = trickler.url("/team").replace("http://", "json://")
    p = pipeline(apprise_rule(url).replace('timeout = "5s"', 'timeout = "1s"'))
    p.save(MOD.format(n=1), "mod", "ASEAN", "本文")
    dispatcher = Dispatcher.from_config(p.config, p.store)
    report = dispatcher.run()
    assert (report.sent, report.retrying, report.paused) == (0, 1, ["team"])
    (row,) = p.deliveries()
    assert row["status"] == "pending" and "no complete answer within 1s" in row["last_error"]
    dispatcher.clock = lambda: row["next_attempt"] + dt.timedelta(seconds=1)  # the retry is due
    assert dispatcher.run().retrying == 1
    (row,) = p.deliveries()
    assert row["status"] == "pending" and "still sending (not sent again)" in row["last_error"]
    assert trickler.connections == 1


def test_defwatch_alerts_exits_with_an_apprise_send_left_at_its_deadline(
    defwatch: Defwatch, trickler: Trickler
) -> None:
    """The left-behind send does not keep the process alive; the delivery stays due."""
    url = trickler.url("/team").replace("http://", "json://")
    path = write_config(defwatch.cwd, apprise_rule(url).replace('timeout = "5s"', 'timeout = "1s"'))
    from core.config import load_config
    from store import Store
    from tests.ingesting import ingesting

    config = load_config(path, environ={})
    store = Store.open(config.store.url)
    ingesting(store, config)
    Pipeline(defwatch.cwd, config, store).save(MOD.format(n=1), "mod", "ASEAN", "本文")
    store.close()
    result = defwatch("alerts", timeout=90)  # ends, though the receiver is still trickling
    assert "no complete answer within 1s" in result.stdout + result.stderr
    assert trickler.connections == 1
    assert trickler.closed.wait(30)  # the send left behind ended with the process
    store = Store.open(config.store.url)
    try:
        (row,) = Pipeline(defwatch.cwd, config, store).deliveries()
    finally:
        store.close()
    assert row["status"] == "pending"
