"""Story identity from URLs: one canonical form per story however a link was written.

The key drops the scheme (http and https of one host are one story), default ports,
fragments and tracking parameters, sorts the query and folds a trailing index.html.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

TRACKING_PARAMS = re.compile(
    r"^(utm_[a-z0-9_]+|fbclid|gclid|dclid|gbraid|wbraid|msclkid|yclid|mc_cid|mc_eid|_ga|_gl|igshid|"
    r"ref_src|spm|__twitter_impression|ocid|cmpid|mkt_tok)$",
    re.IGNORECASE,
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_url(url: str, keep_params: Iterable[str] = (), fragment: bool = False) -> str:
    """The URL in canonical form, scheme kept (so it can still be fetched).

    With ``fragment`` the fragment is kept: it identifies an item on a page that several
    items link (a "what's new" list linking anchors of one page)."""
    keep = {p.lower() for p in keep_params}
    try:
        url = canonicalize_url(url.strip(), keep_fragments=fragment)
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # e.g. an IPv6 literal w3lib cannot parse, or a bad port
        parts = urlsplit(url.strip())
        port = None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if ":" in host:  # IPv6 literal: keep its brackets
        host = f"[{host}]"
    netloc = host if port is None or _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    path = parts.path or "/"
    if path.endswith("/index.html") or path.endswith("/index.htm"):
        path = path[: path.rfind("/") + 1]
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() in keep or not TRACKING_PARAMS.match(k)
    ]
    query.sort()
    return urlunsplit((scheme, netloc, path, urlencode(query), parts.fragment if fragment else ""))


def url_key(url: str, keep_params: Iterable[str] = (), fragment: bool = False) -> str:
    """The identity of a story's URL: canonical, without the scheme (``//host/path?q``).

    This is identity only: the link a story shows is the URL as the site gave it (the
    ``link`` column)."""
    return key_of(canonical_url(url, keep_params, fragment))


def key_of(canonical: str) -> str:
    """The key of a URL already in canonical form (:func:`canonical_url`)."""
    return canonical.split(":", 1)[1] if ":" in canonical else canonical
