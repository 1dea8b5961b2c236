"""Which addresses defwatch fetches from (``[crawl] allow_private``), without Scrapy or
Twisted: shared by the crawl's middleware (crawler.addresses) and the conditional requests
made before a crawl starts (crawler.precheck)."""

from __future__ import annotations

import ipaddress
from typing import Any

_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT, not public


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


def private_allowed(allow: Any, host: str, port: int) -> bool:
    """Whether ``[crawl] allow_private`` lets ``host`` be private: true, or a list that names
    the host or host:port."""
    if allow is True:
        return True
    return bool(allow) and (host in allow or f"{host}:{port}" in allow)
