"""Story identity from URLs: the variants of one URL are one story, others are not."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from store import Store, StoryIn, canonical_url, url_key

MOD = "https://www.mod.go.jp/j/press/news/2025/10/17b.pdf"
ARTICLE = "https://j-defense.ikaros.jp/docs/mod/004433.html?page=2&lang=ja"

SAME = [
    (MOD, MOD + "?utm_source=twitter&utm_medium=social&utm_campaign=x", "utm-params"),
    (MOD, MOD + "?fbclid=IwAR0abc&gclid=Cj0K", "click-ids"),
    (MOD, MOD + "#page=2", "fragment"),
    (MOD, MOD.replace("https://", "http://"), "http-https"),
    (MOD, "HTTPS://WWW.MOD.GO.JP/j/press/news/2025/10/17b.pdf", "scheme-host-case"),
    (MOD, "https://www.mod.go.jp:443/j/press/news/2025/10/17b.pdf", "default-port-https"),
    (MOD, "http://www.mod.go.jp:80/j/press/news/2025/10/17b.pdf", "default-port-http"),
    ("https://www.mod.go.jp/j/press/news/", "https://www.mod.go.jp/j/press/news/index.html", "index-html"),
    ("https://www.mod.go.jp/", "https://www.mod.go.jp", "empty-path"),
    (ARTICLE, "https://j-defense.ikaros.jp/docs/mod/004433.html?lang=ja&page=2", "query-order"),
    (
        ARTICLE,
        "http://j-defense.ikaros.jp/docs/mod/004433.html?lang=ja&utm_source=rss&page=2#top",
        "all-at-once",
    ),
    ("https://x.org/a?q=%E6%97%A5%E6%9C%AC", "https://x.org/a?q=日本", "percent-encoding"),
]

DIFFERENT = [
    (MOD, "https://www.mod.go.jp/j/press/news/2025/10/17a.pdf", "other-path"),
    (ARTICLE, "https://j-defense.ikaros.jp/docs/mod/004433.html?page=3&lang=ja", "other-param-value"),
    ("https://x.org/a", "https://x.org:8080/a", "non-default-port"),
    ("https://x.org/a", "https://y.org/a", "other-host"),
    ("https://x.org/a/", "https://x.org/a/main.html", "other-file-than-index"),
]


@pytest.mark.parametrize(("a", "b"), [(a, b) for a, b, _ in SAME], ids=[i for *_, i in SAME])
def test_variants_have_one_key(a: str, b: str) -> None:
    assert url_key(a) == url_key(b)


@pytest.mark.parametrize(("a", "b"), [(a, b) for a, b, _ in DIFFERENT], ids=[i for *_, i in DIFFERENT])
def test_different_urls_have_different_keys(a: str, b: str) -> None:
    assert url_key(a) != url_key(b)


def test_canonical_url_keeps_a_fetchable_scheme() -> None:
    assert canonical_url("HTTP://WWW.Mod.GO.JP:80/j/index.html?b=2&a=1&utm_source=x#frag") == (
        "http://www.mod.go.jp/j/?a=1&b=2"
    )
    assert (
        url_key("HTTP://WWW.Mod.GO.JP:80/j/index.html?b=2&a=1&utm_source=x#frag")
        == "//www.mod.go.jp/j/?a=1&b=2"
    )


@pytest.mark.parametrize(
    "variant",
    [
        MOD + "?utm_source=twitter&utm_medium=social",
        MOD + "#page=2",
        MOD.replace("https://", "http://"),
        "http://WWW.MOD.GO.JP:80/j/press/news/2025/10/17b.pdf?fbclid=x#top",
    ],
    ids=["tracking", "fragment", "http", "everything"],
)
def test_variants_are_one_story_in_the_store(store_factory: Callable[[], Store], variant: str) -> None:
    store = store_factory()
    first = store.save_story(StoryIn(url=MOD, source="mod", title="発表", body="本文"))
    again = store.save_story(StoryIn(url=variant, source="mod", title="発表", body="本文"))
    assert again.story_id == first.story_id and again.status == "unchanged"
    assert store.count_stories() == 1
    assert store.is_known(variant)


def test_a_source_keeps_a_parameter_it_needs(store_factory: Callable[[], Store]) -> None:
    """A site that names its articles with a parameter otherwise taken for tracking."""
    store = store_factory()
    keep = ("ref_src",)
    a = store.save_story(StoryIn(url="https://x.org/view?ref_src=1", source="s", title="A", keep_params=keep))
    b = store.save_story(
        StoryIn(url="https://x.org/view?ref_src=2&utm_source=x", source="s", title="B", keep_params=keep)
    )
    assert a.story_id != b.story_id and store.count_stories() == 2
    assert store.known_keys(["http://x.org/view?ref_src=2#x", "https://x.org/view"], keep) == {
        "//x.org/view?ref_src=2"
    }
    assert url_key("https://x.org/view?ref_src=1") == "//x.org/view"  # without keep_params: tracking


# -- properties --------------------------------------------------------------------------------

_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=8)
_names = (
    st.sampled_from(["a", "b", "id", "page", "q", "utm_source", "fbclid", "gclid", "A", "日本", "x y"])
    | _text
)


@st.composite
def _urls(draw: st.DrawFn) -> tuple[str, list[tuple[str, str]]]:
    """A URL without its query, and the query's parameters (percent-encoded when joined)."""
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "hTTps"]))
    host = draw(st.sampled_from(["www.mod.go.jp", "J-Defense.Ikaros.JP", "127.0.0.1", "例え.jp", "x.org."]))
    port = draw(st.sampled_from(["", ":80", ":443", ":8080"]))
    path = "/".join(quote(p, safe="") for p in draw(st.lists(_text, max_size=4)))
    path = draw(st.sampled_from([path, path + "/index.html"]))
    fragment = draw(st.sampled_from(["", "#", "#top", "#日本"]))
    params = draw(st.lists(st.tuples(_names, _text), max_size=6))
    return f"{scheme}://{host}{port}/{path}" + "{query}" + fragment, params


def _join(template: str, params: list[tuple[str, str]]) -> str:
    query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in params)
    return template.replace("{query}", f"?{query}" if query else "")


@settings(max_examples=400, deadline=None)
@given(_urls())
def test_canonicalisation_is_idempotent(url: tuple[str, list[tuple[str, str]]]) -> None:
    once = canonical_url(_join(*url))
    assert canonical_url(once) == once
    assert url_key(once) == url_key(_join(*url))


@settings(max_examples=400, deadline=None)
@given(_urls(), st.randoms(use_true_random=False))
def test_query_parameter_order_does_not_matter(url: tuple[str, list[tuple[str, str]]], rnd: object) -> None:
    template, params = url
    shuffled = list(params)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert url_key(_join(template, params)) == url_key(_join(template, shuffled))


@settings(max_examples=200, deadline=None)
@given(_urls())
def test_http_and_https_are_one_story(url: tuple[str, list[tuple[str, str]]]) -> None:
    template, params = url
    rest = template.split("://", 1)[1]
    assume(":80/" not in rest and ":443/" not in rest)  # a default port only for its own scheme
    assert url_key(_join("http://" + rest, params)) == url_key(_join("https://" + rest, params))


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("http://[::1]:8080/a?b=1#x", "//[::1]:8080/a?b=1"),
        ("https://[2001:DB8::1]/x", "//[2001:db8::1]/x"),
    ],
    ids=["ipv6-port", "ipv6-case"],
)
def test_ipv6_hosts_keep_their_brackets(url: str, key: str) -> None:
    assert url_key(url) == key
