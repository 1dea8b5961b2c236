"""Table-driven and property tests for core.text: normalize, fold_whitespace, summarize, hashes."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.text import content_hash, fold_whitespace, normalize, summarize

# --- normalize ---------------------------------------------------------------------------------

NORMALIZE_CASES = [
    ("ＡＳＥＡＮ", "asean", "full-width-upper"),
    ("ａｓｅａｎ", "asean", "full-width-lower"),
    ("ASEAN", "asean", "ascii-upper"),
    ("日米ＡＳＥＡＮ防衛相会合", "日米asean防衛相会合", "full-width-in-japanese"),
    ("令和８年度　第２回", "令和8年度 第2回", "full-width-digits-and-ideographic-space"),
    ("  防衛省\n\n 発表\t ", "防衛省 発表", "whitespace-runs-and-ends"),
    ("ｶﾀｶﾅ", "カタカナ", "half-width-katakana"),
    ("Straße", "strasse", "casefold-eszett"),
    ("「中谷防衛大臣」", "「中谷防衛大臣」", "corner-brackets-kept"),
    ("（１０月１７日）", "(10月17日)", "full-width-parens"),
    ("宮﨑", "宮﨑", "variant-kanji-kept"),
    ("防衛\u200b省", "防衛省", "zero-width-space-removed"),
    ("defen\u00adce", "defence", "soft-hyphen-removed"),
    ("\ufeffASEAN", "asean", "bom-removed"),
    ("㍻", "平成", "era-ligature"),
    ("", "", "empty"),
    ("\u3000\u3000", "", "only-ideographic-spaces"),
]


@pytest.mark.parametrize(
    ("text", "expected"), [c[:2] for c in NORMALIZE_CASES], ids=[c[2] for c in NORMALIZE_CASES]
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


@given(st.text())
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@given(st.text())
def test_normalize_has_single_inner_spaces_and_stripped_ends(text: str) -> None:
    result = normalize(text)
    assert result == result.strip()
    assert "  " not in result
    assert not any(c.isspace() and c != " " for c in result)


# --- fold_whitespace ---------------------------------------------------------------------------

FOLD_CASES = [
    ("a  b", "a b", "double-space"),
    ("防衛省\u3000発表", "防衛省 発表", "ideographic-space"),
    ("line one\nline two\r\n", "line one line two", "newlines"),
    ("\t x \t", "x", "tabs-stripped"),
    ("ＡＳＥＡＮ", "ＡＳＥＡＮ", "no-nfkc"),
    ("", "", "empty"),
]


@pytest.mark.parametrize(("text", "expected"), [c[:2] for c in FOLD_CASES], ids=[c[2] for c in FOLD_CASES])
def test_fold_whitespace(text: str, expected: str) -> None:
    assert fold_whitespace(text) == expected


@given(st.text())
def test_fold_whitespace_is_idempotent(text: str) -> None:
    once = fold_whitespace(text)
    assert fold_whitespace(once) == once


# --- summarize ---------------------------------------------------------------------------------

SENTENCE = "防衛省は本日、次期防衛力整備計画の概要を発表した。"  # 25 characters

SUMMARIZE_CASES = [
    ("短い本文。", 200, "短い本文。", "short-text-unchanged"),
    ("  短い\n本文。  ", 200, "短い 本文。", "short-text-whitespace-folded"),
    ("あ" * 10, 10, "あ" * 10, "exactly-limit"),
    (SENTENCE * 10, 60, SENTENCE * 2, "cuts-after-kuten-in-last-third"),
    ("あ" * 15 + "。" + "い" * 100, 60, "あ" * 15 + "。" + "い" * 44 + "…", "kuten-too-early-hard-cut"),
    ("あ" * 100, 10, "あ" * 10 + "…", "no-boundary-hard-cut"),
    ("The ministry said. It will buy ships and more.", 24, "The ministry said.", "ascii-period-space"),
    (
        "Cost rose 3.5 percent in fiscal year twenty five",
        14,
        "Cost rose 3.5…",
        "decimal-point-not-a-boundary",
    ),
    ("あ" * 8 + "と述べた。」" + "い" * 20, 15, "あ" * 8 + "と述べた。」", "keeps-closing-bracket"),
    ("あ" * 8 + "本当か？" + "い" * 20, 14, "あ" * 8 + "本当か？", "full-width-question"),
    ("word " * 10, 10, "word word…", "no-trailing-space-before-ellipsis"),
    ("か" * 10 + "\u3099" + "か" * 10, 10, "か" * 9 + "…", "never-splits-combining-dakuten"),
    ("a" * 9 + "e\u0301" + "b" * 10, 10, "a" * 9 + "…", "never-splits-combining-accent"),
    ("a" * 9 + "\U0001f44d\U0001f3fd" + "b" * 10, 10, "a" * 9 + "…", "never-splits-skin-tone"),
    ("a" * 9 + "\U0001f1ef\U0001f1f5" + "b" * 10, 10, "a" * 9 + "…", "never-splits-flag"),
    ("a" * 9 + "\u2764\ufe0f" + "b" * 10, 10, "a" * 9 + "…", "never-splits-variation-selector"),
]


@pytest.mark.parametrize(
    ("text", "limit", "expected"), [c[:3] for c in SUMMARIZE_CASES], ids=[c[3] for c in SUMMARIZE_CASES]
)
def test_summarize(text: str, limit: int, expected: str) -> None:
    assert summarize(text, limit) == expected


def test_summarize_default_limit_is_200() -> None:
    assert summarize("あ" * 300) == "あ" * 200 + "…"


def test_summarize_rejects_non_positive_limit() -> None:
    with pytest.raises(ValueError, match="limit"):
        summarize("text", 0)


@given(st.text(), st.integers(min_value=1, max_value=300))
def test_summarize_is_a_bounded_prefix(text: str, limit: int) -> None:
    summary = summarize(text, limit)
    body = summary.removesuffix("…") if len(fold_whitespace(text)) > limit else summary
    assert fold_whitespace(text).startswith(body)
    assert len(body) <= limit
    assert summary == summary.rstrip()


# --- content_hash ------------------------------------------------------------------------------

HASH_EQUAL_CASES = [
    (("ＡＳＥＡＮ会合", "本文　です"), ("asean会合", "本文 です"), "width-and-case"),
    (("題名", "一行目\n二行目"), ("題名 ", "一行目 二行目"), "whitespace"),
]


@pytest.mark.parametrize(("a", "b"), [c[:2] for c in HASH_EQUAL_CASES], ids=[c[2] for c in HASH_EQUAL_CASES])
def test_content_hash_ignores_cosmetic_differences(a: tuple[str, str], b: tuple[str, str]) -> None:
    assert content_hash(*a) == content_hash(*b)


HASH_DIFFERENT_CASES = [
    (("題名", "本文"), ("題名", "本文が変わった"), "body-changed"),
    (("題名", "本文"), ("別の題名", "本文"), "title-changed"),
    (("a b", "c"), ("a", "b c"), "title-body-boundary"),
]


@pytest.mark.parametrize(
    ("a", "b"), [c[:2] for c in HASH_DIFFERENT_CASES], ids=[c[2] for c in HASH_DIFFERENT_CASES]
)
def test_content_hash_sees_real_changes(a: tuple[str, str], b: tuple[str, str]) -> None:
    assert content_hash(*a) != content_hash(*b)


def test_content_hash_is_sha256_of_normalized_parts() -> None:
    expected = hashlib.sha256("asean\n本文 です".encode()).hexdigest()
    assert content_hash("ＡＳＥＡＮ", "本文\u3000です") == expected


@given(st.text(), st.text())
def test_content_hash_never_raises(title: str, body: str) -> None:
    assert len(content_hash(title, body)) == 64
