"""HTML for the J-Defense imitation: two article page variants, the home and section pages.

Variant "a" carries visible markup only (no og:, no JSON-LD, no <time>): title in
``h1.entry-title``, date in ``div.date``, body in ``div.entry-body``, ranking sidebar after
the article. Variant "b" differs in class names and nesting: the site logo is the page's
h1, the title is ``h2.post_ttl``, the date a ``<time>`` inside ``p.post-date``, the body a
``section.txt``, and the ranking sidebar comes *before* the article in source order; its
head has og: tags and a JSON-LD NewsArticle. Both show the same things in the same order.
"""

from __future__ import annotations

import json
from html import escape

from imitations.jdefense.data import (
    RANKING_HEADING,
    SECTIONS,
    SITE_NAME,
    TAGLINE,
    WINDOW_LABELS,
    WINDOWS,
    Article,
)

Ranking = dict[str, list[Article]]  # window -> ranked articles, #1 first


def esc(text: str) -> str:
    return escape(text, quote=True)


def _head(title: str, charset: str, extra: str = "") -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="ja">\n<head>\n'
        f'<meta charset="{charset}">\n'
        f"<title>{esc(title)}</title>\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<link rel="stylesheet" href="/css/style.css">\n'
        f"{extra}</head>\n"
    )


def _nav_items() -> str:
    items = ['<li><a href="/">トップ</a></li>']
    items += [f'<li><a href="/docs/{s}/">{esc(label)}</a></li>' for s, label in SECTIONS.items()]
    return "".join(items)


# ---- variant a: header, sidebar, footer (also used by the home and section pages) ---------


def _header_a() -> str:
    return (
        '<header class="site-header">\n'
        f'<p class="tagline">{esc(TAGLINE)}</p>\n'
        f'<div class="logo"><a href="/"><img src="/img/logo.png" alt="{esc(SITE_NAME)}"></a></div>\n'
        f'<nav class="gnav"><ul>{_nav_items()}</ul></nav>\n'
        "</header>\n"
    )


def _sidebar_a(ranking: Ranking) -> str:
    sub = RANKING_HEADING.removeprefix("Ranking")  # shown as Ranking<span>読まれている記事</span>
    active = ' class="active"'
    tabs = "".join(
        f'<li{active if i == 0 else ""}><a href="#rank-{w}">{WINDOW_LABELS[w]}</a></li>'
        for i, w in enumerate(WINDOWS)
    )
    boxes = "".join(
        f'<div class="tab-box" id="rank-{w}"><ol class="rank">\n'
        + "".join(f'<li><a href="{a.path}">{esc(a.title)}</a></li>\n' for a in ranking.get(w, []))
        + "</ol></div>\n"
        for w in WINDOWS
    )
    return (
        '<aside class="side">\n<div class="ranking">\n'
        f'<h3 class="ranking-ttl">Ranking<span>{esc(sub)}</span></h3>\n'
        f'<ul class="tabs">{tabs}</ul>\n'
        f"{boxes}</div>\n</aside>\n"
    )


def _footer_a() -> str:
    return (
        '<footer class="site-footer">\n'
        f'<ul class="fnav">{_nav_items()}</ul>\n'
        f"<p>Copyright &copy; {esc(SITE_NAME)} All Rights Reserved.</p>\n"
        "</footer>\n</body>\n</html>\n"
    )


def article_a(article: Article, ranking: Ranking, *, charset: str = "utf-8", no_date: bool = False) -> str:
    label, sec = esc(article.section_label), article.section
    date = "" if no_date else f'<div class="date">{esc(article.date_line)}</div>\n'
    body = "".join(f"<p>{esc(p)}</p>\n" for p in article.body)
    return (
        _head(f"{article.title} | {SITE_NAME}", charset)
        + "<body>\n"
        + _header_a()
        + '<div class="wrap">\n<main class="content">\n<article class="entry">\n'
        + f'<h1 class="entry-title">{esc(article.title)}</h1>\n'
        + f'<ul class="cat"><li><a href="/docs/{sec}/">{label}</a></li></ul>\n'
        + date
        + f'<div class="entry-body">\n{body}</div>\n'
        + '<div class="share">この記事をシェアする '
        + '<a href="https://twitter.com/intent/tweet">X</a> '
        + '<a href="https://www.facebook.com/sharer/sharer.php">Facebook</a></div>\n'
        + '<div class="related"><h3>関連リンク</h3><ul>'
        + '<li><a href="https://www.mod.go.jp/">防衛省・自衛隊</a></li>'
        + f'<li><a href="/docs/{sec}/">{label}の記事一覧</a></li></ul></div>\n'
        + f'<div class="pager"><a href="/docs/{sec}/">{label}へ戻る</a> <a href="/">トップへ戻る</a></div>\n'
        + "</article>\n</main>\n"
        + _sidebar_a(ranking)
        + "</div>\n"
        + _footer_a()
    )


# ---- variant b -----------------------------------------------------------------------------


def _sidebar_b(ranking: Ranking, base_url: str) -> str:
    keys = {"24h": "daily", "1w": "weekly", "1m": "monthly"}
    tabs = "".join(
        f'<span class="tab{" on" if i == 0 else ""}" data-tab="{keys[w]}">{WINDOW_LABELS[w]}</span>'
        for i, w in enumerate(WINDOWS)
    )
    lists = "".join(
        f'<div class="rank-list" data-tab="{keys[w]}">\n'
        + "".join(
            f'<div class="rank-item"><span class="num">{n}</span>'
            f'<a href="{base_url}{a.path}">{esc(a.title)}</a></div>\n'
            for n, a in enumerate(ranking.get(w, []), start=1)
        )
        + "</div>\n"
        for w in WINDOWS
    )
    cats = "".join(f'<li><a href="/docs/{s}/">{esc(label)}</a></li>' for s, label in SECTIONS.items())
    return (
        '<div id="sidebar">\n<section class="widget widget-ranking">\n'
        f'<h4 class="widget-title">{esc(RANKING_HEADING)}</h4>\n'
        f'<div class="rank-tabs">{tabs}</div>\n{lists}</section>\n'
        f'<section class="widget"><h4 class="widget-title">カテゴリー</h4><ul>{cats}</ul></section>\n'
        "</div>\n"
    )


