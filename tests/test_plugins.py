"""Every declared source kind has its spider and every declared channel type its channel,
and back: a kind or type is one declaration (core/sources/, core/channels/) and one
implementation, registered under the same name."""

from __future__ import annotations

from alerts.channels import CHANNELS, TYPES, channel_class
from core.channels import channel_types
from core.sources import source_kinds
from crawler.base import DefwatchSpider
from crawler.spiders import feed, jdefense, mod, page  # noqa: F401  (each registers its kind)


def test_every_source_kind_has_a_spider_and_every_spider_a_kind() -> None:
    assert list(source_kinds()) == ["jdefense", "mod", "feed", "page"]  # the order errors list
    assert set(DefwatchSpider.kinds) == set(source_kinds())


def test_every_channel_type_has_a_channel_and_every_channel_a_type() -> None:
    assert list(channel_types()) == ["webhook", "slack", "email", "file", "apprise"]
    assert tuple(channel_types()) == TYPES  # each type's module is imported when first built
    for name in TYPES:
        assert channel_class(name).type == name
    assert set(CHANNELS) == set(channel_types())


def test_a_spider_reads_its_kinds_options_as_attributes() -> None:
    for kind, options in source_kinds().items():
        spider = DefwatchSpider.kinds[kind]
        assert spider.__annotations__.get("options") == options.__name__, kind
