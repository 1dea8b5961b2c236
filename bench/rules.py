"""Rule matching time: 1,000 rules against 10,000 stories must take under a second.

Builds 1,000 rules over a vocabulary of 3,000 defence terms (Japanese and English, real
ones and generated place, unit and ship names; common terms used by many rules, rare ones
by few): one to four keywords each, a tenth title-only, a tenth with exclude words, one
in twenty with a regex, a tenth limited to sources. Then 10,000 synthetic stories: a title,
a summary and a body of 400 to 2,400 characters of Japanese-like text mentioning a few of
those terms, some in full-width letters.

Timed: ``RuleSet.match`` over every story as the outbox's save hook calls it, with the
story row the store hands over (which carries ``text_norm``, the normalised text the
store computes once when it saves a story). Reported apart: the same stories without
``text_norm`` (normalisation then happens inside matching), the store's normalisation
alone, and a loop over rules (``keyword in text``) on a sample, for comparison. Times are
wall-clock and CPU (the CPU figure is what an idle machine's wall clock would show).

    python bench/rules.py            # 1,000 rules x 10,000 stories
    python bench/rules.py --quick    # 100 rules x 1,000 stories (for `make bench`)

Prints a table and writes it as JSON next to this file (rules.json, rules.quick.json).
Exits 1 if the full run's matching CPU time (best of the repeats) exceeds LIMIT_S.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
import unicodedata
from pathlib import Path
from typing import Any

from core.config import RuleConfig
from core.model import Story
from core.rules import RuleSet
from core.text import normalize

PROFILES = {"full": (1_000, 10_000), "quick": (100, 1_000)}
VOCABULARY = 3_000
REPEATS = 3
LIMIT_S = 1.0
SAMPLE_FOR_LOOP = 300  # stories the rule-by-rule loop is timed on, then scaled
SOURCES = ("mod", "jdefense", "navalnews", "asahi", "nikkei")

TERMS = [
    "ASEAN",
    "防衛省",
    "自衛隊",
    "海上自衛隊",
    "陸上自衛隊",
    "航空自衛隊",
    "統合幕僚監部",
    "防衛装備庁",
    "護衛艦",
    "潜水艦",
    "哨戒機",
    "戦闘機",
    "輸送機",
    "空中給油機",
    "早期警戒機",
    "弾道ミサイル",
    "巡航ミサイル",
    "極超音速",
    "迎撃",
    "イージス",
    "電子戦",
    "サイバー防衛隊",
    "宇宙作戦群",
    "無人機",
    "ドローン",
    "共同訓練",
    "日米共同",
    "日米豪印",
    "クアッド",
    "日豪",
    "日英",
    "日比",
    "日越",
    "日印",
    "南シナ海",
    "東シナ海",
    "台湾海峡",
    "尖閣",
    "防衛大綱",
    "国家防衛戦略",
    "防衛力整備計画",
    "反撃能力",
    "スタンド・オフ",
    "防衛費",
    "概算要求",
    "補正予算",
    "人事発令",
    "懲戒処分",
    "記者会見",
    "防衛大臣",
    "防衛副大臣",
    "政務官",
    "事務次官",
    "次官級会合",
    "国防相会議",
    "ADMM",
    "拡大ADMM",
    "ReCAAP",
    "NATO",
    "豪州",
    "フィリピン",
    "ベトナム",
    "インドネシア",
    "マレーシア",
    "タイ",
    "シンガポール",
    "ブルネイ",
    "カンボジア",
    "ラオス",
    "ミャンマー",
    "F-35A",
    "F-35B",
    "F-15J",
    "F-2",
    "P-1",
    "C-2",
    "KC-46A",
    "E-2D",
    "グローバルホーク",
    "オスプレイ",
    "MV-22",
    "V-22",
    "いずも",
    "かが",
    "もがみ型",
    "あさひ型",
    "たいげい型",
    "そうりゅう型",
    "12式地対艦誘導弾",
    "トマホーク",
    "PAC-3",
    "SM-3",
    "SM-6",
    "GCAP",
    "次期戦闘機",
    "防衛装備移転",
    "三原則",
    "輸出",
    "共同開発",
    "契約",
    "調達",
    "災害派遣",
    "国際緊急援助",
    "PKO",
    "海賊対処",
    "ジブチ",
    "情報保全",
    "秘密保護",
    "特定秘密",
    "経済安全保障",
    "サプライチェーン",
    "半導体",
    "defence",
    "ministry",
    "navy",
    "army",
    "air",
    "force",
    "frigate",
    "destroyer",
    "submarine",
    "missile",
    "drone",
    "cyber",
    "space",
    "exercise",
    "indo-pacific",
    "quad",
    "aukus",
    "interoperability",
    "procurement",
    "budget",
    "export",
]
_KANJI = "防衛省自衛隊海上陸航空統合幕僚監部会合開催日米共同演習実施艦艇動向確認警戒監視情報収集安全保障協力交流推進"
_NAME_KANJI = "北南東西中大小新高岡山川島浦崎津田松竹鶴舞霧雲雷嵐春夏秋冬朝夕"
_KATAKANA = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモラリルレロワン"
_SUFFIXES = ("基地", "駐屯地", "分屯基地", "地方隊", "護衛隊", "飛行隊", "連隊", "師団", "旅団", "方面隊")
_KANA = "のはをにがでともへやからまでしたするされるについてにおいて"
_EXCLUDES = ("広告", "PR", "求人", "イベント告知", "キャンペーン")
_REGEXES = (
    r"F-35[AB]",
    r"dd[gh]-?\d+",
    r"\bp-1\b|\bc-2\b",
    r"第\d+回",
    r"(日米|日豪|日英)共同",
    r"\d+式",
    r"sm-[36]",
    r"pac-3",
    r"令和\d+年度",
    r"(陸|海|空)幕長",
    r"[一-龥]{2}駐屯地",
    r"\bquad\b",
)


def _full_width(text: str) -> str:
    """ASCII letters and digits as their full-width forms (what some pages publish)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def make_vocabulary(n: int, rng: random.Random) -> list[str]:
    """Real terms first (the most mentioned), then generated unit, base and ship names."""
    words = dict.fromkeys(TERMS)
    while len(words) < n:
        kind = rng.random()
        if kind < 0.4:
            name = "".join(rng.choice(_NAME_KANJI) for _ in range(2)) + rng.choice(_SUFFIXES)
        elif kind < 0.7:
            name = "".join(rng.choice(_KATAKANA) for _ in range(rng.randint(3, 6)))
        else:
            name = f"第{rng.randint(1, 99)}{rng.choice(_SUFFIXES)}"
        words.setdefault(name)
    return list(words)


