"""Full-text search over stories: the one module with the search SQL.

What is searched is ``stories.text_norm`` (title, summary and body, NFKC, case- and
whitespace-folded by ``core.text.normalize``), and a query is normalized the same way, so
ＡＳＥＡＮ finds ASEAN. A query is one or more words, all of which must occur (as
substrings: Japanese has no spaces between words). Results are newest first, in the order
the feeds use (published, else fetched; then id).

Backends (the seam for another database):

- :class:`Fts5Search` (SQLite): the FTS5 table ``story_search`` with the trigram tokenizer,
  an external-content index over ``stories.text_norm`` kept by triggers (migration
  ``0006_search``), so a story is indexed in the very transaction that saves it. Trigrams
  need three characters: words of one or two characters (日豪, F2) are checked with LIKE on
  the candidates the longer words found. When every word is short, the stories holding the
  rarest are those with a trigram beginning with it (the index's own terms, read through the
  fts5vocab table ``story_search_terms``) or a text ending with it (``ix_stories_tail1`` and
  ``ix_stories_tail2``, migration ``0009_short_words``), looked up by id; a common one (a
  thousand stories or more) is found by walking the stories newest first until a page is full.
- :class:`TrigramSearch` (PostgreSQL): the same LIKE conditions, served by the ``pg_trgm``
  GIN index ``ix_stories_text_trgm`` on ``text_norm`` (migration ``0007_pg_search``) for
  words of three characters or more; shorter words are checked on what those found. When
  every word is short, a common one is found among the newest stories (as on SQLite), a
  rarer one through the GIN index ``ix_stories_grams`` on ``story_grams(text_norm)``, the
  distinct characters and pairs of characters of each text (migration
  ``0010_pg_short_words``), then checked with LIKE.
- :class:`LikeSearch`: any database, LIKE over ``text_norm``.

Whatever the user typed is data: every word is quoted as an FTS5 phrase and LIKE
wildcards are escaped, so ``"``, ``*``, ``NEAR``, ``OR`` or SQL are searched for as text.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import String, Text, and_, bindparam, func, literal_column, select, table, text, union
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import ColumnElement

from core.text import normalize
from store import schema as t

if TYPE_CHECKING:
    from sqlalchemy import Connection

__all__ = [
    "MAX_QUERY_CHARS",
    "MAX_WORDS",
    "Fts5Search",
    "LikeSearch",
    "Query",
    "SearchError",
    "TrigramSearch",
    "backend",
    "newest_first",
    "parse",
    "search",
]

MAX_QUERY_CHARS = 200
MAX_WORDS = 8
TRIGRAM = 3  # the shortest word the trigram index can look up

FTS_TABLE = "story_search"
TERMS_TABLE = "story_search_terms"  # its terms (fts5vocab, migration 0009_short_words)
EXCERPT_FIRST = 1000  # characters of a body an excerpt looks for the words in first
LAST_CHAR = "\U0010ffff"  # sorts after every character (UTF-8 compares bytewise)
_fts = table(FTS_TABLE, literal_column("rowid"))


class SearchError(ValueError):
    """A query that cannot be searched; the message is one line for the user (in Japanese
    with the English after it)."""


@dataclass(frozen=True)
class Query:
    text: str  # as typed, trimmed
    words: tuple[str, ...]  # normalized, distinct, longest first

    @property
    def long_words(self) -> tuple[str, ...]:
        return tuple(w for w in self.words if len(w) >= TRIGRAM)

    @property
    def short_words(self) -> tuple[str, ...]:
        return tuple(w for w in self.words if len(w) < TRIGRAM)


def parse(typed: str) -> Query:
    """The words of a query, or SearchError for one nobody can mean: control characters,
    over MAX_QUERY_CHARS characters or MAX_WORDS words. An empty query has no words."""
    if any(unicodedata.category(c) == "Cc" and c not in "\t\n\r" for c in typed):
        raise SearchError("検索語に制御文字が含まれています (control characters in the query)")
    trimmed = " ".join(typed.split())
    if len(trimmed) > MAX_QUERY_CHARS:
        raise SearchError(
            f"検索語が長すぎます: {MAX_QUERY_CHARS}文字まで (query over {MAX_QUERY_CHARS} characters)"
        )
    words: list[str] = []
    for word in normalize(trimmed).split():
        if word not in words:
            words.append(word)
    if len(words) > MAX_WORDS:
        raise SearchError(f"語が多すぎます: {MAX_WORDS}語まで (more than {MAX_WORDS} words)")
    # A word inside another adds nothing (and the longest one narrows the most).
    kept = [w for w in words if not any(w != o and w in o for o in words)]
    kept.sort(key=len, reverse=True)
    return Query(trimmed, tuple(kept))


def newest_first() -> list[ColumnElement[Any]]:
    """The order of every story list: published (else fetched) newest first, then id.
    ``ix_stories_shown`` (migration 0006_search) serves it."""
    return [func.coalesce(t.stories.c.published, t.stories.c.fetched).desc(), t.stories.c.id.desc()]


def _like_pattern(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _contains(word: str) -> ColumnElement[bool]:
    return t.stories.c.text_norm.like(_like_pattern(word), escape="\\")


def _fts_phrase(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


class Backend(Protocol):
    name: str

    def where(self, conn: Connection, query: Query) -> ColumnElement[bool]:
        """A condition on ``stories`` true for the stories that match every word."""
        ...


class LikeSearch:
    """Any database: every word as a LIKE substring of text_norm (a scan, newest first)."""

    name = "like"

    def where(self, conn: Connection, query: Query) -> ColumnElement[bool]:
        return and_(*(_contains(w) for w in query.words))


class TrigramSearch(LikeSearch):
    """PostgreSQL with pg_trgm: LIKE, which the trigram GIN index serves; words of one or
    two characters alone through the index of each text's characters and pairs."""

    name = "pg-trigram"
    RECENT = 2000  # the newest stories a query of short words is first looked for among

    def where(self, conn: Connection, query: Query) -> ColumnElement[bool]:
        conditions = [_contains(w) for w in query.words]
        if not query.long_words and self.has_terms(conn):
            grams = bindparam("grams", list(query.short_words), type_=postgresql.ARRAY(Text))
            conditions.insert(0, func.story_grams(t.stories.c.text_norm).op("@>")(grams))
        return and_(*conditions)

    def has_terms(self, conn: Connection) -> bool:
        """Whether short words can be looked up (migration 0010_pg_short_words)."""
        return bool(conn.execute(text("SELECT to_regclass('ix_stories_grams') IS NOT NULL")).scalar())


