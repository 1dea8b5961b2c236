"""Real receivers for alert tests, on 127.0.0.1 and free ports: an HTTP receiver that
records every request and answers from a script (webhook and Slack), and SMTP servers
(aiosmtpd) in the three ways a mail server is met: plain, STARTTLS, SMTPS."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

# -- the HTTP receiver -----------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() when the request arrived
    answered_at: float  # ... and when the receiver had answered it
    status: int  # what the receiver answered

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


class Receiver:
    """Records every POST; answers with the queued answers in turn, then ``default``."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.script: deque[Answer] = deque()
        self.default = Answer()
        # Answers by what was posted, before the script: e.g. fail some stories for good.
        self.route: Callable[[bytes], Answer | None] | None = None
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                arrived = time.monotonic()
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                routed = receiver.route(body) if receiver.route is not None else None
                with receiver._lock:
                    if routed is not None:
                        answer = routed
                    else:
                        answer = receiver.script.popleft() if receiver.script else receiver.default
                if answer.delay:
                    time.sleep(answer.delay)
                # Recorded before the answer goes out, so a client that has its answer
                # finds the request recorded.
                with receiver._changed:
                    receiver.requests.append(
                        Received(
                            self.path,
                            dict(self.headers.items()),
                            body,
                            arrived,
                            time.monotonic(),
                            answer.status,
                        )
                    )
                    receiver._changed.notify_all()
                payload = answer.body.encode("utf-8")
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, name="receiver", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, *answers: Answer) -> None:
        with self._lock:
            self.script.extend(answers)

    def wait_for(self, count: int, timeout: float = 60.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"receiver got {len(self.requests)} requests, expected {count}")
                self._changed.wait(left)
            return list(self.requests)

    def delivered_ids(self) -> list[str]:
        """X-Defwatch-Delivery of every request answered 2xx."""
        return [r.headers["X-Defwatch-Delivery"] for r in self.requests if 200 <= r.status < 300]

    def start(self) -> Receiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def make_receiver() -> Iterator[Callable[[], Receiver]]:
    made: list[Receiver] = []

    def make() -> Receiver:
        r = Receiver().start()
        made.append(r)
        return r

    yield make
    for r in made:
        r.stop()


# -- TLS material ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for 127.0.0.1 and localhost."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "defwatch test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return Certificate(cert_path, key_path)


