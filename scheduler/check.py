"""``defwatch check [--connect]``: what the configuration makes defwatch do (the file read,
the store and feeds, each source with its next run, each rule and where it sends, each
channel, secrets masked); with ``--connect`` also whether the store, each source and each
channel endpoint answers, by a harmless request (HEAD, an SMTP NOOP), one line each."""

from __future__ import annotations

import os
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from core.config import ChannelConfig, Config, SourceConfig
from core.logs import mask
from scheduler.overview import describe, masked_url, version

CONNECT_TIMEOUT = 15.0  # seconds at most per endpoint (less when [crawl] timeout is less)
SMTP_PORTS = {"smtp": 25, "smtps": 465}


@dataclass(frozen=True)
class Probe:
    what: str  # "store", "source jdefense", "channel hook"
    ok: bool
    said: str

    def line(self) -> str:
        return mask(f"  {'ok  ' if self.ok else 'FAIL'}  {self.what}: {self.said}")


def check(config: Config, connect: bool, out: IO[str]) -> int:
    """Print the report; 0 when all is well, 1 when something did not answer as it should."""
    d = describe(config)
    say = lambda line="": print(line, file=out, flush=True)  # noqa: E731
    say(f"defwatch {version()}")
    say(f"configuration: {d['configuration']}")
    say(f"store:         {d['store']}")
    say(f"feeds:         {d['feeds']}")
    for part in ("sources", "rules", "channels"):
        lines = d[part]
        say(f"{part} ({len(lines)}):")
        for line in lines or ["none"]:
            say(f"  {line}")
    if not connect:
        say("the configuration is valid (`defwatch check --connect` also tries the store, sources, channels)")
        return 0
    say("connecting (a HEAD request to each source and web channel, an SMTP NOOP, nothing sent):")
    timeout = min(CONNECT_TIMEOUT, config.crawl.timeout)
    probes: list[Probe] = []
    ua = config.crawl.user_agent
    steps: list[Callable[[], Probe]] = [partial(probe_store, config)]
    allow = config.crawl.allow_private
    steps += [partial(probe_source, s, ua, timeout, allow) for s in config.sources]
    steps += [partial(probe_channel, c, ua, timeout) for c in config.channels.values()]
    for step in steps:
        probes.append(step())
        say(probes[-1].line())
    failed = [p for p in probes if not p.ok]
    say(
        "all well"
        if not failed
        else f"{len(failed)} of {len(probes)} failed: {', '.join(p.what for p in failed)}"
    )
    return 1 if failed else 0


def probe_store(config: Config) -> Probe:
    from store import Store, StoreError, StoreMissing, head_revisions

    try:
        store = Store.open(config.store.url, migrate=False, create=False)
    except StoreMissing as exc:
        return Probe("store", True, f"not created yet: the first crawl creates it ({exc.where})")
    except StoreError as exc:
        return Probe("store", False, str(exc))
    try:
        if not store.ping():
            return Probe("store", False, "does not answer")
        behind = store.current_revisions() != head_revisions()
        stories = store.count_stories()
    except Exception as exc:  # a store that opens but cannot be read: that is the answer
        return Probe("store", False, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    finally:
        store.close()
    schema = (
        "schema older than this version (the next crawl or run migrates it)" if behind else "schema current"
    )
    return Probe("store", True, f"answers, {stories} stories, {schema}")


def _http(url: str, user_agent: str, timeout: float) -> tuple[int | None, str]:
    """The status of a HEAD (a GET whose body is not read, when HEAD is refused), or None
    and why there was no answer."""
    import requests

    headers = {"User-Agent": user_agent}
    try:
        with requests.head(url, headers=headers, timeout=timeout, allow_redirects=True) as r:
            status = r.status_code
        if status in (405, 501):
            with requests.get(url, headers=headers, timeout=timeout, stream=True) as r:
                status = r.status_code
        return status, f"HTTP {status}"
    except requests.Timeout:
        return None, f"no answer within {timeout:g} s"
    except requests.ConnectionError as exc:
        text = str(exc)
        host = urlsplit(url).hostname
        if "NameResolution" in text or "Name or service not known" in text or "getaddrinfo" in text:
            return None, f"cannot resolve host {host}"
        if "Connection refused" in text:
            return None, f"connection refused by {urlsplit(url).netloc}"
        return None, f"cannot connect: {text.splitlines()[0][:200]}"
    except requests.RequestException as exc:
        return None, f"{type(exc).__name__}: {str(exc)[:200]}"


def _private(url: str, allow: bool | tuple[str, ...]) -> str | None:
    """Why a crawl would refuse ``url``'s host as private (crawler.addresses), or None."""
    import socket

    from crawler.netpolicy import is_public

    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if allow is True or (allow and (host in allow or f"{host}:{port}" in allow)):
        return None
    try:
        addresses = [str(i[4][0]) for i in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]
    except (OSError, UnicodeError):
        return None  # not resolvable: the request says so
    refused = next((a for a in addresses if not is_public(a)), None)
    if refused is None:
        return None
    shown = host if refused == host.strip("[]") else f"{host} ({refused})"
    return f"{shown} is a private address, not fetched ([crawl] allow_private = true allows it)"


def probe_source(
    source: SourceConfig, user_agent: str, timeout: float, allow_private: bool | tuple[str, ...] = False
) -> Probe:
    what = f"source {source.name}"
    if not source.enabled:
        return Probe(what, True, "disabled, not tried")
    refused = _private(source.url, allow_private)
    if refused:
        return Probe(what, False, refused)
    status, said = _http(source.url, user_agent, timeout)
    return Probe(what, status is not None and status < 400, f"{said} ({source.url})")


def probe_channel(channel: ChannelConfig, user_agent: str, timeout: float) -> Probe:
    what = f"channel {channel.name}"
    # What is tried follows the type's declaration (core/channels/): its first address.
    for option in type(channel.options).declared():
        value = getattr(channel.options, option.name)
        if option.type == "url":
            # Any HTTP answer means the endpoint is there; nothing is posted.
            status, said = _http(value, user_agent, timeout)
            return Probe(what, status is not None, f"{said} to HEAD, nothing sent ({masked_url(value)})")
        if option.type == "smtp-url":
            return _probe_smtp(what, value, timeout)
        if option.type == "path":
            folder = Path(value).resolve().parent
            while not folder.exists() and folder != folder.parent:
                folder = folder.parent  # the channel creates missing folders
            ok = os.access(folder, os.W_OK)
            return Probe(what, ok, f"{folder} is {'writable' if ok else 'not writable'}")
    return Probe(what, True, f"type {channel.type}: not checked")


def _probe_smtp(what: str, url: str, timeout: float) -> Probe:
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or SMTP_PORTS.get(parts.scheme, 25)
    where = f"{parts.scheme}://{host}:{port}"
    try:
        if parts.scheme == "smtps":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                host, port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        with smtp:
            smtp.ehlo()
            code, _ = smtp.noop()
    except (OSError, smtplib.SMTPException) as exc:
        return Probe(what, False, f"{where}: {type(exc).__name__}: {str(exc)[:200] or 'no answer'}")
    return Probe(what, code == 250, f"{where} answers NOOP with {code}, nothing sent")