def _weights(n: int) -> list[float]:
    return [1.0 / (rank + 1) ** 0.8 for rank in range(n)]  # Zipf-like: a few terms are everywhere


def make_rules(n: int, vocabulary: list[str], rng: random.Random) -> list[RuleConfig]:
    """Rules watch terms across the whole vocabulary (a term is in a rule or two), while
    stories mention the common terms most: a story matches a handful of rules."""
    rules = []
    for i in range(n):
        keywords = tuple(dict.fromkeys(rng.choices(vocabulary, k=rng.randint(1, 4))))
        kw: dict[str, Any] = {"keywords": keywords}
        roll = rng.random()
        if roll < 0.10:
            kw["fields"] = ("title",)
        elif roll < 0.20:
            kw["exclude"] = tuple(rng.sample(_EXCLUDES, 2))
        elif roll < 0.25:
            kw["regex"] = rng.choice(_REGEXES)
        if rng.random() < 0.10:
            kw["sources"] = tuple(rng.sample(SOURCES, 2))
        rules.append(RuleConfig(f"rule-{i}", notify=("hook",), **kw))
    return rules


def _sentence(rng: random.Random, vocabulary: list[str], weights: list[float]) -> str:
    parts = []
    for _ in range(rng.randint(4, 9)):
        if rng.random() < 0.03:
            word = rng.choices(vocabulary, weights)[0]
            parts.append(_full_width(word) if rng.random() < 0.3 else word)
        else:
            parts.append("".join(rng.choice(_KANJI) for _ in range(rng.randint(2, 4))))
        parts.append("".join(rng.choice(_KANA) for _ in range(rng.randint(1, 2))))
    if rng.random() < 0.3:  # dates and numbers as Japanese pages write them: full-width
        parts.append(_full_width(f"({rng.randint(1, 12)}月{rng.randint(1, 28)}日)"))
    return "".join(parts) + "。"


def make_stories(n: int, vocabulary: list[str], rng: random.Random) -> list[dict[str, str]]:
    weights = _weights(len(vocabulary))
    pool = [*vocabulary, *_EXCLUDES]
    pool_weights = [*weights, *([weights[50]] * len(_EXCLUDES))]
    stories = []
    for _ in range(n):
        target = rng.randint(400, 2_400)
        body_parts: list[str] = []
        length = 0
        while length < target:
            sentence = _sentence(rng, pool, pool_weights)
            body_parts.append(sentence)
            length += len(sentence)
        title = _sentence(rng, pool, pool_weights)[: rng.randint(20, 45)]
        if rng.random() < 0.5:
            title = rng.choices(vocabulary, weights)[0] + title
        summary = "".join(body_parts[:2])[:150]
        body = "\n".join(body_parts)
        stories.append(
            {
                "title": title,
                "summary": summary,
                "body": body,
                "source": rng.choice(SOURCES),
                # what store.Store.save_story keeps for the row the save hook receives
                "text_norm": normalize(f"{title}\n{summary}\n{body}"),
            }
        )
    return stories