class Fts5Search:
    """SQLite FTS5 trigram index for the words of three characters or more, LIKE for the
    shorter ones (on what the index found, when there is a longer word).

    Two plans, chosen by a bounded count of the matches: a few (under ``FEW``) are looked
    up by id and sorted; many are first looked for with LIKE among the RECENT newest stories
    (:func:`search`), else found by walking the stories newest first (the order's index) and
    keeping those in the match set, which stops as soon as a page is full (sorting 60,000
    matches of 防衛省 took 470 ms at 100,000 stories, the walk 30 ms)."""

    name = "fts5-trigram"
    FEW = 1000
    MAX_TERMS = 2000  # trigrams beginning with a short word, past which it is walked for
    RECENT = 2000  # the newest stories a query of short words is first looked for among

    def where(self, conn: Connection, query: Query, many: bool | None = None) -> ColumnElement[bool]:
        conditions: list[ColumnElement[bool]] = []
        if query.long_words:
            found = self._found(query)
            if many is None:
                many = self.many(conn, query)
            # "+ 0" keeps SQLite from looking the matches up by id: it walks the order instead.
            story_id: Any = t.stories.c.id + 0 if many else t.stories.c.id
            conditions.append(story_id.in_(found))
        elif self.has_terms(conn):
            few = self._short_word_stories(conn, query.short_words)
            if few is not None:
                conditions.append(t.stories.c.id.in_(few))
        conditions.extend(_contains(w) for w in query.short_words)
        return and_(*conditions)

    @staticmethod
    def _found(query: Query) -> Any:
        match = " ".join(_fts_phrase(w) for w in query.long_words)
        matches = text(f"{FTS_TABLE} MATCH :m").bindparams(bindparam("m", match, type_=String))
        return select(literal_column("rowid")).select_from(_fts).where(matches)

    def many(self, conn: Connection, query: Query) -> bool:
        """Whether the long words of ``query`` are in FEW stories or more (a bounded count)."""
        probe = select(func.count()).select_from(self._found(query).limit(self.FEW).subquery())
        return bool(conn.execute(probe).scalar_one() >= self.FEW)

    def has_terms(self, conn: Connection) -> bool:
        """Whether the index's terms can be listed (migration 0009_short_words)."""
        found = conn.execute(
            text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :n"), {"n": TERMS_TABLE}
        ).first()
        return found is not None

    def _short_word_stories(self, conn: Connection, words: Sequence[str]) -> Any | None:
        """The ids of the stories that may hold the one of ``words`` (one or two characters
        each) that begins the fewest trigrams, or None when each begins over MAX_TERMS. A
        story holds a short word where one of its trigrams begins with it (the index's
        terms from the word up to the word followed by the last character there is) or
        where its text ends with it."""
        best: list[str] | None = None
        chosen = ""
        for word in words:
            terms = (
                conn.execute(
                    text(f"SELECT term FROM {TERMS_TABLE} WHERE term >= :lo AND term < :hi LIMIT :n"),
                    {"lo": word, "hi": word + LAST_CHAR, "n": self.MAX_TERMS + 1},
                )
                .scalars()
                .all()
            )
            if len(terms) <= self.MAX_TERMS and (best is None or len(terms) < len(best)):
                best, chosen = list(terms), word
        if best is None:
            return None
        parts: list[Any] = []
        if best:
            match = " OR ".join(_fts_phrase(term) for term in best)
            matches = text(f"{FTS_TABLE} MATCH :m").bindparams(bindparam("m", match, type_=String))
            parts.append(select(literal_column("rowid")).select_from(_fts).where(matches))
        tail2 = func.substr(t.stories.c.text_norm, literal_column("-2"))
        if len(chosen) == 2:
            parts.append(select(t.stories.c.id).where(tail2 == chosen))
        else:
            parts.append(select(t.stories.c.id).where(tail2 >= chosen, tail2 < chosen + LAST_CHAR))
            tail1 = func.substr(t.stories.c.text_norm, literal_column("-1"))
            parts.append(select(t.stories.c.id).where(tail1 == chosen))
        return union(*parts)


