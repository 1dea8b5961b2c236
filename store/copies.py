"""Cross-source copy detection: the same story on two sites becomes one group of stories.

A story's *matching text* is its body (or, without a body, its summary), NFKC-normalised
and case-folded with all whitespace removed: Japanese has no spaces, and the ministry's
PDFs break lines in mid-sentence. The title never takes part, so a title-only match never
links (the ministry reuses titles such as 「中国海軍艦艇の動向について」 for different releases).

Texts are compared as sets of character shingles. A MinHash signature per story
(datasketch) is cut into LSH bands whose buckets live in the database (store.links), so a
new story is compared with the few stories sharing a bucket, not with the whole store,
and the index survives restarts. Candidates are then checked exactly: a story of another
source, published within the window, whose shingle sets overlap by ``threshold`` (Jaccard)
or more, is linked into that story's group.

Origin: among a group's stories, one from an official source (the ministry) is the
origin; otherwise, and among several official ones, the earliest published (then the
first stored). A story that should head its group takes the origin's place when it
arrives, whatever the order of arrival.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from datasketch import MinHash

from core.text import normalize
from store import links

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from store.db import SaveResult, Store

__all__ = [
    "DEFAULT_SETTINGS",
    "BANDS",
    "NUM_PERM",
    "ROWS",
    "SHINGLE",
    "CopyDetector",
    "CopySettings",
    "fingerprint",
    "jaccard",
    "matching_text",
    "official_sources",
    "shingles",
]

log = logging.getLogger(__name__)

# The shape of the persisted index; changing any of these (or datasketch's hashing) changes
# the fingerprint, and the index is rebuilt from the stories on the next install.
SHINGLE = 5  # characters: 3-4 share too much between unrelated Japanese texts
NUM_PERM = 128
BANDS, ROWS = 32, 4  # P(candidate) = 1-(1-J^4)^32: 0.99 at J=0.6, 0.23 at J=0.3, 0.003 at J=0.1
SEED = 1
MAX_CHARS = 20_000  # a 3 MB PDF is matched on its first 20,000 characters
_CHUNK = 2_000  # shingles hashed at a time: bounds numpy's (shingles x NUM_PERM) matrix
_EPOCH = date(1970, 1, 1)
_MULTIPLIER = np.uint64(0x100000001B3)  # FNV-1a's 64-bit prime: odd, spreads the code points
_MIXER = np.uint64(0x9E3779B97F4A7C15)
_PROBE = "防衛省は、自由で開かれたインド太平洋の実現に向け、防衛協力・交流を一層推進してまいります。"


@dataclass(frozen=True)
class CopySettings:
    """What counts as a copy. Defaults until the configuration carries them."""

    threshold: float = 0.6  # exact Jaccard of the shingle sets to link
    window: timedelta = timedelta(days=7)  # published this close, either way
    min_chars: int = 80  # shorter matching texts never link
    max_candidates: int = 20  # exact checks per new story, most shared bands first
    official_sources: frozenset[str] = field(default_factory=lambda: frozenset({"mod"}))

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"copies threshold must be in (0, 1], got {self.threshold}")
        if self.window < timedelta(0):
            raise ValueError(f"copies window must not be negative, got {self.window}")


DEFAULT_SETTINGS = CopySettings()


# -- text to sets to signatures ------------------------------------------------------------------


def matching_text(story: Mapping[str, Any]) -> str:
    """The text a story is compared on: body, else summary; never the title."""
    text = story.get("body") or story.get("summary") or ""
    return "".join(normalize(text).split())[:MAX_CHARS]


def shingles(text: str, size: int = SHINGLE) -> np.ndarray:
    """The text's distinct character shingles, each as a 32-bit hash (sorted, unique).

    A polynomial hash of the code points, computed for all shingles at once with numpy:
    hashing each shingle in Python (datasketch's sha1 default) was a third of the
    indexing time. Two shingles share a hash with probability 2**-32; exact comparisons of sets
    this size are unaffected in practice."""
    if not text:
        return np.empty(0, dtype=np.uint32)
    points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4").astype(np.uint64)
    count = max(1, len(points) - size + 1)
    hashes = np.zeros(count, dtype=np.uint64)
    for offset in range(min(size, len(points))):
        hashes = hashes * _MULTIPLIER + points[offset : offset + count]  # wraps modulo 2**64
    hashes ^= hashes >> np.uint64(31)
    hashes *= _MIXER
    return np.unique((hashes >> np.uint64(32)).astype(np.uint32))


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard similarity of two shingle sets as returned by :func:`shingles`."""
    if not len(a) or not len(b):
        return 0.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)


