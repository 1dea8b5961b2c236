"""What each source kind and channel type accepts: the one declaration the loader
(core/config_loader.py), the docs and ``--help`` read."""

from __future__ import annotations

from typing import Any

from core.model import WINDOWS
from core.settings import DEFAULT_TIMEZONE

# --------------------------------------------------------------------------------------
# What each source kind and channel type accepts (the one declaration config, docs and
# --help read). Spec: key -> (kind of value, default); default REQUIRED means required.
# --------------------------------------------------------------------------------------

REQUIRED = object()

SOURCE_COMMON: dict[str, tuple[str, Any]] = {
    "name": ("name", REQUIRED),
    "kind": ("str", REQUIRED),
    "url": ("url", REQUIRED),
    "schedule": ("cron", "*/15 * * * *"),
    "timezone": ("timezone", DEFAULT_TIMEZONE),
    "enabled": ("bool", True),
    "keep_params": ("list", []),
    "max_response_size": ("size", None),  # None: [crawl] max_response_size
}

SOURCE_KINDS: dict[str, dict[str, tuple[str, Any]]] = {
    "jdefense": {
        "sections": ("list", None),  # None: every section the home page's navigation links
        "selectors": ("selectors", None),  # [sources.selectors]: crawler/selectors.py
        "probe_misses": ("int", 5),
        "probe_max": ("int", 50),
    },
    "mod": {
        "feeds": ("list", ["/j/rss/news.xml", "/j/rss/update.xml"]),
        "kisha": ("str", "/j/press/kisha/kisha_ja.js"),
        "jinji": ("list", ["/j/press/jinji/{year}/index.html"]),
        "max_pdf_size": ("size", 20 * 1000**2),
        "fetch_html": ("bool", True),
    },
    "feed": {
        "fetch_articles": ("bool", False),
        "max_items": ("int", 1000),  # items read per fetch; the rest counted (crawler.spiders.feed)
        "language": ("str", None),  # ja, zh, ko: titles that read as mojibake degrade the run
    },
    "page": {
        "selector_type": ("choice:css,xpath", "css"),
        "item": ("selector", REQUIRED),
        "link": ("selector", REQUIRED),
        "title": ("selector", REQUIRED),
        "date": ("selector", None),
        "date_format": ("str", None),
        "next": ("selector", None),
        "max_pages": ("int", 5),
        "fetch_articles": ("bool", False),
        "language": ("str", None),  # ja, zh, ko: titles that read as mojibake degrade the run
    },
}

CHANNEL_COMMON: dict[str, tuple[str, Any]] = {
    "type": ("str", REQUIRED),
    "timeout": ("duration", 10.0),
    "min_interval": ("duration", 0.0),
    "digest": ("duration", None),
    "language": ("choice:en,ja", "en"),  # the default templates (alerts.templates)
    "title_template": ("str", None),  # Jinja2, sandboxed
    "body_template": ("str", None),
}

CHANNEL_TYPES: dict[str, dict[str, tuple[str, Any]]] = {
    "webhook": {"url": ("secret-url", REQUIRED), "secret": ("secret", None)},
    "slack": {"url": ("secret-url", REQUIRED), "min_interval": ("duration", 1.0)},
    "email": {
        "smtp_url": ("secret-smtp", REQUIRED),
        "from": ("str", REQUIRED),
        "to": ("list", REQUIRED),
        "require_tls": ("bool", False),
        "list_unsubscribe": ("str", None),  # a List-Unsubscribe value (mailto: or https: URL)
    },
    "file": {"path": ("str", REQUIRED)},
    "apprise": {"urls": ("list", REQUIRED)},  # Apprise URLs, secrets through ${VAR}
}

RULE_FIELDS = ("title", "summary", "body")
RULE_EVENTS = ("new", "revised", "ranking")
RANKING_WINDOWS = WINDOWS


def default_sources() -> list[dict[str, Any]]:
    return [
        {
            "name": "jdefense",
            "kind": "jdefense",
            "url": "https://j-defense.ikaros.jp/",
            "schedule": "*/15 * * * *",
        },
        {"name": "mod", "kind": "mod", "url": "https://www.mod.go.jp/", "schedule": "*/10 * * * *"},
    ]