def backend(conn: Connection) -> Backend:
    """The search the database offers: FTS5 where the index exists, else LIKE."""
    if conn.dialect.name == "sqlite":
        exists = conn.execute(
            text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :n"), {"n": FTS_TABLE}
        ).first()
        if exists is not None:
            return Fts5Search()
    if conn.dialect.name == "postgresql":
        exists = conn.execute(text("SELECT to_regclass('ix_stories_text_trgm') IS NOT NULL")).scalar()
        if exists:
            return TrigramSearch()
    return LikeSearch()


def search(
    conn: Connection,
    query: Query,
    *,
    sources: Sequence[str] = (),
    limit: int = 50,
    offset: int = 0,
) -> list[int]:
    """The ids of the stories matching every word of ``query``, newest first (``limit``
    from ``offset``); none for a query without words."""
    if not query.words:
        return []
    engine = backend(conn)
    if isinstance(engine, TrigramSearch):
        # psycopg prepares a statement run five times on a connection, and PostgreSQL's
        # generic plan for "text_norm LIKE $1" reads the trigram index with no trigrams: every
        # story (1.2 s at 100,000 stories for の or 日豪, 5 ms with the pattern known). This
        # transaction plans each statement for its values.
        conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")
    many = None
    if isinstance(engine, Fts5Search) and query.long_words:
        # Words in many stories fill a page from the newest ones: checking the newest with
        # LIKE is cheaper than reading all their matches from the index (ASEAN, 37,000
        # matches at 100,000 stories: 10.5 ms of CPU -> 1 ms).
        many = engine.many(conn, query)
        first_the_newest = many
    else:
        # A common short word alone fills the page from the newest stories too; a rarer
        # one is looked up in the index (migrations 0009_short_words, 0010_pg_short_words).
        first_the_newest = (
            isinstance(engine, Fts5Search | TrigramSearch) and not query.long_words and engine.has_terms(conn)
        )
    if first_the_newest:
        assert isinstance(engine, Fts5Search | TrigramSearch)
        ids = _among_the_newest(conn, query, engine.RECENT, sources, limit, offset)
        if ids is not None:
            return ids
    where = engine.where(conn, query, many) if isinstance(engine, Fts5Search) else engine.where(conn, query)
    stmt = _in_sources(select(t.stories.c.id).where(where), sources)
    stmt = stmt.order_by(*newest_first()).limit(limit).offset(offset)
    return [int(i) for i in conn.execute(stmt).scalars()]


