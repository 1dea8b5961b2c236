"""Rules: every form of a keyword matches, fields, exclude, regex, sources and events, and
ranking rules; and matching stays fast with many rules."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.config import RuleConfig
from core.model import Movement, Story
from core.rules import RuleMatch, RuleSet, required_text
from core.text import normalize


def story(title: str = "", summary: str = "", body: str = "", source: str = "mod") -> Story:
    return Story(1, "https://mod.example/1", source, title, summary=summary, body=body)


ASEAN = RuleConfig("asean", keywords=("ASEAN", "東南アジア諸国連合"))

# (rule, story, expected matched keywords or None for no match)
CASES: list[tuple[str, RuleConfig, Story, list[str] | None]] = [
    ("ascii", ASEAN, story(title="日ASEAN防衛当局次官級会合"), ["ASEAN"]),
    ("full-width upper", ASEAN, story(title="日ＡＳＥＡＮ防衛当局次官級会合"), ["ASEAN"]),
    ("full-width lower", ASEAN, story(title="日ａｓｅａｎ会合"), ["ASEAN"]),
    ("lower case", ASEAN, story(title="asean defence ministers"), ["ASEAN"]),
    ("mixed case", ASEAN, story(title="The Asean Way"), ["ASEAN"]),
    ("japanese keyword", ASEAN, story(body="東南アジア諸国連合の国防相"), ["東南アジア諸国連合"]),
    (
        "both keywords",
        ASEAN,
        story(title="ASEAN", body="東南アジア諸国連合"),
        ["ASEAN", "東南アジア諸国連合"],
    ),
    ("in summary", ASEAN, story(summary="…ＡＳＥＡＮ…"), ["ASEAN"]),
    ("no keyword", ASEAN, story(title="防衛装備移転", body="豪州との協力"), None),
    (
        "full-width keyword configured",
        RuleConfig("fw", keywords=("ＡＳＥＡＮ",)),
        story(title="ASEAN"),
        ["ＡＳＥＡＮ"],
    ),
    (
        "half-width katakana",
        RuleConfig("kana", keywords=("イージス",)),
        story(body="ｲｰｼﾞｽ・システム搭載艦"),
        ["イージス"],
    ),
    (
        "keyword with spaces across a line break",
        RuleConfig("sp", keywords=("defence ministers",)),
        story(body="ASEAN Defence\n  Ministers' Meeting"),
        ["defence ministers"],
    ),
    (
        "soft hyphen inside the text",
        RuleConfig("shy", keywords=("ASEAN",)),
        story(body="AS\u00adEAN"),
        ["ASEAN"],
    ),
    (
        "title-only rule, keyword in title",
        RuleConfig("jinji", keywords=("人事発令",), fields=("title",)),
        story(title="人事発令（10月1日付）"),
        ["人事発令"],
    ),
    (
        "title-only rule, keyword only in body",
        RuleConfig("jinji", keywords=("人事発令",), fields=("title",)),
        story(title="防衛省発表", body="本日の人事発令"),
        None,
    ),
    (
        "body-only rule, keyword only in title",
        RuleConfig("b", keywords=("ASEAN",), fields=("body",)),
        story(title="ASEAN", body="nothing"),
        None,
    ),
    (
        "exclude wins",
        RuleConfig("x", keywords=("ASEAN",), exclude=("訓練",)),
        story(title="ASEAN", body="共同訓練"),
        None,
    ),
    (
        "exclude normalised too",
        RuleConfig("x", keywords=("ASEAN",), exclude=("ｐｒ",)),
        story(title="ASEAN PR"),
        None,
    ),
    (
        "exclude only in the rule's fields",
        RuleConfig("x", keywords=("ASEAN",), exclude=("訓練",), fields=("title",)),
        story(title="ASEAN", body="共同訓練"),
        ["ASEAN"],
    ),
    (
        "regex on normalised text",
        RuleConfig("f35", regex=r"F-35[AB]"),
        story(body="Ｆ－３５Ａの配備"),
        ["f-35a"],
    ),
    ("regex no match", RuleConfig("f35", regex=r"F-35[AB]"), story(body="F-15J"), None),
    (
        "regex and keywords: either",
        RuleConfig("r", keywords=("護衛艦",), regex=r"dd[gh]-?\d+"),
        story(body="DDH-184 かが"),
        ["ddh-184"],
    ),
    (
        "source filter: other source",
        RuleConfig("s", keywords=("ASEAN",), sources=("jdefense",)),
        story(title="ASEAN", source="mod"),
        None,
    ),
    (
        "source filter: listed source",
        RuleConfig("s", keywords=("ASEAN",), sources=("jdefense",)),
        story(title="ASEAN", source="jdefense"),
        ["ASEAN"],
    ),
]


@pytest.mark.parametrize(("rule", "item", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule_matching(rule: RuleConfig, item: Story, expected: list[str] | None) -> None:
    got = RuleSet.from_config([rule]).match(item)
    assert got == ([] if expected is None else [RuleMatch(rule.name, expected)])


@pytest.mark.parametrize(
    ("on", "event", "fires"),
    [
        (("new",), "new", True),
        (("new",), "revised", False),
        (("revised",), "revised", True),
        (("new", "revised"), "revised", True),
        (("ranking",), "new", False),
    ],
    ids=["new-on-new", "new-on-revised", "revised", "both", "ranking-only"],
)
def test_on_selects_events(on: tuple[str, ...], event: str, fires: bool) -> None:
    rules = RuleSet.from_config([RuleConfig("r", keywords=("ASEAN",), on=on)])
    assert bool(rules.match(story(title="ASEAN"), event)) is fires


def test_many_rules_share_one_automaton_and_keep_configuration_order() -> None:
    rules = RuleSet.from_config(
        [
            RuleConfig("b", keywords=("防衛",)),
            RuleConfig("a", keywords=("ASEAN", "防衛")),
            RuleConfig("c", keywords=("海上自衛隊",)),
        ]
    )
    got = rules.match(story(title="日ASEAN防衛当局"))
    assert got == [RuleMatch("b", ["防衛"]), RuleMatch("a", ["ASEAN", "防衛"])]


def test_blank_keyword_never_matches_everything() -> None:
    rules = RuleSet.from_config([RuleConfig("blank", keywords=("  ", "ASEAN"))])
    assert rules.match(story(title="nothing here")) == []


def test_missing_fields_are_empty() -> None:
    rules = RuleSet.from_config([ASEAN])
    assert rules.match(Story(1, "https://mod.example/1", "mod", "ASEAN")) == [RuleMatch("asean", ["ASEAN"])]


RANKING_RULE = RuleConfig("top3", on=("ranking",), windows=("24h",), max_rank=3, notify=())
KEYWORD_RANKING_RULE = RuleConfig("asean-rank", keywords=("ASEAN",), on=("ranking",))


def movement(**kw: Any) -> Movement:
    base: dict[str, Any] = {
        "id": 1,
        "source": "jdefense",
        "window": "24h",
        "kind": "entered",
        "rank": 2,
        "previous_rank": None,
        "url": "https://j-defense.example/a",
        "title": "日ASEAN会合",
        "at": datetime(2025, 10, 20, 3, 0, tzinfo=UTC),
    }
    return Movement(**{**base, **kw})


@pytest.mark.parametrize(
    ("rule", "event", "fires"),
    [
        (RANKING_RULE, movement(), True),
        (RANKING_RULE, movement(rank=5), False),
        (RANKING_RULE, movement(window="1w"), False),
        (RANKING_RULE, movement(kind="climbed", rank=2, previous_rank=7), True),
        (RANKING_RULE, movement(kind="fell", rank=3, previous_rank=1), False),
        (KEYWORD_RANKING_RULE, movement(title="ＡＳＥＡＮ"), True),
        (KEYWORD_RANKING_RULE, movement(title="豪州"), False),
        (RuleConfig("story-rule", keywords=("ASEAN",)), movement(), False),
    ],
    ids=[
        "entered-top3",
        "below-max-rank",
        "other-window",
        "climbed-in",
        "fell-within",
        "kw",
        "no-kw",
        "not-ranking",
    ],
)
def test_ranking_rules(rule: RuleConfig, event: Movement, fires: bool) -> None:
    assert bool(RuleSet.from_config([rule]).match_ranking(event)) is fires


def test_thousand_rules_each_fire_on_their_own_story() -> None:
    """A thousand rules in one matcher: each fires where its word is, none elsewhere
    (bench/rules.py measures how fast)."""
    rules = RuleSet.from_config(
        [RuleConfig(f"r{i}", keywords=(f"語{i}番", f"term{i}x")) for i in range(1000)]
    )
    stories = [story(title=f"記事{i} 語{i % 1500}番", body="本文" * 200) for i in range(1500)]
    hits = sum(len(rules.match(s)) for s in stories)
    assert hits == 1000


# -- the fast paths agree with the plain definition -------------------------------------------

# Few letters, in several forms (full-width, case, invisible, ideographic space), so that
# keywords and texts meet often.
ALPHABET = "aAａＡbＢsS日本防衛 \u3000\u00ad-1１"
PATTERNS = (r"a+b", r"日本|防衛", r"\bab\b", r"(a|b)日", r"[ab]{2}本", r"1-?a", r"s(?:ab)+", r"防衛\d")


def reference(rules: list[RuleConfig], item: Story, event: str) -> list[RuleMatch]:
    """What a rule means, read literally: one rule at a time, ``in`` and ``re.search``."""
    out = []
    for r in rules:
        if event not in r.on or (r.sources and item.source not in r.sources):
            continue
        if set(r.fields) >= {"title", "summary", "body"}:
            texts = [normalize(f"{item.title}\n{item.summary}\n{item.body}")]
        else:
            texts = [normalize(getattr(item, f)) for f in ("title", "summary", "body") if f in r.fields]
        if any(normalize(x) and normalize(x) in t for x in r.exclude for t in texts):
            continue
        matched = [k for k in r.keywords if normalize(k) and any(normalize(k) in t for t in texts)]
        if r.regex is not None:
            hits = [m.group(0) for t in texts if (m := re.search(r.regex, t, re.IGNORECASE))]
            matched += [h for h in dict.fromkeys(hits) if h not in matched]
        if matched:
            out.append(RuleMatch(r.name, matched))
    return out


words = st.text(ALPHABET, min_size=1, max_size=4)
rule_configs = st.builds(
    RuleConfig,
    name=st.just("r"),
    keywords=st.lists(words, max_size=3).map(tuple),
    exclude=st.lists(words, max_size=1).map(tuple),
    regex=st.none() | st.sampled_from(PATTERNS),
    fields=st.sampled_from([("title", "summary", "body"), ("title",), ("body",), ("summary", "body")]),
    sources=st.sampled_from([(), ("mod",), ("jdefense",)]),
    on=st.sampled_from([("new",), ("new", "revised")]),
)
stories = st.builds(
    Story,
    id=st.just(1),
    url=st.just("https://mod.example/1"),
    title=st.text(ALPHABET, max_size=12),
    summary=st.text(ALPHABET, max_size=12),
    body=st.text(ALPHABET, max_size=40),
    source=st.sampled_from(["mod", "jdefense"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(rule_configs, min_size=1, max_size=6), stories, st.sampled_from(["new", "revised"]))
def test_matching_agrees_with_the_plain_definition(
    configs: list[RuleConfig], item: Story, event: str
) -> None:
    configs = [RuleConfig(**{**c.__dict__, "name": f"r{i}"}) for i, c in enumerate(configs)]
    expected = reference(configs, item, event)
    rules = RuleSet.from_config(configs)
    assert rules.match(item, event) == expected
    stored = replace(item, text_norm=normalize(f"{item.title}\n{item.summary}\n{item.body}"))
    assert rules.match(stored, event) == expected


@pytest.mark.parametrize(
    ("pattern", "needed"),
    [
        (r"F-35[AB]", ("f-35",)),
        (r"[一-龥]{2}駐屯地", ("駐屯地",)),
        (r"(日米|日豪)共同", ("共同",)),
        (r"\bp-1\b|\bc-2\b", ("p-1", "c-2")),
        (r"x?yz", ("yz",)),
        (r"a|b*", None),
        (r"\d+", None),
    ],
    ids=[
        "literal-prefix",
        "literal-suffix",
        "after-group",
        "alternation",
        "optional-first",
        "empty-branch",
        "no-literal",
    ],
)
def test_required_text_of_a_pattern(pattern: str, needed: tuple[str, ...] | None) -> None:
    assert required_text(re.compile(pattern, re.IGNORECASE)) == needed


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(PATTERNS), st.text(ALPHABET, max_size=30))
def test_a_pattern_never_matches_without_its_required_text(pattern: str, text: str) -> None:
    compiled = re.compile(pattern, re.IGNORECASE)
    needed = required_text(compiled)
    norm = normalize(text)
    if needed is not None and compiled.search(norm):
        assert any(part in norm for part in needed)


@pytest.mark.parametrize(
    ("pattern", "title"),
    [("strasse", "STRAßE 演習"), ("asean 会合", "ＡＳＥＡＮ\u3000\u3000会合"), ("fighter", "ﬁGHTER")],
)
def test_ranking_regex_reads_the_title_as_story_rules_do(pattern: str, title: str) -> None:
    """A regex sees the same NFKC, case-folded, whitespace-folded title on a ranking
    movement as on a story: one rule, one meaning."""
    story_rule = RuleConfig("story", regex=pattern, fields=("title",))
    ranking_rule = RuleConfig("rank", regex=pattern, on=("ranking",))
    story = RuleSet.from_config([story_rule]).match(
        Story(1, "https://j-defense.example/a", "jdefense", title)
    )
    ranked = RuleSet.from_config([ranking_rule]).match_ranking(movement(title=title))
    assert [m.matched for m in story] == [m.matched for m in ranked]
    assert ranked
