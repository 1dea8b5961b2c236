"""Outbound requests go to public addresses only, unless ``[crawl] allow_private = true``.

A feed that redirects to ``http://127.0.0.1:PORT/admin``, or whose items link to
``http://169.254.169.254/`` (a cloud's metadata service) or ``http://10.0.0.5/``, would
otherwise make defwatch fetch an internal page and publish it in its feeds and alerts.
:class:`PrivateAddressMiddleware` resolves every request's host before it is sent and refuses
loopback, link-local, private, unique-local, multicast, reserved and unspecified addresses.
Scrapy sends each redirect as a new request through the same middleware, so every hop is
checked, and so are robots.txt requests.

``allow_private = ["intranet.example", "127.0.0.1:8080"]`` allows those hosts (or host:port)
to be private and refuses every other private address, redirects included.

The address connected to is checked too: :class:`PublicOnlyResolver` (Scrapy's
``TWISTED_DNS_RESOLVER``) refuses a private answer when the download resolves the host to
connect, so a DNS server that answers a public address to the check and a private one a
moment later (DNS rebinding) gets nothing. The middleware's check before it gives the clear
reason early and covers hosts written as IP addresses, which are never resolved.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.resolver import CachingThreadedResolver
from twisted.internet.defer import Deferred
from twisted.internet.error import DNSLookupError

from crawler.netpolicy import is_public, private_allowed

ALLOW_SETTING = "DEFWATCH_ALLOW_PRIVATE"


class PrivateAddressRefused(IgnoreRequest):
    """The request's host is (or resolves to) an address defwatch does not fetch from."""


async def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the host itself when it is an IP address)."""
    try:
        ipaddress.ip_address(host.strip("[]"))
        return [host.strip("[]")]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def allowed_hosts(allow: Any) -> bool | set[str]:
    """``[crawl] allow_private`` as the resolver sees it: true, or the host names allowed
    (without their ports: the resolver is not told the port; the middleware checks it)."""
    if allow is True or not allow:
        return bool(allow)
    hosts = set()
    for entry in allow:
        host, sep, port = str(entry).rpartition(":")
        hosts.add((host if sep and port.isdigit() else str(entry)).strip("[]"))
    return hosts


class PublicOnlyResolver(CachingThreadedResolver):
    """Scrapy's resolver, refusing a private answer for a host ``allow_private`` does not
    name: what the download connects to is checked, not only what the middleware saw."""

    allow: bool | set[str] = False

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: Any) -> PublicOnlyResolver:
        resolver = super().from_crawler(crawler, reactor)
        resolver.allow = allowed_hosts(crawler.settings.get(ALLOW_SETTING))
        return resolver

    def getHostByName(self, name: str, timeout: Any = ()) -> Deferred[str]:
        answer: Deferred[str] = super().getHostByName(name, timeout)
        if self.allow is True or (self.allow and name in self.allow) or name in ALLOWED_BY_MIDDLEWARE:
            return answer
        if _is_ip(name):  # an address, not a name: checked by the middleware, never rebound
            return answer
        return answer.addCallback(self._public, name)

    @staticmethod
    def _public(address: str, name: str) -> str:
        if not is_public(address):
            # Twisted reports any failed lookup as "no results" (a DNSLookupError, which it
            # expects; anything else it logs as a crash): the reason is kept here for the run.
            REFUSED_AT_CONNECT[name] = address
            raise DNSLookupError(f"{name} resolved to the private address {address}")
        return address


# Hosts the middleware let be private (``allow_private`` as a spider's configuration has it,
# which the process-wide resolver is not given under ``scrapy crawl -a config=…``).
ALLOWED_BY_MIDDLEWARE: set[str] = set()


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


# Hosts whose address was refused when connecting, with that address (for the reason).
REFUSED_AT_CONNECT: dict[str, str] = {}


def refused_at_connect(host: str | None) -> str | None:
    """Why ``host`` could not be looked up, when it was PublicOnlyResolver's refusal."""
    address = REFUSED_AT_CONNECT.get(host or "")
    if address is None:
        return None
    return (
        f"{host} ({address}) is a private address, not fetched: it resolved to a public one "
        "when checked, then to this one when connecting (DNS rebinding?)"
    )


class PrivateAddressMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.verdicts: dict[str, str | None] = {}  # host -> the refused address, or None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PrivateAddressMiddleware:
        return cls(crawler)

    def allowed(self, host: str, port: int) -> bool:
        """Whether ``[crawl] allow_private`` lets ``host`` be private: true, or a list that
        names the host or host:port."""
        allow: Any = self.crawler.settings.get(ALLOW_SETTING)
        if not allow:
            config: Any = getattr(self.crawler.spider, "config", None)
            allow = getattr(getattr(config, "crawl", None), "allow_private", False)
        return private_allowed(allow, host, port)

    async def process_request(self, request: Request) -> None:
        parts = urlsplit(request.url)
        host = parts.hostname
        if not host:
            return None
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if self.allowed(host, port):
            ALLOWED_BY_MIDDLEWARE.add(host)
            return None
        if host not in self.verdicts:
            try:
                addresses = await resolve(host, port)
            except (OSError, UnicodeError):
                return None  # not resolvable: the download fails and says so
            self.verdicts[host] = next((a for a in addresses if not is_public(a)), None)
        refused = self.verdicts[host]
        if refused is not None:
            shown = host if refused == host.strip("[]") else f"{host} ({refused})"
            raise PrivateAddressRefused(
                f"{shown} is a private address, not fetched ([crawl] allow_private = true allows it)"
            )
        return None