# -- SMTP (aiosmtpd) ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    """The aiosmtpd handler: keeps every message it accepts."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.tls_used: list[bool] = []
        self.logins: list[tuple[str, str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        self.tls_used.append(session.ssl is not None)
        return "250 Message accepted for delivery"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            self.logins.append((data.login.decode(), data.password.decode()))
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    @property
    def messages(self) -> list[EmailMessage]:
        return [
            message_from_bytes(e.original_content or e.content, policy=policy.default)  # type: ignore[misc]
            for e in self.envelopes
        ]


@dataclass
class SmtpServer:
    port: int
    inbox: Inbox
    mode: str  # plain | starttls | smtps

    def url(self, userinfo: str = "") -> str:
        scheme = "smtps" if self.mode == "smtps" else "smtp"
        at = f"{userinfo}@" if userinfo else ""
        return f"{scheme}://{at}127.0.0.1:{self.port}"


@pytest.fixture
def smtp_server(certificate: Certificate) -> Iterator[Callable[..., SmtpServer]]:
    """``smtp_server("plain" | "starttls" | "smtps")``: a running aiosmtpd on a free port."""
    controllers: list[Controller] = []

    def start(mode: str = "plain") -> SmtpServer:
        inbox = Inbox()
        port = free_port()
        kwargs: dict[str, Any] = {"hostname": "127.0.0.1", "port": port, "authenticator": inbox.authenticate}
        if mode == "starttls":
            kwargs.update(tls_context=certificate.server_context(), require_starttls=True)
        elif mode == "smtps":
            kwargs.update(ssl_context=certificate.server_context(), auth_require_tls=False)
        else:
            kwargs.update(auth_require_tls=False)
        controller = Controller(inbox, **kwargs)
        controller.start()
        controllers.append(controller)
        return SmtpServer(port, inbox, mode)

    yield start
    for c in controllers:
        c.stop()


# -- configuration and a store saving through the ingest step ----------------------------------------

BASE_CONFIG = """
[store]
url = "sqlite:///{db}"

[alerts]
retry_initial = "50ms"
retry_max = "200ms"
give_up_after = "{give_up_after}"
{alerts}

[[sources]]
name = "mod"
kind = "mod"
url = "https://www.mod.go.jp/"

[[sources]]
name = "jdefense"
kind = "jdefense"
url = "https://j-defense.ikaros.jp/"
"""


def write_config(
    folder: Path, text: str = "", name: str = "defwatch.toml", give_up_after: str = "1h", alerts: str = ""
) -> Path:
    """The base configuration (store in ``folder``, tiny backoff) plus ``text``; ``alerts``
    adds lines to the [alerts] table."""
    import textwrap

    path = folder / name
    base = BASE_CONFIG.format(
        db=(folder / "defwatch.db").as_posix(), give_up_after=give_up_after, alerts=alerts
    )
    body = base + textwrap.dedent(text)
    path.write_text(body, encoding="utf-8")
    return path


@dataclass
class Pipeline:
    """A configuration, its store saving through the ingest step (links, then outbox)."""

    folder: Path
    config: Any
    store: Any

    @property
    def config_path(self) -> Path:
        return self.folder / "defwatch.toml"

    def save(self, url: str, source: str, title: str, body: str = "", **kw: Any) -> Any:
        from store import StoryIn

        published = kw.pop("published", dt.datetime(2025, 10, 17, 16, 0, tzinfo=dt.UTC))
        return self.store.save_story(
            StoryIn(url=url, source=source, title=title, body=body, published=published, **kw)
        )

    def deliveries(self) -> list[dict[str, Any]]:
        from sqlalchemy import select

        from store import schema

        with self.store.engine.connect() as conn:
            rows = conn.execute(select(schema.deliveries).order_by(schema.deliveries.c.created)).mappings()
            return [dict(r) for r in rows]

    def statuses(self) -> dict[str, str]:
        return {d["id"]: d["status"] for d in self.deliveries()}


@pytest.fixture
def pipeline(tmp_path: Path) -> Iterator[Callable[..., Pipeline]]:
    from core.config import load_config
    from store import Store
    from tests.ingesting import ingesting

    opened: list[Any] = []

    def make(text: str = "", give_up_after: str = "1h", alerts: str = "") -> Pipeline:
        path = write_config(tmp_path, text, give_up_after=give_up_after, alerts=alerts)
        config = load_config(path, environ={})
        store = Store.open(config.store.url)
        opened.append(store)
        ingesting(store, config)
        return Pipeline(tmp_path, config, store)

    yield make
    for s in opened:
        s.close()


# -- a trickling receiver and a feed to crawl ------------------------------------------------


class Trickler:
    """Answers every request with its headers at once, then one byte of the body every
    ``every`` seconds, for ever: a per-read timeout never fires on it."""

    def __init__(self, every: float = 0.5) -> None:
        self.every = every
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.connections = 0
        self.closed = threading.Event()  # a client gave up on us (the connection was closed)
        self._stop = threading.Event()
        threading.Thread(target=self._accept, name="trickler", daemon=True).start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}{path}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n")
                while not self._stop.wait(self.every):
                    conn.sendall(b".")
            except OSError:
                self.closed.set()

    def stop(self) -> None:
        self._stop.set()
        self.sock.close()


@pytest.fixture
def trickler() -> Iterator[Trickler]:
    t = Trickler()
    yield t
    t.stop()


class FeedServer:
    """One RSS feed at /feed.xml (404 for anything else) whose items can be changed."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []  # (link, title)
        self.hits = 0
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != "/feed.xml":
                    self.send_error(404)
                    return
                feed.hits += 1
                body = feed.render().encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/feed.xml"

    def add(self, n: int, title: str = "ASEAN 会合 {i}") -> None:
        start = len(self.items)
        base = self.url.rsplit("/", 1)[0]
        self.items += [(f"{base}/news/{i}.html", title.format(i=i)) for i in range(start, start + n)]

    def render(self) -> str:
        from xml.sax.saxutils import escape

        items = "".join(
            f"<item><title>{escape(t)}</title><link>{escape(u)}</link><guid>{escape(u)}</guid>"
            f"<pubDate>Fri, 17 Oct 2025 07:00:00 GMT</pubDate><description>本文 {escape(t)}</description></item>"
            for u, t in self.items
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
            f"<link>{self.url}</link><description>d</description>{items}</channel></rss>"
        )

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    f = FeedServer()
    yield f
    f.stop()
