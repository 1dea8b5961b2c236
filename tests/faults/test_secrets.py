"""Secrets: masked in every form they take (raw, percent-encoded, base64, also inside a
longer value encoded whole) in the log, the ``alerts`` output, a delivery's last error, ``status`` and ``status --json``; warnings for a
``.env`` other users can read and for a secret written in the TOML; ``${…}`` not expanded
inside single quotes in ``.env``."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from urllib.parse import quote

import pytest

from core.config import load_config, load_dotenv_file
from tests.conftest import Defwatch
from tests.faults.conftest import figure

# A webhook whose token has a "|" and a space: requests sends (and its errors print) them as
# %7C and %20. Port 9 on 127.0.0.1 refuses the connection, so every delivery fails and its
# error, which names the URL, is stored and shown.
TOKEN = "tok|en with space-0123456789"
SECRET_URL = f"http://127.0.0.1:9/hook/{TOKEN}"


def forms(secret: str) -> list[str]:
    raw = secret.encode()
    return [
        secret,
        quote(secret, safe="/:"),
        quote(secret, safe=""),
        TOKEN,
        quote(TOKEN, safe=""),
        base64.b64encode(raw).decode(),
        *(inner[len(inner) // 2 :][4:20] for inner in inside_base64(secret)),
    ]


def inside_base64(secret: str) -> list[str]:
    """The secret inside longer values encoded whole (a ``Basic`` header of ``user:URL``),
    at each of the three places it can start within a base64 group."""
    return [base64.b64encode(f"{'u' * shift}ser:{secret}!".encode()).decode() for shift in range(3)]


def test_a_secret_never_shows_in_any_form(defwatch: Defwatch) -> None:
    (defwatch.cwd / ".env").write_text(f'HOOK_URL="{SECRET_URL}"\n')
    (defwatch.cwd / ".env").chmod(0o600)
    defwatch.write_config(
        """
        [store]
        url = "sqlite:///defwatch.db"

        [alerts]
        retry_initial = "1s"

        [channels.hook]
        type = "webhook"
        url = "${HOOK_URL}"
        timeout = "3s"
        """
    )
    # A delivery to queue: `alerts test` sends one straight away and prints the receipt.
    outputs = [defwatch("-vv", "alerts", "test", "hook")]
    assert outputs[0].returncode == 1  # the receiver refuses
    assert "onnection refused" in outputs[0].stdout + outputs[0].stderr or "Errno" in outputs[0].stdout
    _queue_failed_delivery(defwatch.cwd / "defwatch.db", SECRET_URL)
    outputs += [defwatch("-vv", "alerts"), defwatch("status"), defwatch("status", "--json")]
    json.loads(outputs[-1].stdout)
    shown = "".join(o.stdout + o.stderr for o in outputs)
    assert "***" in shown
    for form in forms(SECRET_URL):
        assert form not in shown, form
    figure(
        "secret with | and space",
        "0 raw, percent-encoded or base64 copies (alone or inside a longer base64 value) "
        "in log, alerts, status, --json",
    )


def _queue_failed_delivery(db: Path, url: str) -> None:
    """A failed delivery whose stored last error quotes the URL percent-encoded, as requests
    prints it (what the daemon stored before masking knew that form)."""
    from sqlalchemy import insert

    from store import Store
    from store import schema as t
    from store.db import utcnow

    now = utcnow()
    error = (
        f"ConnectionError: HTTPConnectionPool(host='127.0.0.1', port=9): {quote(url, safe='/:')}; "
        f"the proxy echoed: {' '.join('Basic ' + value for value in inside_base64(url))}"
    )
    with Store.open(f"sqlite:///{db}") as store, store.transaction() as conn:
        conn.execute(
            insert(t.deliveries).values(
                id="faults-secret-1",
                rule="everything",
                channel="hook",
                kind="story",
                status="failed",
                attempts=3,
                created=now,
                queued=now,
                next_attempt=now,
                last_error=error,
                payload={"story": {"title": "a story", "url": "http://example.org/a"}},
            )
        )


def test_dotenv_single_quotes_are_literal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = tmp_path / ".env"
    env.write_text("FAULTS_A=plain\nFAULTS_B='x${FAULTS_A}y'\nFAULTS_C=\"x${FAULTS_A}y\"\n")
    env.chmod(0o600)
    for key in ("FAULTS_A", "FAULTS_B", "FAULTS_C"):
        monkeypatch.delenv(key, raising=False)
    load_dotenv_file(env)
    assert os.environ["FAULTS_B"] == "x${FAULTS_A}y"  # single quotes: as written
    assert os.environ["FAULTS_C"] == "xplainy"  # double quotes: expanded


def test_a_world_readable_env_and_a_literal_secret_are_warned_about(defwatch: Defwatch) -> None:
    (defwatch.cwd / ".env").write_text("UNUSED=1\n")
    (defwatch.cwd / ".env").chmod(0o644)
    defwatch.write_config(
        """
        [store]
        url = "sqlite:///defwatch.db"

        [channels.slack]
        type = "slack"
        url = "https://hooks.slack.com/services/T0000000/B0000000/XXXXXXXXXXXXXXXXXXXXXXXX"
        """
    )
    from store import Store

    Store.open(f"sqlite:///{defwatch.cwd / 'defwatch.db'}").close()
    result = defwatch("status")
    assert result.returncode == 0, result.stderr
    assert "can be read by other users" in result.stderr and "chmod 600" in result.stderr
    assert "channels.slack.url: a secret is written in the file itself" in result.stderr
    assert "XXXXXXXXXXXXXXXX" not in result.stderr
    (defwatch.cwd / ".env").chmod(0o600)
    assert "other users" not in defwatch("status").stderr


def test_allow_private_takes_true_false_or_hosts(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    assert load_config(None).crawl.allow_private is False  # safe by default
    path.write_text('[crawl]\nallow_private = ["intranet.example", "127.0.0.1:8080"]\n')
    assert load_config(path).crawl.allow_private == ("intranet.example", "127.0.0.1:8080")
    path.write_text("[crawl]\nallow_private = 3\n")
    with pytest.raises(Exception, match="allow_private: expected true, false or a list of hosts"):
        load_config(path)
