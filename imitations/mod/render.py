"""Turn data.py into the bytes the site serves: feeds, kisha_ja.js and HTML pages."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from email.utils import parsedate_to_datetime
from html import escape as html_escape
from xml.sax.saxutils import escape as xml_escape

from imitations.mod import data, pdfs

_RSS_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" \
xmlns:sy="http://purl.org/rss/1.0/modules/syndication/" \
xmlns:content="http://purl.org/rss/1.0/modules/content/" xml:lang="ja">
<channel>
<title>{title}</title>
<link>{link}</link>
<description>{description}</description>
<language>ja</language>
<copyright>(c) Japan Ministry of Defense</copyright>
<lastBuildDate>{build}</lastBuildDate>
<dc:creator>防衛省広報課</dc:creator>
<dc:subject>行政</dc:subject>
<sy:updatePeriod>daily</sy:updatePeriod>
<sy:updateFrequency>2</sy:updateFrequency>
"""
_RSS_TAIL = "</channel>\n</rss>\n"

# The real feed writes each item on one line, with an empty description and content.
_ITEM = (
    "<item><title>{title}</title><link>{link}</link>"
    '<guid isPermaLink="true">{link}</guid><category>{category}</category>'
    "<pubDate>{pub_date}</pubDate><description /><content:encoded /></item>\n"
)


def latest(dates: Iterable[str]) -> str:
    """The latest of some RFC 822 dates, as written."""
    return max(dates, key=parsedate_to_datetime)


def _rss(title: str, description: str, build: str, items: Iterable[str]) -> str:
    head = _RSS_HEAD.format(title=title, link=data.CHANNEL_LINK, description=description, build=build)
    return head + "".join(items) + _RSS_TAIL


def news_xml(items: list[data.NewsItem], build: str, titles: Mapping[str, str] | None = None) -> str:
    """news.xml with ``items``; ``titles`` replaces the title of the items at some paths."""
    titles = titles or {}
    return _rss(
        "防衛省・自衛隊",
        "防衛省・自衛隊ホームページで公開された情報一覧です。",
        build,
        (
            _ITEM.format(
                title=xml_escape(titles.get(item.path, item.title)),
                link=xml_escape(item.link),
                category=xml_escape(item.category),
                pub_date=item.pub_date,
            )
            for item in items
        ),
    )