_template: MinHash | None = None
_direct = False  # whether _direct_signature gives the very values datasketch does (checked once)
_U32 = np.uint32


def _signature(items: np.ndarray) -> np.ndarray:
    global _template, _direct
    if _template is None:  # permutations are drawn once per process, not per story
        _template = MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=int)
        probe = shingles(_PROBE)
        try:
            _direct = np.array_equal(_direct_signature(probe), _datasketch_signature(probe))
        except (TypeError, ValueError):
            _direct = False
        if not _direct:
            log.info("copies: datasketch's MinHash is not the affine32 scheme; signatures by datasketch")
    return _direct_signature(items) if _direct else _datasketch_signature(items)


def _datasketch_signature(items: np.ndarray) -> np.ndarray:
    assert _template is not None
    m = _template.copy()
    for start in range(0, len(items), _CHUNK):
        m.update_batch(items[start : start + _CHUNK].tolist())
    return np.asarray(m.hashvalues, dtype="<u4")


def _direct_signature(items: np.ndarray) -> np.ndarray:
    """datasketch's ``affine32`` scheme computed on the shingle hashes as they are: each
    mixed by MurmurHash3's 32-bit finalizer, then ``a * h + b`` modulo 2**32 per
    permutation, the minimum kept. ``update_batch`` turned every hash into a Python int and
    back, and copying the template built a MinHash, for every story. Used only when it gives
    datasketch's very values on a probe text (:func:`_signature`); tests/store/test_copies.py
    compares the two on many texts."""
    assert _template is not None
    a, b = _template.permutations
    if a.dtype != _U32 or b.dtype != _U32:
        raise TypeError("permutations are not 32-bit")
    out = np.full(NUM_PERM, np.iinfo(_U32).max, dtype=_U32)
    for start in range(0, len(items), _CHUNK):
        hv = items[start : start + _CHUNK].astype(_U32).reshape(-1, 1)
        hv ^= hv >> _U32(16)
        hv *= _U32(0x85EBCA6B)
        hv ^= hv >> _U32(13)
        hv *= _U32(0xC2B2AE35)
        hv ^= hv >> _U32(16)
        out = np.minimum(out, (hv * a + b).min(axis=0))
    return out.astype("<u4")


def _band_keys(sig: np.ndarray) -> list[int]:
    """One 63-bit key per band: band number and the band's values, hashed together so one
    column indexes every band."""
    rows = np.ascontiguousarray(sig, dtype="<u4").reshape(BANDS, ROWS)
    keys = []
    for band in range(BANDS):
        digest = hashlib.blake2b(bytes([band]) + rows[band].tobytes(), digest_size=8).digest()
        keys.append(int.from_bytes(digest, "big") >> 1)
    return keys


def _day(when: datetime) -> int:
    return (when.astimezone(UTC).date() - _EPOCH).days


def _when(story: Mapping[str, Any]) -> datetime:
    return story.get("published") or story["fetched"]  # type: ignore[no-any-return]


def fingerprint() -> str:
    """What the stored index depends on: its parameters and the band keys of a probe text
    (which change if datasketch hashes differently)."""
    probe = _band_keys(_signature(shingles(_PROBE)))
    text = f"shingle={SHINGLE};perm={NUM_PERM};bands={BANDS}x{ROWS};seed={SEED};{probe[:4]}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


# -- detection ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Indexed:
    story: Mapping[str, Any]
    shingles: np.ndarray
    band_keys: list[int]
    day: int


