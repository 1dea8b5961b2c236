"""A markup zoo for J-Defense: the same small site rendered in template families that differ
the way real CMS themes do (issue 15), to prove the readers do not hang on one markup.

Every family shows the same content (``ZOO_IDS`` articles from ``data.py``, the rankings in
``ZOO_RANKING``, the home list ``ZOO_HOME``); only the markup differs. A family is a
combination of choices, each one a way real themes are seen to differ:

- ranking tabs: ``li`` (with an ``a href="#…"``), ``button``, bare ``a href="#…"``, ``dt``,
  ``span``, with or without ARIA roles (``tablist``/``tab``/``tabpanel``, ``aria-controls``);
- ranking panels: ``ol``, ``ul``, ``div`` cards or ``dl``; siblings of the tab bar or nested
  in one wrapper; hidden panels; rank numbers as text, inside the link, as images or by CSS
  only; a thumbnail link before each title link; a "more" link and an ad slot in the block;
- the block in an ``aside`` after or before the article, in the footer, or after the article;
- bodies as ``<p>`` in a box or straight in the article, ``<br>`` lines, ``div`` paragraphs;
  blockquotes and quote boxes, figures with captions; share, related and author boxes;
- date lines ``2025-10-20 09:10``, ``2025年10月20日 09:10``, ``2025.10.20`` (no time),
  ``投稿日：2025/10/20 09:10``; the category before or after the title, or after the date;
- home pages as a plain list, cards with pagination, or a list left empty for a script.

``render_article`` and friends take a ``Style`` (class names and extra wrappers) so the
property test can rename and wrap containers around the same content.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from html import escape
from typing import Any

from imitations.jdefense import data as D

# ---- the content ------------------------------------------------------------------------------------

ZOO_IDS: tuple[str, ...] = (
    "004400", "004401", "004402", "004406", "004409", "004413", "004419", "004420", "004424", "004431", "004433",
)  # fmt: skip
ZOO_RANKING: dict[str, list[str]] = {
    "24h": ["004433", "004431", "004424", "004420", "004413", "004406"],
    "1w": ["004433", "004424", "004401", "004420", "004431", "004413", "004409"],
    "1m": ["004401", "004424", "004409", "004433", "004400", "004413", "004420", "004402"],
}
ZOO_HOME: tuple[str, ...] = ("004433", "004431", "004424", "004420", "004413")
# 004419 is on no home list and in no ranking: only its section page (linked from the
# navigation) leads to it.
SECTION_ONLY = "004419"
WINDOW_LABELS = D.WINDOW_LABELS
SHARE_TEXT = "この記事をシェアする"
AUTHOR_TEXT = "Jディフェンスニュース編集部。防衛省・自衛隊の動向を中心に取材している。"
CAPTION = "写真：防衛省提供"


def article(article_id: str) -> D.Article:
    return D.BY_ID[article_id]


def quote_span(a: D.Article) -> tuple[int, int]:
    """Which paragraphs a family that quotes puts in the quote: the shared story quotes the
    ministry release to its end; other articles quote their middle paragraphs."""
    n = len(a.body)
    if a.id == D.SHARED_STORY_ID:
        return 1, n
    return (1, n - 1) if n >= 3 else (0, 0)


def date_text(a: D.Article, form: str) -> str:
    p = a.published
    if form == "kanji":
        return f"{p.year}年{p.month}月{p.day}日 {p:%H:%M}"
    if form == "dots":
        return f"{p:%Y.%m.%d}"
    if form == "label":
        return f"投稿日：{p:%Y/%m/%d %H:%M}"
    return a.date_line


def expected_published(a: D.Article, form: str) -> datetime:
    """What a reader should take from the date line: a date without a time is midnight."""
    if form == "dots":
        return a.published.replace(hour=0, minute=0)
    return a.published


# ---- families ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Family:
    name: str
    tabs: str = "li"  # li | button | a | dt | span
    aria: bool = False
    panels: str = "ol"  # ol | ul | cards | dl
    wrapper: bool = False  # the panels nested in one wrapper div
    hidden: bool = False  # inactive panels carry hidden / display:none
    numbers: str = "css"  # css | text | in-link | image
    thumbs: bool = False  # a thumbnail link before each title link
    extras: bool = False  # a "more" link and an ad slot inside the block
    heading: bool = True  # a "Ranking" heading on the block
    place: str = "aside-after"  # aside-after | aside-before | footer | after-article
    body: str = "p"  # p | p-direct | br | div
    quote: str = "none"  # none | blockquote | box
    figure: bool = False
    boxes: tuple[str, ...] = ("share", "related")  # share | related | author, after the body
    date_form: str = "iso"  # iso | kanji | dots | label
    category: str = "between"  # before | between | after-date
    home: str = "list"  # list | cards | script
    meta: bool = False  # og: tags and JSON-LD
    home_widget: str = "full"  # full | empty (the home page's tabs drawn, its lists left to a script)


FAMILIES: tuple[Family, ...] = (
    Family("classic"),
    Family("aria-buttons", tabs="button", aria=True, panels="ul", wrapper=True, hidden=True,
           numbers="text", body="p", quote="box", category="before", date_form="kanji"),
    Family("anchor-tabs", tabs="a", aria=False, panels="ol", numbers="in-link", place="aside-before",
           body="br", boxes=("share", "author"), date_form="label", meta=True),
    Family("dl-ranking", tabs="dt", panels="dl", numbers="image", place="footer", body="div",
           quote="blockquote", figure=True, category="after-date"),
    Family("cards", tabs="span", panels="cards", thumbs=True, extras=True, numbers="text",
           wrapper=True, body="p-direct", boxes=("share", "related", "author"), home="cards"),
    Family("after-article", tabs="li", aria=True, panels="ol", place="after-article", thumbs=True,
           body="p", figure=True, quote="blockquote", date_form="dots"),
    Family("script-home", tabs="button", aria=True, panels="ol", hidden=True, home="script",
           body="div", boxes=("related", "share"), date_form="kanji", category="before"),
    Family("wordpress", tabs="li", aria=True, panels="ul", wrapper=True, extras=True,
           numbers="in-link", body="p", quote="box", figure=True, boxes=("share", "author", "related"),
           meta=True),
    Family("portal", tabs="span", panels="cards", thumbs=True, place="aside-before", numbers="image",
           body="p-direct", quote="blockquote", home="cards", category="after-date", date_form="label"),
    Family("minimal", tabs="a", panels="ul", heading=False, numbers="text", place="footer", body="br",
           boxes=(), category="before"),
    Family("news-theme", tabs="dt", panels="dl", numbers="text", extras=True, place="after-article",
           body="div", quote="box", boxes=("author", "share"), date_form="dots", home="cards"),
    Family("spa-shell", tabs="button", aria=True, panels="cards", wrapper=True, hidden=True, thumbs=True,
           numbers="css", body="p", figure=True, boxes=("related",), home="script", meta=True),
    Family("blog", tabs="li", panels="ol", numbers="image", thumbs=True, body="p-direct", quote="box",
           boxes=("share",), date_form="kanji", category="after-date"),
    Family("lazy-widget", tabs="button", aria=True, panels="ul", wrapper=True, home_widget="empty",
           body="p", quote="blockquote", boxes=("author", "related"), home="cards", date_form="kanji"),
    Family("magazine", tabs="a", aria=True, panels="ol", wrapper=True, extras=True, place="aside-after",
           body="br", figure=True, boxes=("related", "author"), home="cards", category="between"),
)  # fmt: skip
BY_NAME = {f.name: f for f in FAMILIES}


@dataclass(frozen=True)
class Style:
    """What the property test varies around fixed content: class names and extra wrappers."""

    cls: Callable[[str], str] = lambda name: name
    wrap: int = 0  # extra <div>s around the main column, the block and the body
    sidebar_first: bool = False


PLAIN = Style()


def esc(text: str) -> str:
    return escape(text, quote=True)


def _wrap(html: str, style: Style, what: str) -> str:
    for i in range(style.wrap):
        html = f'<div class="{style.cls(f"{what}-w{i}")}">{html}</div>'
    return html


# ---- the ranking block ------------------------------------------------------------------------------


def _entry(f: Family, st: Style, a: D.Article, rank: int, host: str) -> str:
    href = f"{host}{a.path}"
    number = ""
    title = esc(a.title)
    if f.numbers == "text":
        number = f'<span class="{st.cls("rank-no")}">{rank}</span>'
    elif f.numbers == "image":
        number = f'<img class="{st.cls("rank-img")}" src="/img/rank{rank}.png" alt="{rank}位">'
    elif f.numbers == "in-link":
        title = f'<span class="{st.cls("num")}">{rank}</span>{title}'
    thumb = (
        f'<a href="{href}" class="{st.cls("thumb")}"><img src="/img/t{a.id}.jpg" alt=""></a>'
        if f.thumbs
        else ""
    )
    link = f'<a href="{href}">{title}</a>'
    if f.panels == "cards":
        return (
            f'<div class="{st.cls("card")}">{number}{thumb}<div class="{st.cls("card-body")}">'
            f'<p class="{st.cls("card-title")}">{link}</p>'
            f'<p class="{st.cls("card-date")}">{a.published:%Y.%m.%d}</p></div></div>\n'
        )
    return f'<li class="{st.cls(f"rank-{rank}")}">{number}{thumb}{link}</li>\n'


def _panel(f: Family, st: Style, window: str, i: int, ranking: dict[str, list[str]], host: str) -> str:
    items = "".join(_entry(f, st, article(x), r, host) for r, x in enumerate(ranking.get(window, []), 1))
    attrs = f' id="{st.cls("rk")}-{window}"'
    if f.aria:
        attrs += f' role="tabpanel" aria-labelledby="{st.cls("tab")}-{window}"'
    if f.hidden and i > 0:
        attrs += ' hidden style="display:none"'
    tag = {"ol": "ol", "ul": "ul", "cards": "div", "dl": "dd"}[f.panels]
    cls = st.cls("rank-list")
    if f.panels == "dl":
        return f'<dd class="{cls}"{attrs}><ol>{items}</ol></dd>\n'
    return f'<{tag} class="{cls}"{attrs}>\n{items}</{tag}>\n'


def _tab(f: Family, st: Style, window: str, i: int) -> str:
    label = WINDOW_LABELS[window]
    target = f"{st.cls('rk')}-{window}"
    aria = (
        f' role="tab" id="{st.cls("tab")}-{window}" aria-controls="{target}" aria-selected="{str(i == 0).lower()}"'
        if f.aria
        else ""
    )
    active = f' class="{st.cls("on" if i == 0 else "off")}"'
    if f.tabs == "button":
        return f'<button type="button"{active}{aria}>{label}</button>'
    if f.tabs == "a":
        return f'<a href="#{target}"{active}{aria}>{label}</a>'
    if f.tabs == "span":
        return f'<span{active}{aria} data-tab="{window}">{label}</span>'
    if f.tabs == "dt":
        return f"<dt{active}{aria}>{label}</dt>"
    return f'<li{active}{aria}><a href="#{target}">{label}</a></li>'


def ranking_block(f: Family, ranking: dict[str, list[str]], host: str = "", st: Style = PLAIN) -> str:
    heading = (
        f'<h3 class="{st.cls("widget-title")}">Ranking<span>{esc("読まれている記事")}</span></h3>\n'
        if f.heading
        else ""
    )
    windows = list(D.WINDOWS)
    if f.panels == "dl":
        inner = "".join(
            _tab(f, st, w, i) + "\n" + _panel(f, st, w, i, ranking, host) for i, w in enumerate(windows)
        )
        body = f'<dl class="{st.cls("rank-dl")}">\n{inner}</dl>\n'
    else:
        tabs = "".join(_tab(f, st, w, i) for i, w in enumerate(windows))
        role = ' role="tablist"' if f.aria else ""
        bar = (
            f'<ul class="{st.cls("tabs")}"{role}>{tabs}</ul>\n'
            if f.tabs == "li"
            else f'<div class="{st.cls("tabs")}"{role}>{tabs}</div>\n'
        )
        panels = "".join(_panel(f, st, w, i, ranking, host) for i, w in enumerate(windows))
        if f.wrapper:
            panels = f'<div class="{st.cls("panels")}">\n{panels}</div>\n'
        body = bar + panels
    extras = ""
    if f.extras:
        extras = (
            f'<p class="{st.cls("more")}"><a href="/ranking/">ランキングをもっと見る</a></p>\n'
            f'<div class="{st.cls("ad")}"><a href="https://ads.example.invalid/click?id=42">'
            '<img src="/img/banner.png" alt="PR">広告</a></div>\n'
        )
    return _wrap(f'<div class="{st.cls("ranking")}">\n{heading}{body}{extras}</div>\n', st, "rank")


# ---- page parts ------------------------------------------------------------------------------------


def _head(title: str, extra: str = "") -> str:
    return (
        '<!DOCTYPE html>\n<html lang="ja">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{esc(title)}</title>\n{extra}</head>\n"
    )


def _nav(st: Style) -> str:
    items = '<li><a href="/">トップ</a></li>' + "".join(
        f'<li><a href="/docs/{s}/">{esc(label)}</a></li>' for s, label in D.SECTIONS.items()
    )
    return f'<nav class="{st.cls("gnav")}"><ul>{items}</ul></nav>\n'


def _header(st: Style) -> str:
    return (
        f'<header class="{st.cls("site-header")}">\n<p class="{st.cls("tagline")}">{esc(D.TAGLINE)}</p>\n'
        f'<div class="{st.cls("logo")}"><a href="/"><img src="/img/logo.png" alt="{esc(D.SITE_NAME)}"></a></div>\n'
        f"{_nav(st)}</header>\n"
    )


def _footer(f: Family, st: Style, block: str) -> str:
    inner = block if f.place == "footer" else ""
    return (
        f'<footer class="{st.cls("site-footer")}">\n{inner}'
        f"<p>Copyright &copy; {esc(D.SITE_NAME)} All Rights Reserved.</p>\n</footer>\n</body>\n</html>\n"
    )


def _layout(f: Family, st: Style, main: str, block: str) -> str:
    """Header, the main column and the ranking block where the family puts it, footer."""
    main = _wrap(f'<main class="{st.cls("content")}">\n{main}</main>\n', st, "main")
    aside = f'<aside class="{st.cls("side")}">\n{block}</aside>\n'
    if f.place == "after-article":
        cols = main.replace("</main>", block + "</main>", 1)
    elif f.place == "aside-before" or st.sidebar_first:
        cols = aside + main if f.place != "footer" else main
    elif f.place == "aside-after":
        cols = main + aside
    else:
        cols = main
    return f'<body>\n{_header(st)}<div class="{st.cls("wrap")}">\n{cols}</div>\n{_footer(f, st, block)}'


def _body(f: Family, st: Style, a: D.Article) -> str:
    paras = list(a.body)
    lo, hi = quote_span(a) if f.quote != "none" else (0, 0)

    def one(text: str) -> str:
        if f.body == "div":
            return f"<div>{esc(text)}</div>\n"
        return f"<p>{esc(text)}</p>\n"

    def run(texts: list[str]) -> str:
        if not texts:
            return ""
        if f.body == "br":
            return "<br>\n".join(esc(t) for t in texts) + "<br>\n<br>\n"
        return "".join(one(t) for t in texts)

    parts: list[str] = [run(paras[:lo] if hi else paras[:1])]
    if f.figure:
        parts.append(
            f'<figure class="{st.cls("wp-caption")}"><img src="/img/photo.jpg" alt="">'
            f"<figcaption>{esc(CAPTION)}</figcaption></figure>\n"
        )
    if hi:
        quoted = "".join(f"<p>{esc(t)}</p>\n" for t in paras[lo:hi])
        if f.quote == "blockquote":
            parts.append(f"<blockquote>\n{quoted}</blockquote>\n")
        else:
            parts.append(f'<div class="{st.cls("quote-box")}">\n{quoted}</div>\n')
        parts.append(run(paras[hi:]))
    else:
        parts.append(run(paras[1:]))
    inner = "".join(parts)
    if f.body == "br":
        # One text box with line breaks; figures and quotes break it into runs.
        inner = inner.replace("<br>\n<br>\n<figure", "<br>\n<figure").rstrip()
        inner = re.sub(r"(<br>\n)+$", "", inner) + "\n"
    if f.body == "p-direct":
        return inner
    return _wrap(f'<div class="{st.cls("entry-body")}">\n{inner}</div>\n', st, "body")


def _boxes(f: Family, st: Style, a: D.Article, host: str) -> str:
    out = []
    for box in f.boxes:
        if box == "share":
            out.append(
                f'<div class="{st.cls("share")}"><p>{SHARE_TEXT}</p><ul>'
                '<li><a href="https://twitter.com/intent/tweet">X</a></li>'
                '<li><a href="https://www.facebook.com/sharer/sharer.php">Facebook</a></li>'
                '<li><a href="https://line.me/R/msg/text/">LINE</a></li></ul></div>\n'
            )
        elif box == "related":
            others = [article(x) for x in ZOO_IDS if x != a.id][:3]
            items = "".join(f'<li><a href="{host}{o.path}">{esc(o.title)}</a></li>' for o in others)
            out.append(f'<div class="{st.cls("related")}"><h3>関連記事</h3><ul>{items}</ul></div>\n')
        elif box == "author":
            out.append(
                f'<div class="{st.cls("author")}"><h4>この記事を書いた人</h4>'
                f'<p class="{st.cls("author-name")}">編集部</p><p>{AUTHOR_TEXT}</p></div>\n'
            )
    return "".join(out)


def _meta(a: D.Article, host: str) -> str:
    import json

    ld = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": a.title,
        "datePublished": a.published.isoformat(),
        "mainEntityOfPage": f"{host}{a.path}",
    }
    return (
        f'<meta property="og:title" content="{esc(a.title)}">\n'
        f'<meta property="og:type" content="article">\n'
        f'<script type="application/ld+json">{json.dumps(ld, ensure_ascii=False)}</script>\n'
    )


def render_article(
    f: Family, a: D.Article, ranking: dict[str, list[str]], host: str = "", st: Style = PLAIN
) -> str:
    category = (
        f'<ul class="{st.cls("cat")}"><li><a href="/docs/{a.section}/">{esc(a.section_label)}</a></li></ul>\n'
    )
    date = f'<div class="{st.cls("date")}">{esc(date_text(a, f.date_form))}</div>\n'
    title = f'<h1 class="{st.cls("entry-title")}">{esc(a.title)}</h1>\n'
    if f.category == "before":
        head = category + title + date
    elif f.category == "after-date":
        head = title + date + category
    else:
        head = title + category + date
    head = f'<div class="{st.cls("entry-head")}">\n{head}</div>\n'
    main = (
        f'<article class="{st.cls("entry")}">\n{head}{_body(f, st, a)}{_boxes(f, st, a, host)}'
        f'<div class="{st.cls("pager")}"><a href="/docs/{a.section}/">{esc(a.section_label)}へ戻る</a></div>\n'
        "</article>\n"
    )
    block = ranking_block(f, ranking, host, st)
    extra = _meta(a, host) if f.meta else ""
    return _head(f"{a.title} | {D.SITE_NAME}", extra) + _layout(f, st, main, block)


def _listing(f: Family, st: Style, ids: Iterable[str], host: str) -> str:
    arts = [article(x) for x in ids]
    if f.home == "cards":
        return "".join(
            f'<div class="{st.cls("post-card")}"><a href="{host}{a.path}"><img src="/img/t{a.id}.jpg" alt=""></a>'
            f'<div><span class="{st.cls("cat")}">{esc(a.section_label)}</span>'
            f'<h2><a href="{host}{a.path}">{esc(a.title)}</a></h2></div></div>\n'
            for a in arts
        )
    return "<ul>" + "".join(f'<li><a href="{a.path}">{esc(a.title)}</a></li>\n' for a in arts) + "</ul>\n"


def render_home(f: Family, host: str = "", st: Style = PLAIN) -> str:
    if f.home == "script":
        latest = (
            f'<div id="latest" class="{st.cls("latest")}"></div>\n'
            '<script>fetch("/api/latest.json").then(r => r.json()).then(render)</script>\n'
        )
        # The home page's widget is filled by script too: a heading and nothing else.
        block = (
            f'<div class="{st.cls("ranking")}"><h3>Ranking<span>読まれている記事</span></h3>'
            f'<div id="ranking-app"></div></div>\n'
        )
    else:
        latest = _listing(f, st, ZOO_HOME, host)
        if f.home == "cards":
            latest += (
                f'<div class="{st.cls("pagination")}"><span>1</span> <a href="/page/2/">2</a> '
                '<a href="/page/3/">3</a> <a href="/page/2/">次へ</a></div>\n'
            )
        block = ranking_block(f, ZOO_RANKING if f.home_widget == "full" else {}, host, st)
    main = f'<section class="{st.cls("top-news")}">\n<h2>新着記事</h2>\n{latest}</section>\n'
    return _head(f"{D.SITE_NAME} | {D.TAGLINE}") + _layout(f, st, main, block)


def render_section(f: Family, section: str, host: str = "", st: Style = PLAIN) -> str:
    ids = sorted((x for x in ZOO_IDS if article(x).section == section), reverse=True)
    main = f"<h1>{esc(D.SECTIONS[section])}</h1>\n{_listing(replace(f, home='list'), st, ids, host)}"
    return _head(f"{D.SECTIONS[section]} | {D.SITE_NAME}") + _layout(f, st, main, "")


# ---- the site ---------------------------------------------------------------------------------------

_ARTICLE = re.compile(r"^/docs/([a-z]+)/(\d{6})\.html$")
_SECTION = re.compile(r"^/docs/([a-z]+)/$")


@dataclass
class ZooSite:
    """One family served as a WSGI application; ``pages`` overrides any path with raw HTML
    (a test's page built to break a reader)."""

    family: Family
    epoch: int = 0
    pages: dict[str, str] = field(default_factory=dict)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        path = environ.get("PATH_INFO", "/") or "/"
        host = f"http://{environ.get('HTTP_HOST', '')}" if self.family.thumbs else ""
        status, html = 200, self.pages.get(path)
        if html is None:
            status, html = self.route(path, host)
        body = html.encode("utf-8")
        start_response(
            f"{status} {'OK' if status == 200 else 'Not Found'}",
            [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))],
        )
        return [body]

    def route(self, path: str, host: str) -> tuple[int, str]:
        f = self.family
        if path in ("/", "/index.html"):
            return 200, render_home(f, host)
        m = _ARTICLE.match(path)
        if m and m.group(2) in ZOO_IDS and article(m.group(2)).section == m.group(1):
            return 200, render_article(f, article(m.group(2)), ZOO_RANKING, host)
        m = _SECTION.match(path)
        if m and m.group(1) in D.SECTIONS:
            return 200, render_section(f, m.group(1), host)
        return 404, _head("404") + "<body><h1>ページが見つかりません</h1></body></html>"