def truncated(xml: str, complete_items: int) -> str:
    """``xml`` cut off in the middle of the title of item ``complete_items + 1``."""
    start = 0
    for _ in range(complete_items + 1):
        start = xml.index("<item>", start) + len("<item>")
    title_start = xml.index("<title>", start) + len("<title>")
    title_end = xml.index("</title>", title_start)
    return xml[: (title_start + title_end) // 2]


def update_xml(items: list[data.UpdateItem]) -> str:
    return _rss(
        "防衛省・自衛隊 更新情報",
        "防衛省・自衛隊ホームページの更新情報です。",
        latest(item.pub_date for item in items),
        (
            _ITEM.format(
                title=xml_escape(item.title),
                link=xml_escape(item.link),
                category="行政",
                pub_date=item.pub_date,
            )
            for item in items
        ),
    )


def kisha_js(entries: list[data.KishaEntry]) -> str:
    lines = ",\n".join(f'\t{{date:"{e.date}",title:"{e.title}",url:"{e.url}"}}' for e in entries)
    return f"// 大臣等記者会見 一覧\nvar kisha_list = [\n{lines}\n];\n"


def _iso_date(wareki: str) -> str:
    match = re.fullmatch(r"令和(\d+)年(\d+)月(\d+)日", wareki)
    if match is None:
        raise ValueError(f"not a Reiwa date: {wareki}")
    year, month, day = (int(g) for g in match.groups())
    return f"{2018 + year:04d}-{month:02d}-{day:02d}"


def kisha_js_broken(entries: list[data.KishaEntry]) -> str:
    """The broken-kisha fault: the site moved to a JSON payload with other keys."""
    rows = [{"kaikenbi": _iso_date(e.date), "midashi": e.title, "href": e.url} for e in entries]
    payload = json.dumps({"version": 2, "items": rows}, ensure_ascii=False)
    return f"/* kisha v2 */\nwindow.MOD_KISHA = JSON.parse('{payload}');\n"


# -- HTML ---------------------------------------------------------------------------------
_PAGE = """<!DOCTYPE html>
<html lang="ja">
<head>
<meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}｜防衛省・自衛隊</title>
</head>
<body>
<header id="header"><p class="logo"><a href="/j/index.html">防衛省・自衛隊</a></p>
<nav id="gnav"><ul><li><a href="/j/press/index.html">報道・白書</a></li>\
<li><a href="/j/approach/index.html">防衛省の取組</a></li></ul></nav></header>
<div id="breadcrumb"><ol><li><a href="/j/index.html">ホーム</a></li>\
<li><a href="/j/press/index.html">報道・白書</a></li><li>{title}</li></ol></div>
<main id="main">
<article class="contents">
<h1>{title}</h1>
{date}<div class="contents-body">
{body}
</div>
</article>
</main>
<footer id="footer"><p>〒162-8801 東京都新宿区市谷本村町5-1</p>\
<p class="copyright">Copyright &copy; Japan Ministry of Defense</p></footer>
</body>
</html>
"""


def release_page(page: data.HtmlPage) -> str:
    return _PAGE.format(
        title=html_escape(page.title),
        date=f'<p class="date">{html_escape(page.date_line)}</p>\n' if page.date_line else "",
        body="\n".join(f"<p>{html_escape(p)}</p>" for p in page.paragraphs),
    )


def jinji_index(docs: list[data.PdfDoc], title: str) -> str:
    rows = []
    for doc in docs:
        href = doc.path if doc.path in data.JINJI_ROOT_RELATIVE_LINKS else "pdf/" + doc.path.rsplit("/", 1)[1]
        size = max(1, round(len(pdfs.committed(doc.path)) / 1024))
        rows.append(
            f'<li><a href="{href}">{html_escape(doc.link_text)}</a>'
            f'<span class="filesize">（PDF:{size}KB）</span></li>'
        )
    body = (
        "<p>令和7年に発令された将官及び１佐職の人事を掲載しています。</p>\n"
        '<ul class="jinji-list">\n' + "\n".join(rows) + "\n</ul>"
    )
    return _PAGE.format(title=html_escape(title), date="", body=body)


def _ray(path: str) -> str:
    return hashlib.sha1(path.encode()).hexdigest()[:16] + "-NRT"


def challenge(path: str) -> str:
    """The body of a Cloudflare managed challenge ("Just a moment...")."""
    ray = _ray(path)
    return f"""<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>\
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8">\
<meta http-equiv="X-UA-Compatible" content="IE=Edge">\
<meta name="robots" content="noindex,nofollow">\
<meta name="viewport" content="width=device-width,initial-scale=1">\
<style>*{{box-sizing:border-box;margin:0;padding:0}}html{{line-height:1.15}}\
body{{display:flex;flex-direction:column;height:100vh;min-height:100vh}}</style>\
<meta http-equiv="refresh" content="390"></head><body class="no-js">\
<div class="main-wrapper" role="main"><div class="main-content">\
<h1 class="zone-name-title h1">www.mod.go.jp</h1>\
<h2 id="challenge-running" class="h2">Checking if the site connection is secure</h2>\
<noscript><div id="challenge-error-title"><div class="h2"><span id="challenge-error-text">\
Enable JavaScript and cookies to continue</span></div></div></noscript>\
<div id="challenge-body-text" class="core-msg spacer">www.mod.go.jp needs to review the \
security of your connection before proceeding.</div></div></div>\
<script>(function(){{window._cf_chl_opt={{cvId: '3',cZone: "www.mod.go.jp",cType: 'managed',\
cRay: '{ray[:16]}',cH: 'x',cUPMDTk: "{html_escape(path)}?__cf_chl_tk=x",\
cFPWv: 'g'}};var cpo = document.createElement('script');\
cpo.src = '/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1?ray={ray[:16]}';\
document.getElementsByTagName('head')[0].appendChild(cpo);}}());</script>\
<div class="footer" role="contentinfo"><div class="footer-inner"><div class="clearfix diagnostic-wrapper">\
<div class="ray-id">Ray ID: <code>{ray[:16]}</code></div></div>\
<div class="text-center">Performance &amp; security by Cloudflare</div></div></div></body></html>"""


def challenge_headers(path: str) -> list[tuple[str, str]]:
    return [
        (
            "Cache-Control",
            "private, max-age=0, no-store, no-cache, must-revalidate, post-check=0, pre-check=0",
        ),
        ("Expires", "Thu, 01 Jan 1970 00:00:01 GMT"),
        ("Referrer-Policy", "same-origin"),
        ("X-Frame-Options", "SAMEORIGIN"),
        ("CF-RAY", _ray(path)),
    ]


NOT_FOUND = _PAGE.format(
    title="ページが見つかりません",
    date="",
    body="<p>お探しのページは見つかりませんでした。URLをご確認ください。</p>",
)

# What the fake-pdf fault serves, with status 200 and text/html, where a PDF should be.
PDF_ERROR_PAGE = _PAGE.format(
    title="システムエラー",
    date="",
    body="<p>ただいまアクセスが集中しているため、ページを表示できません。しばらくしてから再度アクセスしてください。</p>",
)
