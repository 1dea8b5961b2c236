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

Hosts are resolved once per crawl (the answer is kept for the crawl). What is checked is
the address the resolver gives here; a DNS server that answers differently a moment later
(DNS rebinding) is not caught: run defwatch where internal services need authentication
anyway, or behind an egress proxy, if that matters to you.
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

ALLOW_SETTING = "DEFWATCH_ALLOW_PRIVATE"


class PrivateAddressRefused(IgnoreRequest):
    """The request's host is (or resolves to) an address defwatch does not fetch from."""


def is_public(address: str) -> bool:
    """Whether an IP address is a public, routable one."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or (isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED)
    )


_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT, not public


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
        if allow is True:
            return True
        return bool(allow) and (host in allow or f"{host}:{port}" in allow)

    async def process_request(self, request: Request) -> None:
        parts = urlsplit(request.url)
        host = parts.hostname
        if not host:
            return None
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if self.allowed(host, port):
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
