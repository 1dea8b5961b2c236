"""DNS rebinding: a host name that resolves to a public address when defwatch checks it and
to 127.0.0.1 when it connects must never reach the private host.

Real resolution, no network: a small DNS server on port 53 of a loopback address of its own
(127.0.x.77) answers the first query for ``rebind.example`` with a public address, every
later one with 127.0.0.1; ``defwatch crawl`` runs in its own mount namespace
(``unshare -m``) where /etc/resolv.conf names that server. The public address is only ever checked, never connected to: the check comes
first, and every later answer is 127.0.0.1. Needs root (the CI runs as root), like the
tmpfs of test_store.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import struct
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from store import Store
from tests.conftest import Defwatch
from tests.faults.conftest import figure
from tests.faults.hostile import HostileServer, rss

pytestmark = pytest.mark.timeout(180)

NAME = "rebind.example"
PUBLIC = "93.184.216.34"  # checked, never connected to


class RebindingDNS:
    """Answers A queries for NAME: the first with PUBLIC, the rest with 127.0.0.1; AAAA and
    other names with no answer."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        # Port 53 of a loopback address of its own: another suite running on the machine
        # may hold one (127.0.0.0/8 is all loopback on Linux).
        for last in random.sample(range(2, 255), 40):
            try:
                self.sock.bind((f"127.0.{last}.77", 53))
                break
            except OSError:
                continue
        else:
            raise RuntimeError("no free loopback address for the DNS stand-in's port 53")
        self.address = self.sock.getsockname()[0]
        self.answers: Counter[str] = Counter()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                query, peer = self.sock.recvfrom(512)
            except OSError:
                return
            end = 12
            labels = []
            while query[end]:
                labels.append(query[end + 1 : end + 1 + query[end]].decode("ascii", "replace"))
                end += 1 + query[end]
            qtype = struct.unpack("!H", query[end + 1 : end + 3])[0]
            question = query[12 : end + 5]
            answer = b""
            if ".".join(labels).lower() == NAME and qtype == 1:
                address = PUBLIC if not self.answers else "127.0.0.1"
                self.answers[address] += 1
                answer = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 0, 4) + socket.inet_aton(address)
            header = query[:2] + struct.pack("!HHHHH", 0x8180, 1, 1 if answer else 0, 0, 0)
            self.sock.sendto(header + question + answer, peer)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def dns() -> Iterator[RebindingDNS]:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("a private /etc/resolv.conf needs root and unshare (the CI runs as root)")
    server = RebindingDNS()
    yield server
    server.close()


def test_a_name_rebound_to_a_private_address_after_the_check_is_not_fetched(
    dns: RebindingDNS, tmp_path: Path
) -> None:
    with HostileServer() as internal:
        port = internal.origin.rsplit(":", 1)[1]
        internal.static("/feed.xml", rss([("internal secret", "{origin}/story/internal/0")]))
        internal.static("/robots.txt", b"", "text/plain")
        defwatch = Defwatch(tmp_path)
        defwatch.write_config(
            f"""
            [store]
            url = "sqlite:///defwatch.db"

            [crawl]
            autothrottle = false
            timeout = "5s"

            [[sources]]
            name = "rebind"
            kind = "feed"
            url = "http://{NAME}:{port}/feed.xml"
            """
        )
        resolv = tmp_path / "resolv.conf"
        resolv.write_text(f"nameserver {dns.address}\noptions timeout:5 attempts:1\n")
        Store.open(f"sqlite:///{tmp_path / 'defwatch.db'}").close()
        script = f'mount --bind "{resolv}" /etc/resolv.conf && exec "$@"'
        crawl = defwatch.run_wrapped(
            ["unshare", "-m", "sh", "-c", script, "sh", sys.executable, "-m", "scheduler", "crawl"]
        )
        hits = sum(internal.hits.values())
    assert dns.answers[PUBLIC] == 1 and dns.answers["127.0.0.1"] >= 1, (dns.answers, crawl.stderr)
    assert hits == 0, (internal.hits, crawl.stdout, crawl.stderr)
    assert crawl.returncode == 1, crawl.stdout + crawl.stderr
    with Store.open(f"sqlite:///{tmp_path / 'defwatch.db'}") as store:
        (run,) = store.runs("rebind")
        assert store.count_stories() == 0
    assert run["outcome"] == "failed" and "private address" in run["reason"], run
    figure(
        "DNS rebinding (public at check, 127.0.0.1 at connect)",
        f"refused when connecting: 0 requests reached the private host ({dns.answers['127.0.0.1']} "
        "private answers refused)",
    )
