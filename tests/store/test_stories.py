"""Saving stories: one per canonical URL, changes kept as revisions."""

from __future__ import annotations

from collections.abc import Callable

from store import Store, StoryIn


def test_new_unchanged_revised(store_factory: Callable[[], Store]) -> None:
    store = store_factory()
    first = store.save_story(StoryIn(url="https://x.org/a", source="s", title="Old title", body="body"))
    assert first.status == "new"
    assert (
        store.save_story(StoryIn(url="http://x.org/a#top", source="s", title="Old title", body="body")).status
        == "unchanged"
    )
    revised = store.save_story(
        StoryIn(url="https://x.org/a?utm_source=x", source="s", title="New title", body="body")
    )
    assert revised == type(first)(first.story_id, "revised")
    assert store.count_stories() == 1
    [rev] = store.revisions(first.story_id)
    assert rev["title"] == "Old title"
    assert store.get_story("https://x.org/a")["title"] == "New title"  # type: ignore[index]


def test_title_only_copy_never_replaces_full_text(store_factory: Callable[[], Store]) -> None:
    store = store_factory()
    store.save_story(StoryIn(url="https://x.org/b", source="s", title="T", body="full text"))
    result = store.save_story(StoryIn(url="https://x.org/b", source="s", title="T", complete=False))
    assert result.status == "unchanged"
    assert store.get_story("https://x.org/b")["body"] == "full text"  # type: ignore[index]


def test_known_keys_compare_by_identity(store_factory: Callable[[], Store]) -> None:
    store = store_factory()
    store.save_story(StoryIn(url="https://x.org/c?b=2&a=1", source="s", title="T"))
    assert store.known_keys(["http://x.org/c?a=1&b=2&utm_medium=rss", "https://x.org/d"]) == {
        "//x.org/c?a=1&b=2"
    }


def test_urls_by_number_highest_first_whatever_the_order_stored(store_factory: Callable[[], Store]) -> None:
    store = store_factory()
    assert store.has_stories("jd") is False
    for url in (
        "https://j.example/docs/mod/000120.html",
        "https://j.example/docs/world/000131.html",  # another section, a higher id
        "https://j.example/docs/mod/000099.html",
        "https://j.example/docs/mod/index.html",  # no number
        "https://j.example/docs/mod/0001234.html",  # seven characters
    ):
        store.save_story(StoryIn(url=url, source="jd", title=url))
    store.save_story(StoryIn(url="https://other.example/docs/mod/000999.html", source="other", title="x"))
    assert store.has_stories("jd") is True
    assert store.urls_by_number("jd", 6, ".html") == [
        "https://j.example/docs/world/000131.html",
        "https://j.example/docs/mod/000120.html",
        "https://j.example/docs/mod/000099.html",
    ]
    assert store.urls_by_number("jd", 6, ".html", limit=1) == ["https://j.example/docs/world/000131.html"]
