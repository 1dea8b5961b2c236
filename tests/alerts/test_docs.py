"""docs/alerts.md is real: its configuration blocks load, its code runs, its example
delivery document has the shape a receiver gets."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from pathlib import Path

import pytest

from core.config import load_config
from core.model import Story

DOC = Path(__file__).resolve().parents[2] / "docs" / "alerts.md"
TEXT = DOC.read_text(encoding="utf-8")
TOML = re.findall(r"```toml\n(.*?)```", TEXT, re.S)
PYTHON = re.findall(r"```python\n(.*?)```", TEXT, re.S)
ENV = {
    "SLACK_WEBHOOK_URL": "https://hooks.slack.example/services/T/B/X",
    "ALERT_WEBHOOK_URL": "https://example.org/hooks/defwatch",
    "ALERT_WEBHOOK_SECRET": "signing-secret",
    "SMTP_URL": "smtp://user:password@mail.example.org:587",
    "TELEGRAM_BOT_TOKEN": "123456789:ABCdefGHIjklMNO",
    "TELEGRAM_CHAT_ID": "-100123",
    "TEAMS_WORKFLOW_URL": "workflows://example.azure.com:443/abc/def",
}


@pytest.mark.parametrize("block", TOML, ids=[f"toml{i}" for i in range(len(TOML))])
def test_configuration_examples_load(tmp_path: Path, block: str) -> None:
    path = tmp_path / "defwatch.toml"
    path.write_text(block, encoding="utf-8")
    load_config(path, environ=ENV)


def test_the_signature_check_accepts_what_defwatch_signs() -> None:
    from alerts.channels.webhook import signature

    namespace: dict[str, object] = {}
    exec(PYTHON[0], namespace)
    verify = namespace["verify"]
    body = json.dumps({"id": "x", "rule": "asean"}).encode()
    assert verify("s3cret", body, signature("s3cret", body))  # type: ignore[operator]
    assert not verify("s3cret", body + b" ", signature("s3cret", body))  # type: ignore[operator]
    assert signature("k", b"b") == "sha256=" + hmac.new(b"k", b"b", hashlib.sha256).hexdigest()


def test_the_example_document_has_the_delivered_keys() -> None:
    from alerts.channels import Message
    from alerts.message import story_payload

    example = re.search(r"```json\n(.*?)```", TEXT, re.S)
    assert example is not None
    doc = json.loads(example.group(1).replace("…", "x"))
    story = Story(1, "u", "mod", "t", summary="s")
    real = Message("id", story_payload("asean", ["ASEAN"], story, [], "new")).body()
    assert list(doc) == list(real)
    assert list(doc["story"]) == list(real["story"])


def test_both_standard_webhooks_checks_accept_what_defwatch_signs() -> None:
    import base64

    from alerts.channels.webhook import WebhookChannel

    secret = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
    body, headers = WebhookChannel("w", "http://127.0.0.1:9/", secret=secret).encode(
        {"id": "x" * 64, "rule": "r"}
    )
    lower = {k.lower(): v for k, v in headers.items()}
    for i, name in ((1, "verify_standard"), (2, "verify_by_hand")):
        namespace: dict[str, object] = {}
        exec(PYTHON[i], namespace)
        assert namespace[name](secret, body, lower)  # type: ignore[operator]
    namespace = {}
    exec(PYTHON[2], namespace)
    assert not namespace["verify_by_hand"](secret, body + b" ", lower)  # type: ignore[operator]