def _among_the_newest(
    conn: Connection, query: Query, recent: int, sources: Sequence[str], limit: int, offset: int
) -> list[int] | None:
    """The page of results when it is found among the ``recent`` newest stories (walking
    the order down to the recent-th newest, each checked with LIKE), else None."""
    shown = func.coalesce(t.stories.c.published, t.stories.c.fetched)
    cutoff = conn.execute(
        _in_sources(select(shown), sources).order_by(*newest_first()).offset(recent - 1).limit(1)
    ).scalar()
    walk = select(t.stories.c.id).where(*(_contains(w) for w in query.words))
    if cutoff is not None:
        walk = walk.where(shown >= cutoff)
    walk = _in_sources(walk, sources).order_by(*newest_first()).limit(limit).offset(offset)
    ids = [int(i) for i in conn.execute(walk).scalars()]
    if len(ids) == limit or cutoff is None:  # a full page, or every story walked
        return ids
    return None


def _in_sources(stmt: Any, sources: Sequence[str]) -> Any:
    if len(sources) == 1:  # equality: SQLite reads ix_stories_source_shown in order
        return stmt.where(t.stories.c.source == sources[0])
    if sources:
        return stmt.where(t.stories.c.source.in_(list(sources)))
    return stmt


def query_plan(conn: Connection, query: Query) -> list[str]:
    """The database's plan for :func:`search` (for the bench and the tests)."""
    stmt = select(t.stories.c.id).where(backend(conn).where(conn, query)).order_by(*newest_first()).limit(50)
    compiled = stmt.compile(conn.engine, compile_kwargs={"literal_binds": True})
    if conn.dialect.name == "postgresql":
        return [str(row[0]) for row in conn.exec_driver_sql(f"EXPLAIN {compiled}".replace("%", "%%"))]
    return [str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")]


# -- highlighting (no SQL; here so the search and its marks agree on what matches) ----------


@functools.lru_cache(maxsize=8192)
def _fold_char(char: str) -> str:
    if char.isspace():
        return " "
    return unicodedata.normalize("NFKC", char).casefold()


def highlight(shown: str, words: Sequence[str]) -> list[tuple[str, bool]]:
    """``shown`` cut into (text, matched) pieces: the characters whose normalized form
    is part of one of ``words`` (normalized), found as :func:`search` finds them."""
    if not shown or not words:
        return [(shown, False)] if shown else []
    folded = [_fold_char(c) for c in shown]
    flat = "".join(folded)
    if len(flat) == len(shown):
        owner: Sequence[int] = range(len(shown))  # one character each: the usual case
    else:
        owner = [i for i, piece in enumerate(folded) for _ in piece]
    marked = bytearray(len(shown))
    for word in words:
        start = flat.find(word)
        while start >= 0:
            for j in range(start, start + len(word)):
                marked[owner[j]] = 1
            start = flat.find(word, start + 1)
    pieces: list[tuple[str, bool]] = []
    begin = 0
    for i in range(1, len(shown) + 1):
        if i == len(shown) or marked[i] != marked[begin]:
            pieces.append((shown[begin:i], bool(marked[begin])))
            begin = i
    return pieces


def excerpt(body: str, words: Sequence[str], width: int = 160) -> str:
    """About ``width`` characters of ``body`` around the first word found (its start when
    none is), whitespace folded, with … where cut."""
    flat = " ".join(body.split())
    # Folded at C speed; NFKC rarely changes a text's length, and where it does the place
    # found is scaled back (the excerpt is wide; highlight() then marks it exactly). The
    # beginning first: a long text is folded whole only when no word is found there.
    first = 0
    for part in (flat[:EXCERPT_FIRST], flat) if len(flat) > EXCERPT_FIRST else (flat,):
        folded = unicodedata.normalize("NFKC", part).casefold()
        found = [i for i in (folded.find(w) for w in words) if i >= 0]
        if found:
            first = min(found)
            if len(folded) != len(part):
                first = first * len(part) // len(folded)
            break
    start = max(0, first - width // 3)
    end = min(len(flat), start + width)
    return ("…" if start else "") + flat[start:end] + ("…" if end < len(flat) else "")