def _timed(work: Any) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def time_matching(rules: RuleSet, stories: list[dict[str, str]]) -> tuple[float, float, int]:
    typed = [
        Story.from_row({"id": i, "url": f"https://bench.example/{i}", **s}) for i, s in enumerate(stories)
    ]
    wall, cpu, hits = _timed(lambda: sum(len(rules.match(story, "new")) for story in typed))
    return wall, cpu, hits


def time_store_normalize(stories: list[dict[str, str]]) -> float:
    """CPU seconds the store spends on text_norm for these stories when it saves them."""
    return _timed(lambda: [normalize(f"{s['title']}\n{s['summary']}\n{s['body']}") for s in stories])[1]


def time_rule_loop(configs: list[RuleConfig], stories: list[dict[str, str]]) -> float:
    """The naive way, for comparison: every keyword of every rule looked for in turn."""
    keywords = [[normalize(k) for k in r.keywords] for r in configs]

    def loop() -> None:
        for story in stories:
            text = story["text_norm"]
            for kws in keywords:
                for k in kws:
                    if k and k in text:
                        break

    return _timed(loop)[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="100 rules x 1,000 stories (for make bench)")
    args = parser.parse_args(argv)
    profile = "quick" if args.quick else "full"
    n_rules, n_stories = PROFILES[profile]
    rng = random.Random(20251017)

    vocabulary = make_vocabulary(VOCABULARY, rng)
    configs = make_rules(n_rules, vocabulary, rng)
    stories = make_stories(n_stories, vocabulary, rng)
    bare = [{k: v for k, v in s.items() if k != "text_norm"} for s in stories]
    chars = sum(len(s["title"]) + len(s["summary"]) + len(s["body"]) for s in stories)

    build_wall, build_cpu, ruleset = _timed(lambda: RuleSet.from_config(configs))
    runs = [time_matching(ruleset, stories) for _ in range(REPEATS)]
    hits = runs[0][2]
    best_wall, best_cpu = min(r[0] for r in runs), min(r[1] for r in runs)
    bare_runs = [time_matching(ruleset, bare) for _ in range(REPEATS)]
    assert bare_runs[0][2] == hits, "text_norm and the fields must match alike"
    bare_cpu = min(r[1] for r in bare_runs)
    normalize_cpu = min(time_store_normalize(stories) for _ in range(REPEATS))
    sample = stories[:SAMPLE_FOR_LOOP]
    loop_cpu = time_rule_loop(configs, sample) * len(stories) / len(sample)

    distinct_keywords = len({normalize(k) for r in configs for k in r.keywords} - {""})
    report = {
        "profile": profile,
        "machine": {
            "cpus": os.cpu_count(),
            "processor": platform.machine(),
            "python": platform.python_version(),
            "unicodedata": unicodedata.unidata_version,
            "platform": platform.platform(),
            "load_average": [round(x, 2) for x in os.getloadavg()],
        },
        "rules": n_rules,
        "keywords": distinct_keywords,
        "stories": n_stories,
        "story_chars_mean": round(chars / n_stories),
        "matches": hits,
        "matches_per_story": round(hits / n_stories, 2),
        "build_s": round(build_cpu, 4),
        "match_cpu_s": round(best_cpu, 4),
        "match_wall_s": round(best_wall, 4),
        "match_cpu_s_runs": [round(r[1], 4) for r in runs],
        "per_story_us": round(best_cpu / n_stories * 1e6, 1),
        "match_without_text_norm_cpu_s": round(bare_cpu, 4),
        "store_normalize_cpu_s": round(normalize_cpu, 4),
        "rule_loop_cpu_s_estimated": round(loop_cpu, 3),
        "limit_s": LIMIT_S if profile == "full" else None,
    }

    rows = [
        ("rules / distinct keywords", f"{n_rules:,} / {distinct_keywords:,}"),
        ("stories (mean characters)", f"{n_stories:,} ({report['story_chars_mean']:,})"),
        ("matches (per story)", f"{hits:,} ({report['matches_per_story']})"),
        ("build the automaton", f"{build_cpu * 1000:.1f} ms"),
        (f"match every story, CPU (best of {REPEATS})", f"{best_cpu:.3f} s"),
        ("  wall clock", f"{best_wall:.3f} s"),
        ("  per story", f"{report['per_story_us']} µs"),
        ("match without text_norm (normalising)", f"{bare_cpu:.3f} s"),
        ("store's normalisation at save, alone", f"{normalize_cpu:.3f} s"),
        ("loop over rules instead (estimated)", f"{loop_cpu:.2f} s"),
    ]
    width = max(len(label) for label, _ in rows)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"rule matching, {profile} profile, {os.cpu_count()} CPUs (load {load}), Python {platform.python_version()}"
    )
    for label, value in rows:
        print(f"  {label:<{width}}  {value:>16}")

    out = Path(__file__).with_name("rules.quick.json" if args.quick else "rules.json")
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written to {out}")
    if profile == "full" and best_cpu > LIMIT_S:
        print(f"FAILED: {best_cpu:.3f} s is over the {LIMIT_S:.1f} s limit", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
