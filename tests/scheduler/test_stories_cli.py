"""``defwatch stories show URL`` as a user runs it: the story, its copies, its revisions."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from imitations import shared_story
from store import Store
from store.copies import CopyDetector
from tests.conftest import Defwatch
from tests.ingesting import ingesting
from tests.store.test_copies import ARTICLE, JDEFENSE_SITE, MOD_SITE, jdefense_article, ministry_release

MOD_URL = MOD_SITE + shared_story.MOD_PATH
JD_URL = JDEFENSE_SITE + ARTICLE.path
TYPO = shared_story.MOD_TITLE.replace("次官級", "次官")


@pytest.fixture
def filled(defwatch: Defwatch) -> Iterator[Defwatch]:
    """The default store of ``defwatch`` in its working directory, holding the shared
    story twice (the ministry's title corrected once) and one unrelated story."""
    with Store.open(f"sqlite:///{defwatch.cwd / 'data' / 'defwatch.db'}") as store:
        ingesting(store, copies=CopyDetector.install(store))
        store.save_story(jdefense_article())
        store.save_story(ministry_release(title=TYPO))
        store.save_story(ministry_release())
        store.save_story(
            jdefense_article(
                url=JDEFENSE_SITE + "/docs/world/004434.html",
                title="別の記事",
                body="インド海軍は、国産空母で艦載機の運用試験を開始した。" * 3,
            )
        )
    yield defwatch


def test_show_the_origin_with_its_copy_and_revision(filled: Defwatch) -> None:
    result = filled("stories", "show", MOD_URL)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"story      {shared_story.MOD_TITLE}" in out
    assert f"url        {MOD_URL}" in out
    assert "published  2025-10-17 16:00 JST" in out
    assert "copy of" not in out
    assert "copies: 2 stories, origin first" in out
    origin_line = next(line for line in out.splitlines() if line.strip().startswith("origin"))
    copy_line = next(line for line in out.splitlines() if line.strip().startswith("copy  "))
    assert MOD_URL in origin_line and "(this story)" in origin_line
    assert JD_URL in copy_line and "jdefense" in copy_line and "2025-10-20 09:10 JST" in copy_line
    assert out.index(origin_line) < out.index(copy_line)
    assert "revisions: 1, oldest first" in out
    assert f"title changed; was: {TYPO}" in out


def test_show_a_copy_by_any_variant_of_its_url(filled: Defwatch) -> None:
    variant = JD_URL.replace("https://", "http://") + "?utm_source=rss&utm_medium=feed#comments"
    result = filled("stories", "show", variant)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"story      {shared_story.JDEFENSE_TITLE}" in out
    assert f"copy of    {MOD_URL} (similarity 0.8" in out
    assert "(this story)" in next(line for line in out.splitlines() if JD_URL in line and "copy  " in line)
    assert "revisions: none" in out


def test_show_a_story_without_copies(filled: Defwatch) -> None:
    result = filled("stories", "show", JDEFENSE_SITE + "/docs/world/004434.html")
    assert result.returncode == 0, result.stderr
    assert "copies: none" in result.stdout and "revisions: none" in result.stdout


def test_a_url_not_in_the_store_is_one_line_and_exit_2(filled: Defwatch) -> None:
    result = filled("stories", "show", "https://www.mod.go.jp/j/press/news/2025/10/99z.pdf")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "defwatch: stories show: https://www.mod.go.jp/j/press/news/2025/10/99z.pdf is not in the store"
    )
    assert result.stdout == ""


def test_a_parameter_a_source_keeps_is_part_of_the_url(defwatch: Defwatch) -> None:
    defwatch.write_config(
        '[[sources]]\nname = "board"\nkind = "feed"\nurl = "https://board.example/feed"\n'
        'keep_params = ["ref_src"]\n'
    )
    with Store.open(f"sqlite:///{defwatch.cwd / 'data' / 'defwatch.db'}") as store:
        for n in (1, 2):
            store.save_story(
                jdefense_article(
                    url=f"https://board.example/view?ref_src={n}",
                    source="board",
                    title=f"掲示 {n}",
                    keep_params=("ref_src",),
                )
            )
    result = defwatch("stories", "show", "https://board.example/view?utm_source=x&ref_src=2")
    assert result.returncode == 0, result.stderr
    assert "story      掲示 2" in result.stdout


# -- stories list | search ------------------------------------------------------------------


def with_rules(defwatch: Defwatch) -> Defwatch:
    defwatch.write_config(
        f"""
        [[sources]]
        name = "jdefense"
        kind = "jdefense"
        url = "{JDEFENSE_SITE}/"

        [[sources]]
        name = "mod"
        kind = "mod"
        url = "{MOD_SITE}/"

        [[rules]]
        name = "asean"
        keywords = ["ASEAN"]
        """
    )
    return defwatch


def test_list_newest_first_with_rules_and_copies(filled: Defwatch) -> None:
    result = with_rules(filled)("stories", "list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    titles = lines[0::2]
    assert len(titles) == 3
    assert "別の記事" in titles[0]  # the newest
    [release] = [t for t in titles if shared_story.MOD_TITLE in t]
    assert (
        release.startswith("2025-10-17 16:00 JST  mod") and "[asean]" in release and "(+1 copies)" in release
    )
    [article] = [t for t in titles if shared_story.JDEFENSE_TITLE in t]
    assert "(copy)" in article
    assert lines[lines.index(release) + 1].strip() == MOD_URL


def test_list_filters_by_source_rule_and_age_as_json(filled: Defwatch) -> None:
    import json

    defwatch = with_rules(filled)
    by_source = json.loads(defwatch("stories", "list", "--source", "mod", "--json").stdout)
    assert [s["url"] for s in by_source] == [MOD_URL]
    assert by_source[0]["published"] == "2025-10-17T16:00:00+09:00" and by_source[0]["copies"] == 1
    by_rule = json.loads(defwatch("stories", "list", "--rule", "asean", "--json").stdout)
    assert {s["url"] for s in by_rule} == {MOD_URL, JD_URL}
    recent = defwatch("stories", "list", "--since", "7d", "--json")
    assert recent.returncode == 0 and {s["title"] for s in json.loads(recent.stdout)} <= {"別の記事"}


@pytest.mark.parametrize("typed", ["ASEAN", "ＡＳＥＡＮ", "asean"])
def test_search_finds_both_sites_whatever_the_width(filled: Defwatch, typed: str) -> None:
    import json

    result = filled("stories", "search", typed, "--json")
    assert result.returncode == 0, result.stderr
    assert {s["url"] for s in json.loads(result.stdout)} == {MOD_URL, JD_URL}


def test_search_two_characters_and_nothing_found(filled: Defwatch) -> None:
    found = filled("stories", "search", "空母")
    assert found.returncode == 0 and "別の記事" in found.stdout
    none = filled("stories", "search", 'NEAR("x" OR *)')
    assert none.returncode == 0 and none.stdout == "no stories match\n"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("list", "--rule", "nope"), "no such rule"),
        (("list", "--source", "nope"), "no such source"),
        (("list", "--since", "soon"), "is not a duration"),
        (("search", "x" * 1000), "長すぎます"),
    ],
)
def test_mistakes_are_one_line(filled: Defwatch, args: tuple[str, ...], says: str) -> None:
    result = with_rules(filled)("stories", *args)
    assert result.returncode == 2 and says in result.stderr and len(result.stderr.splitlines()) == 1
