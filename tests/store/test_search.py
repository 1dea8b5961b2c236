"""Full-text search in the store (store.search): Japanese-aware, every word required, newest
first, the index kept in the transaction that saves a story and filled for stores that had
stories before it existed; whatever is typed is searched for as text."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from core.text import normalize
from store import Store, StoryIn, search
from store import schema as t

T0 = datetime(2025, 10, 1, tzinfo=UTC)

STORIES = [
    ("日ＡＳＥＡＮ防衛当局次官級会合の開催について", "第17回日ASEAN防衛当局次官級会合を開催します。"),
    ("日豪防衛相会談", "日豪の防衛協力について意見交換を行った。"),
    ("人事発令(10月15日付 １佐職人事)", "将官人事を掲載"),
    ("F-2 後継機の開発", "次期戦闘機 F2 の後継として"),
    ("ASEAN defence ministers meet", "Ministers of the ASEAN member states met in Tokyo."),
    ('記号 "引用" と 100% の話', "アンダースコア a_b とパーセント 100% を含む本文"),
]


def save_all(store: Store) -> list[int]:
    ids = []
    for n, (title, body) in enumerate(STORIES):
        saved = store.save_story(
            StoryIn(
                url=f"https://example.jp/{n}.html",
                source="mod" if n % 2 else "jdefense",
                title=title,
                body=body,
                published=T0 + timedelta(hours=n),
            )
        )
        ids.append(saved.story_id)
    return ids


def find(store: Store, typed: str, **kw: object) -> list[int]:
    with store.engine.connect() as conn:
        return search.search(conn, search.parse(typed), **kw)  # type: ignore[arg-type]


def oracle(store: Store, typed: str) -> list[int]:
    """Plain Python over every story, newest first."""
    words = normalize(typed).split()
    rows = store.stories()
    return [
        r["id"]
        for r in rows
        if words and all(w in normalize(f"{r['title']}\n{r['summary']}\n{r['body']}") for w in words)
    ]


@pytest.fixture
def store(store_factory: Callable[..., Store]) -> Store:
    s = store_factory()
    save_all(s)
    return s


@pytest.mark.parametrize(
    "typed",
    [
        "ASEAN",
        "ＡＳＥＡＮ",
        "asean",
        "日豪",
        "人事発令",
        "人事",
        "防衛 会合",
        "f2",
        "F-2",
        "100%",
        "a_b",
        '"引用"',
    ],
)
def test_search_finds_what_a_plain_scan_finds_newest_first(store: Store, typed: str) -> None:
    expected = oracle(store, typed)
    assert expected, typed
    assert find(store, typed) == expected


@pytest.mark.parametrize(
    "typed", ['"', "*", "NEAR(a b)", "a OR b", "x AND y", "'; DROP TABLE stories; --", "%", "_"]
)
def test_query_syntax_is_searched_as_text(store: Store, typed: str) -> None:
    assert find(store, typed) == oracle(store, typed)
    assert store.count_stories() == len(STORIES)


def test_a_source_narrows_and_paging_pages(store: Store) -> None:
    everything = find(store, "防衛")
    source_of = {r["id"]: r["source"] for r in store.stories()}
    mod_only = find(store, "防衛", sources=["mod"])
    assert mod_only and mod_only == [i for i in everything if source_of[i] == "mod"] != everything
    assert find(store, "防衛", limit=1) + find(store, "防衛", limit=10, offset=1) == everything


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("x" * 10_000, "長すぎます"),
        ("ASEAN\x00", "制御文字"),
        ("a\x1b[31m", "制御文字"),
        ("a b c d e f g h i", "多すぎます"),
    ],
)
def test_queries_nobody_means_are_refused_with_a_message(typed: str, says: str) -> None:
    with pytest.raises(search.SearchError, match=says):
        search.parse(typed)


def test_an_empty_query_finds_nothing(store: Store) -> None:
    assert search.parse("   ").words == ()
    assert find(store, "  ") == []


def test_the_index_follows_revisions_and_deletions(store: Store) -> None:
    [first] = find(store, "日豪防衛相")
    store.save_story(
        StoryIn(url="https://example.jp/1.html", source="mod", title="豪州との会談", body="改訂された本文")
    )
    assert find(store, "日豪防衛相") == []
    assert find(store, "改訂された") == [first]
    with store.transaction() as conn:
        conn.execute(delete(t.stories).where(t.stories.c.id == first))
    assert find(store, "改訂された") == []


def test_a_failed_save_leaves_the_index_as_it_was(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction() as conn:
        store.save_story(
            StoryIn(url="https://example.jp/new.html", source="mod", title="幻の記事", body="x"), conn
        )
        assert search.search(conn, search.parse("幻の記事")) != []
        raise RuntimeError("rolled back")
    assert find(store, "幻の記事") == []


def test_stories_stored_before_the_index_are_found_after_the_upgrade(tmp_path: Path) -> None:
    from alembic import command

    from store.versions import alembic_config as _alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = Store.open(url)
    with old.engine.begin() as conn:  # a store from before the search: every other migration
        command.downgrade(_alembic_config(conn), "0009_short_words@-3")
    assert not {"0006_search", "0006b_search", "0009_short_words"} & old.current_revisions()
    with old.engine.connect() as conn:
        assert search.backend(conn).name == "like"
    save_all(old)
    old.close()
    upgraded = Store.open(url)
    try:
        with upgraded.engine.connect() as conn:
            assert search.backend(conn).name == "fts5-trigram"
        assert find(upgraded, "ＡＳＥＡＮ") == oracle(upgraded, "ASEAN") != []
        assert find(upgraded, "次官級会合") == oracle(upgraded, "次官級会合") != []
        assert find(upgraded, "豪") == oracle(upgraded, "豪") != []
    finally:
        upgraded.close()


def test_the_order_and_the_lookup_use_indexes(store: Store) -> None:
    with store.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            assert search.backend(conn).name == "pg-trigram"
            conn.exec_driver_sql("SET enable_seqscan = off")  # a tiny table is scanned otherwise
            plan = " | ".join(search.query_plan(conn, search.parse("防衛当局")))
            assert "ix_stories_text_trgm" in plan, plan
            # Short words alone: the index of each text's characters and pairs of characters.
            for typed in ("日豪", "艦", "日豪 艦"):
                short = " | ".join(search.query_plan(conn, search.parse(typed)))
                assert "ix_stories_grams" in short, short
            return
        plan = " | ".join(search.query_plan(conn, search.parse("防衛当局")))
        assert "VIRTUAL TABLE" in plan
        # A short word: the stories whose trigrams begin with it, or whose text ends with it.
        short = " | ".join(search.query_plan(conn, search.parse("日豪")))
        assert "VIRTUAL TABLE" in short and "ix_stories_tail2" in short, short
        one = " | ".join(search.query_plan(conn, search.parse("艦")))
        assert "ix_stories_tail2" in one and "ix_stories_tail1" in one, one


@pytest.mark.parametrize("recent", [1, 1000])
def test_words_of_one_or_two_characters_are_found_anywhere_in_a_text(
    store: Store, recent: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Where a trigram begins with the word, and at the very end of a text (no trigram
    # begins there), and in texts of one and two characters; looked up in the index (past
    # the newest story) and found walking the newest stories.
    monkeypatch.setattr(search.Fts5Search, "RECENT", recent)
    monkeypatch.setattr(search.TrigramSearch, "RECENT", recent)
    for n, (title, body) in enumerate([("新型の哨戒艦", "哨戒艦"), ("艦", ""), ("日豪", ""), ("X", "豪")]):
        store.save_story(
            StoryIn(
                url=f"https://example.jp/short/{n}.html",
                source="mod",
                title=title,
                body=body,
                published=T0 + timedelta(days=1, hours=n),
            )
        )
    texts = [normalize(f"{r['title']}\n{r['summary']}\n{r['body']}") for r in store.stories()]
    words = {c for text in texts for c in text if not c.isspace()}
    words |= {w for text in texts for w in (text[:2], text[-2:], text[-3:-1]) if w.strip() == w}
    for word in sorted(words):
        assert find(store, word) == oracle(store, word), word


def test_highlight_marks_what_matched_in_the_text_as_shown() -> None:
    pieces = search.highlight("日ＡＳＥＡＮ防衛", ["asean"])
    assert pieces == [("日", False), ("ＡＳＥＡＮ", True), ("防衛", False)]
    assert "".join(p for p, _ in search.highlight("Ａ　Ｂ x", ["a b"])) == "Ａ　Ｂ x"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.sampled_from('日豪ASEANａｓ人事 "*%_()-:^'), max_size=12))
def test_any_short_query_agrees_with_the_plain_scan(store: Store, typed: str) -> None:
    assert find(store, typed) == oracle(store, typed)


def test_the_like_backend_agrees_with_fts5(store: Store) -> None:
    # The portable backend (and the seam a PostgreSQL one plugs into) finds the same stories.
    like = search.LikeSearch()
    with store.engine.connect() as conn:
        for typed in ("ASEAN", "日豪", "人事発令", "100%"):
            query = search.parse(typed)
            rows = conn.execute(
                select(t.stories.c.id).where(like.where(conn, query)).order_by(*search.newest_first())
            ).scalars()
            assert list(rows) == find(store, typed)


def test_both_plans_give_the_same_answer(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    # Few matches are looked up by id and sorted; many are found among the newest stories
    # or, when those do not fill the page, walking the order.
    few = {typed: find(store, typed) for typed in ("ASEAN", "防衛当局", "asean 日豪", "日豪", "豪")}
    monkeypatch.setattr(search.Fts5Search, "FEW", 1)
    with store.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            assert "ix_stories_shown" in " | ".join(search.query_plan(conn, search.parse("防衛当局")))
    for typed, expected in few.items():
        assert find(store, typed) == expected == oracle(store, typed)
    # Many matches are first looked for among the newest stories (here only the newest).
    monkeypatch.setattr(search.Fts5Search, "RECENT", 1)
    for typed, expected in few.items():
        assert find(store, typed) == expected


@pytest.mark.parametrize("at", [0, 500, 999, 1000, 3000])
def test_an_excerpt_shows_the_first_match_wherever_it_is_in_a_long_body(at: int) -> None:
    body = "防衛" * (at // 2) + ("。" if at % 2 else "") + "ＡＳＥＡＮ会合" + "の" * 4000
    shown = search.excerpt(body, ["asean"])
    assert "ＡＳＥＡＮ" in shown and len(shown) <= 162
    assert shown.startswith("…") == (at > 160 // 3) and shown.endswith("…")