def article_b(
    article: Article,
    ranking: Ranking,
    base_url: str,
    *,
    charset: str = "utf-8",
    no_date: bool = False,
) -> str:
    url = f"{base_url}{article.path}"
    iso = article.published.isoformat()
    ld: dict[str, object] = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": article.title,
        "mainEntityOfPage": url,
        "articleSection": article.section_label,
        "publisher": {"@type": "Organization", "name": SITE_NAME},
    }
    if not no_date:
        ld["datePublished"] = iso
    meta = (
        f'<meta property="og:title" content="{esc(article.title)}">\n'
        '<meta property="og:type" content="article">\n'
        f'<meta property="og:url" content="{esc(url)}">\n'
        f'<meta property="og:site_name" content="{esc(SITE_NAME)}">\n'
        f'<script type="application/ld+json">{json.dumps(ld, ensure_ascii=False)}</script>\n'
    )
    label, sec = esc(article.section_label), article.section
    date = (
        ""
        if no_date
        else f'<p class="post-date"><span><time datetime="{iso}">{esc(article.date_line)}</time></span></p>\n'
    )
    body = "".join(f"<p>{esc(p)}</p>\n" for p in article.body)
    return (
        _head(f"{article.title} | {SITE_NAME}", charset, meta)
        + '<body class="single">\n<div id="container">\n'
        + '<div id="header">\n'
        + f'<p class="catch">{esc(TAGLINE)}</p>\n'
        + f'<h1 class="site-logo"><a href="/"><img src="/img/logo.png" alt="{esc(SITE_NAME)}"></a></h1>\n'
        + f'<ul id="gnav">{_nav_items()}</ul>\n'
        + "</div>\n"
        + '<div id="contents" class="clearfix">\n'
        + _sidebar_b(ranking, base_url)
        + '<div id="main">\n<div class="post">\n<div class="post-head">\n'
        + f'<h2 class="post_ttl">{esc(article.title)}</h2>\n'
        + f'<div class="post-cat"><span><a href="/docs/{sec}/">{label}</a></span></div>\n'
        + date
        + "</div>\n"
        + f'<section class="txt">\n{body}</section>\n'
        + '<div class="post-links"><p class="ttl">関連リンク</p>'
        + '<a href="https://www.mod.go.jp/">防衛省・自衛隊</a></div>\n'
        + f'<div class="post-nav"><a href="/docs/{sec}/">{label}の一覧へ</a></div>\n'
        + "</div>\n</div>\n</div>\n"
        + f'<div id="footer"><small>&copy; {esc(SITE_NAME)}</small></div>\n'
        + "</div>\n</body>\n</html>\n"
    )


def article_page(
    article: Article,
    ranking: Ranking,
    base_url: str,
    *,
    charset: str = "utf-8",
    no_date: bool = False,
) -> str:
    if article.variant == "b":
        return article_b(article, ranking, base_url, charset=charset, no_date=no_date)
    return article_a(article, ranking, charset=charset, no_date=no_date)


def truncate(page: str, article: Article) -> str:
    """Cut the page off in the middle of the body: after the first paragraph, halfway into
    the second (or halfway into the only one), with no closing tags."""
    target = esc(article.body[1] if len(article.body) > 1 else article.body[0])
    start = page.index(f"<p>{target}</p>") + len("<p>")
    return page[: start + len(target) // 2]


# ---- home, section index, errors -----------------------------------------------------------


def _list(articles: list[Article]) -> str:
    return "".join(f'<li><a href="{a.path}">{esc(a.title)}</a></li>\n' for a in articles)


def home_page(latest: list[Article], ranking: Ranking | None) -> str:
    cats = "".join(f'<li><a href="/docs/{s}/">{esc(label)}</a></li>' for s, label in SECTIONS.items())
    return (
        _head(f"{SITE_NAME} | {TAGLINE}", "utf-8")
        + '<body class="home">\n'
        + _header_a()
        + '<div class="wrap">\n<main class="content">\n'
        + '<section class="top-news">\n<h2 class="sec-ttl">新着記事</h2>\n'
        + f'<ul class="news-list">\n{_list(latest)}</ul>\n</section>\n'
        + f'<section class="cat-links"><h2 class="sec-ttl">カテゴリー</h2><ul>{cats}</ul></section>\n'
        + "</main>\n"
        + (_sidebar_a(ranking) if ranking is not None else "")
        + "</div>\n"
        + _footer_a()
    )


def section_page(section: str, articles: list[Article]) -> str:
    label = SECTIONS[section]
    return (
        _head(f"{label} | {SITE_NAME}", "utf-8")
        + '<body class="archive">\n'
        + _header_a()
        + '<div class="wrap">\n<main class="content">\n'
        + f'<h1 class="cat-ttl">{esc(label)}</h1>\n'
        + f'<ul class="news-list">\n{_list(articles)}</ul>\n'
        + "</main>\n</div>\n"
        + _footer_a()
    )


def error_page(status: int, message: str) -> str:
    return (
        _head(f"{message} | {SITE_NAME}", "utf-8")
        + "<body>\n"
        + _header_a()
        + f'<main class="content"><h1 class="error">{status} {esc(message)}</h1></main>\n'
        + _footer_a()
    )