class CopyDetector:
    """The save hook that indexes a stored story and links it to its copies.

    Runs inside the story's transaction with ``(conn, story_row, SaveResult)``. Links are
    sticky: a revised story already in a group stays there (its index entry is refreshed);
    a revised story in no group is matched again (e.g. a title-only item now read in full).
    """

    def __init__(self, settings: CopySettings = DEFAULT_SETTINGS) -> None:
        self.settings = settings

    @classmethod
    def install(cls, store: Store, settings: CopySettings = DEFAULT_SETTINGS) -> CopyDetector:
        """A detector for ``store``, its index brought up to date first."""
        detector = cls(settings)
        with store.transaction() as conn:
            detector.ensure_index(conn)
        return detector

    def __call__(self, conn: Connection, story: dict[str, Any], result: SaveResult) -> bool:
        """Index and link the story; False when it is surely in no group (a new story
        that linked to none: its group is itself, no need to ask the store)."""
        if result.status not in ("new", "revised", "completed"):
            return True
        indexed = self.index(conn, story, replace=result.status != "new")
        if indexed is None:
            return result.status != "new"
        if result.status != "new" and links.is_linked(conn, story["id"]):
            return True
        return self.link(conn, indexed) or result.status != "new"

    # -- the index ------------------------------------------------------------------------
    def index(self, conn: Connection, story: Mapping[str, Any], replace: bool = True) -> _Indexed | None:
        """(Re-)index a story; None when its text is too short to take part in matching."""
        if replace:
            old = links.signature(conn, story["id"])
            if old is not None:
                old_sig = np.frombuffer(old[1], dtype="<u4")
                links.delete_signature(conn, story["id"], old[0], _band_keys(old_sig))
        text = matching_text(story) if story.get("complete", True) else ""
        if len(text) < max(self.settings.min_chars, SHINGLE):
            return None
        items = shingles(text)
        sig = _signature(items)
        day = _day(_when(story))
        keys = _band_keys(sig)
        links.save_signature(conn, story["id"], day, len(items), sig.tobytes(), keys)
        return _Indexed(story, items, keys, day)

    def ensure_index(self, conn: Connection) -> None:
        """Rebuild the index if it was built differently (or never): a new store, stories
        from before revision 0003, or another datasketch."""
        current = fingerprint()
        if links.index_fingerprint(conn) == current:
            return
        links.lock_index(conn)
        if links.index_fingerprint(conn) == current:
            return  # built by another process while this one waited for the lock
        started = time.monotonic()
        links.clear_index(conn)
        count = 0
        for chunk in links.stories_to_index(conn):
            for story in chunk:
                indexed = self.index(conn, story, replace=False)
                if indexed is not None and not links.is_linked(conn, story["id"]):
                    self.link(conn, indexed)
                count += 1
        links.set_index_fingerprint(conn, current, datetime.now(UTC))
        if count:
            log.warning(
                "copies: rebuilt the link index of %d stories in %.1fs", count, time.monotonic() - started
            )

    # -- matching -----------------------------------------------------------------------------
    def matches(self, conn: Connection, new: _Indexed) -> list[tuple[float, dict[str, Any]]]:
        """Stories of other sources within the window whose text overlaps enough, best first."""
        s = self.settings
        when = _when(new.story)
        span = s.window.days + 1
        ids = links.candidates(
            conn,
            new.band_keys,
            new.day - span,
            new.day + span,
            exclude_id=new.story["id"],
            exclude_source=new.story["source"],
            limit=s.max_candidates,
        )
        found = []
        for row in links.matching_rows(conn, ids):
            if not row["complete"] or abs(_when(row) - when) > s.window:
                continue
            similarity = jaccard(new.shingles, shingles(matching_text(row)))
            if similarity >= s.threshold:
                found.append((similarity, row))
        found.sort(key=lambda m: (-m[0], m[1]["id"]))
        return found

    def link(self, conn: Connection, new: _Indexed) -> bool:
        """Join the group of the best match, as a copy or as its new origin; False when
        there is none."""
        found = self.matches(conn, new)
        if not found:
            return False
        best = found[0][1]
        origin = links.origin_id(conn, best["id"])
        known = {row["id"]: sim for sim, row in found}
        similarity = known.get(origin)
        origin_row = best if origin == best["id"] else links.matching_rows(conn, [origin])[0]
        if similarity is None:
            similarity = jaccard(new.shingles, shingles(matching_text(origin_row)))
        now = datetime.now(UTC)
        story_id = new.story["id"]
        if self._precedence(new.story) < self._precedence(origin_row):
            copies = links.copies_of(conn, origin)
            links.make_origin(conn, origin, story_id, similarity, now)
            for copy in copies:  # similarity is always to the group's origin
                sim = known.get(copy)
                if sim is None:
                    sim = jaccard(new.shingles, shingles(matching_text(links.matching_rows(conn, [copy])[0])))
                links.set_similarity(conn, copy, sim)
        else:
            links.link(conn, origin, story_id, similarity, now)
        return True

    def _precedence(self, story: Mapping[str, Any]) -> tuple[int, datetime, int]:
        """Lower heads the group: official first, then earliest published, then first stored."""
        return (0 if story["source"] in self.settings.official_sources else 1, _when(story), story["id"])


def official_sources(
    kinds: Iterable[tuple[str, str]], official_kinds: Iterable[str] = ("mod",)
) -> frozenset[str]:
    """The names of the sources whose items are origins, from (name, kind) pairs."""
    wanted = set(official_kinds)
    return frozenset(name for name, kind in kinds if kind in wanted)
