"""The desk's web page: latest stories, search, one story, rankings, health and the feeds,
read from the store that ``defwatch serve`` serves the feeds of (a Flask WSGI app the feed
server hands every request that is not a feed file; see ``feeds.serve``).

Read-only: GET and HEAD only, nothing here writes to the store. Times in JST. No script,
no asset from elsewhere (the Content-Security-Policy says so to the browser too). Bad
input gets a page saying what was wrong with 400 or 404, never a traceback.
"""

from __future__ import annotations

import difflib
import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask, abort, render_template, request
from markupsafe import Markup, escape
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException, NotFound

from core.cron import cron_trigger
from core.model import JST, Story
from feeds.build import feed_specs
from feeds.listing import rule_ids
from feeds.rules import RuleMatcher
from feeds.serve import overdue_after
from store import browse, links, rankings, search
from store.feeds import ids_by_url_key
from web.chart import rank_chart

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from core.config import Config
    from store import Store

__all__ = ["PER_PAGE", "WebApp", "create_app"]

log = logging.getLogger(__name__)

PER_PAGE = 50
MAX_ID = 2**63 - 1  # the largest id a database stores
MAX_PAGE = 1000  # past this a page number is a mistake, not a wish to read 50,000 stories back
WINDOWS = ("24h", "1w", "1m")
WINDOW_LABELS = {"24h": "24時間 (24h)", "1w": "1週間 (1 week)", "1m": "1か月 (1 month)"}
MOVES = {
    "entered": "ランクイン (entered)",
    "left": "圏外 (left)",
    "climbed": "上昇 (climbed)",
    "fell": "下降 (fell)",
    "new_1": "新1位 (new #1)",
    "returned": "再ランクイン (returned)",
}
OUTCOMES = {
    "ok": "正常 (ok)",
    "degraded": "一部失敗 (degraded)",
    "failed": "失敗 (failed)",
    "timeout": "時間切れ (timeout)",
    "running": "実行中 (running)",
    "interrupted": "中断 (interrupted)",
}
DELIVERY_STATUS = {"pending": "送信待ち (pending)", "sent": "送信済み (sent)", "failed": "失敗 (failed)"}
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


class WebApp:
    """What the pages share: the configuration and one store, opened on first use and
    reopened after a failure (like /healthz), so the server starts whatever the store does."""

    def __init__(self, config: Config, store: Store | None = None) -> None:
        self.config = config
        self._store = store
        self._lock = threading.Lock()

    def store(self) -> Store:
        from store import Store

        with self._lock:
            if self._store is None:
                self._store = Store.open(self.config.store.url, create=False)
            return self._store

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self.store().engine.connect() as conn:
            yield conn

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None

    def matcher(self) -> RuleMatcher:
        # One per request: its cache is keyed by story id and a story may be revised.
        return RuleMatcher(self.config.rules)


# -- helpers for templates ---------------------------------------------------------------------


def jst(value: datetime | None, seconds: bool = False) -> str:
    if value is None:
        return "-"
    return value.astimezone(JST).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M") + " JST"


def marked(shown: str, words: Sequence[str]) -> Markup:
    """``shown`` with the words of a search in <mark> (escaped)."""
    out = []
    for piece, hit in search.highlight(shown, words):
        out.append(f"<mark>{escape(piece)}</mark>" if hit else str(escape(piece)))
    return Markup("".join(out))


def _page() -> int:
    raw = request.args.get("page", "1").strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6 or not 1 <= int(raw) <= MAX_PAGE:
        abort(400, f"ページ番号が正しくありません: 1から{MAX_PAGE}までの数 (page must be 1–{MAX_PAGE})")
    return int(raw)


def _choice(name: str, allowed: Sequence[str], label: str) -> str | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    if value not in allowed:
        abort(400, f"{label}「{value[:80]}」はありません (unknown {name})")
    return value


def _duration(run: Mapping[str, Any]) -> str:
    if not run.get("finished"):
        return "-"
    return f"{(run['finished'] - run['started']).total_seconds():.1f} s"


def _changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """What a revision changed: the fields, and the body's lines as a diff."""
    fields = [n for n in ("title", "summary", "body") if (old.get(n) or "") != (new.get(n) or "")]
    diff = list(
        difflib.unified_diff(
            (old.get("body") or "").splitlines(), (new.get("body") or "").splitlines(), lineterm="", n=1
        )
    )[2:62]
    return {"fields": fields or ["text"], "diff": diff}


def create_app(config: Config, store: Store | None = None) -> Flask:
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = 0
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    web = WebApp(config, store)
    app.extensions["defwatch"] = web
    env = app.jinja_env
    env.filters["jst"] = jst
    env.globals.update(
        WINDOW_LABELS=WINDOW_LABELS, MOVES=MOVES, OUTCOMES=OUTCOMES, DELIVERY_STATUS=DELIVERY_STATUS
    )
    env.trim_blocks = True
    env.lstrip_blocks = True

    source_names = [s.name for s in config.sources]
    rule_names = [r.name for r in config.rules]
    feeds_dir = Path(config.feeds.dir)
    specs = feed_specs(config)

    def feed_links(*paths: str) -> list[dict[str, str]]:
        """The feeds of what a page shows, those that exist (with the whole-site feed)."""
        out = []
        by_path = {s.path: s for s in specs}
        for path in ("all", *paths):
            spec = by_path.get(path)
            if spec is None:
                continue
            for fmt, kind in (("rss", "application/rss+xml"), ("atom", "application/atom+xml")):
                out.append(
                    {"href": "/" + spec.file(fmt), "type": kind, "title": f"{spec.title} ({fmt.upper()})"}
                )
        return out

    @app.after_request
    def headers(response: Any) -> Any:
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        titles = {400: "入力が正しくありません", 404: "見つかりません", 405: "この操作はできません"}
        code = exc.code or 500
        message = exc.description if code in (400, 404) else exc.name
        if code == 404 and message == NotFound.description:  # no route: not one of ours
            message = "このページはありません (no such page). 最新記事・検索・ランキング・稼働状況・フィードからどうぞ"
        elif code == 405:
            message = "このページは読み取り専用です (read-only: GET only)"
        page = render_template(
            "error.html", code=code, title=titles.get(code, exc.name), message=message, feeds=feed_links()
        )
        return page, code

    @app.errorhandler(SQLAlchemyError)
    def store_error(exc: SQLAlchemyError) -> Any:
        log.warning("web: store error: %s", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        web.close()
        message = (
            "データベースを読めません。しばらくしてから再読み込みしてください (the store cannot be read)"
        )
        return render_template("error.html", code=503, title="一時的に利用できません", message=message), 503

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        from store import StoreError

        if isinstance(exc, StoreError):
            return render_template(
                "error.html", code=503, title="一時的に利用できません", message=str(exc)
            ), 503
        log.exception("web: unexpected error on %s", request.path)
        message = "ページを作れませんでした。ログを確認してください (internal error, see the server's log)"
        return render_template("error.html", code=500, title="内部エラー", message=message), 500

    def story_rows(conn: Connection, ids: Sequence[int], words: Sequence[str] = ()) -> list[dict[str, Any]]:
        rows = browse.stories_by_id(conn, ids, full=True)
        marks = browse.copy_marks(conn, ids)
        matcher = web.matcher()
        out = []
        for i in ids:
            row = rows.get(i)
            if row is None:
                continue
            item = {
                "id": i,
                "url": row.get("link") or row["url"],  # as the site gave it
                "title": row["title"],
                "source": row["source"],
                "published": row["published"] or row["fetched"],
                "dated": row["published"] is not None,
                "rules": sorted(matcher.matches(Story.from_row(row))),
                "copies": marks.get(i),
                "is_copy": i in marks and marks[i]["origin"] != i,
            }
            if words:
                item["title_html"] = marked(row["title"], words)
                item["excerpt_html"] = marked(search.excerpt(row["body"] or row["summary"], words), words)
            out.append(item)
        return out

    def source_param(conn: Connection) -> str | None:
        """?source=: a configured source, or one the store still has stories of."""
        value = request.args.get("source", "").strip()
        if not value:
            return None
        if value in source_names or (len(value) <= 64 and browse.has_source(conn, value)):
            return value
        abort(400, f"ソース「{value[:80]}」はありません (unknown source)")

    @app.get("/")
    def latest() -> Any:
        page = _page()
        rule = _choice("rule", rule_names, "ルール")
        with web.connect() as conn:
            source = source_param(conn)
            sources = sorted({*source_names, *([source] if source else [])})
            chosen = [source] if source else []
            offset = (page - 1) * PER_PAGE
            if rule:
                ids = rule_ids(conn, web.matcher(), rule, offset + PER_PAGE + 1, sources=chosen)[offset:]
            else:
                ids = browse.latest_ids(conn, sources=chosen, limit=PER_PAGE + 1, offset=offset)
            if not ids and page > 1:
                abort(404, f"{page}ページ目に記事はありません (no stories on page {page})")
            items = story_rows(conn, ids[:PER_PAGE])
        feeds = feed_links(*([f"sources/{source}"] if source else []), *([f"rules/{rule}"] if rule else []))
        return render_template(
            "latest.html",
            items=items,
            page=page,
            more=len(ids) > PER_PAGE,
            source=source,
            rule=rule,
            sources=sources,
            rules=rule_names,
            feeds=feeds,
        )

    @app.get("/search")
    def search_page() -> Any:
        typed = request.args.get("q", "")
        try:
            query = search.parse(typed)
        except search.SearchError as exc:
            shown = typed[:100] + ("…" if len(typed) > 100 else "")
            shown = "".join(c if c.isprintable() else "\ufffd" for c in shown)
            body = render_template(
                "search.html", q=shown, error=str(exc), items=[], page=1, feeds=feed_links()
            )
            return body, 400
        page = _page()
        with web.connect() as conn:
            source = source_param(conn)
            sources = sorted({*source_names, *([source] if source else [])})
            offset = (page - 1) * PER_PAGE
            ids = search.search(
                conn, query, sources=[source] if source else [], limit=PER_PAGE + 1, offset=offset
            )
            if not ids and page > 1:
                abort(404, f"{page}ページ目に結果はありません (no results on page {page})")
            items = story_rows(conn, ids[:PER_PAGE], query.words)
        return render_template(
            "search.html",
            q=query.text,
            words=query.words,
            items=items,
            page=page,
            more=len(ids) > PER_PAGE,
            source=source,
            sources=sources,
            feeds=feed_links(),
        )

    @app.get("/stories/<int:story_id>")
    def story(story_id: int) -> Any:
        if story_id > MAX_ID:
            abort(404, f"記事 {story_id} はありません (no story {story_id})")
        with web.connect() as conn:
            row = browse.story(conn, story_id)
            if row is None:
                abort(404, f"記事 {story_id} はありません (no story {story_id})")
            group = links.group_rows(conn, story_id)
            deliveries = browse.deliveries_for_story(conn, [g["id"] for g in group])
        store = web.store()
        revisions = store.revisions(story_id)
        newer = [*revisions[1:], row]  # what replaced each revision
        history = [{**old, "changed": _changed(old, new)} for old, new in zip(revisions, newer, strict=False)]
        ranks = {w: rankings.rank_history(store, row["url"], w) for w in WINDOWS}
        return render_template(
            "story.html",
            story=row,
            paragraphs=[p for p in (row["body"] or "").splitlines() if p.strip()],
            group=group,
            revisions=history,
            rules=sorted(web.matcher().matches(Story.from_row(row))),
            deliveries=deliveries,
            ranks={w: h for w, h in ranks.items() if h},
            feeds=feed_links(f"sources/{row['source']}"),
        )

    @app.get("/rankings")
    def rankings_page() -> Any:
        window = _choice("window", WINDOWS, "期間") or "24h"
        store = web.store()
        lists = []
        for source in rankings.ranking_sources(store, window):
            current = rankings.current_ranking(store, source, window)
            if current is None:
                continue
            latest = current["taken_at"]
            history = rankings.window_history(store, source, window, since=latest - timedelta(days=2))
            with web.connect() as conn:
                stored = ids_by_url_key(conn, [e["url_key"] for e in current["entries"]])
            for e in current["entries"]:
                e["story_id"] = stored.get(e["url_key"])
            lists.append(
                {"source": source, "current": current, "chart": rank_chart(history, current["entries"])}
            )
        events = rankings.recent_events(store, None, window, 40)
        return render_template(
            "rankings.html",
            window=window,
            windows=WINDOWS,
            lists=lists,
            events=events,
            feeds=feed_links(f"ranking/{window}"),
        )

    @app.get("/health")
    def health() -> Any:
        now = datetime.now(UTC)
        with web.connect() as conn:
            states = browse.ops_states(conn)
            rows = []
            for src in config.sources:
                runs = browse.recent_runs(conn, src.name, 5)
                next_run = None
                if src.enabled:
                    next_run = cron_trigger(src.schedule, src.tz).get_next_fire_time(
                        None, now.astimezone(src.tz)
                    )
                checks = []
                state = states.get(src.name)
                if state and state["state"] != "ok":
                    checks.append(f"{state['state']}: {state['reason'] or '-'} ({jst(state['since'])}から)")
                if runs and runs[0]["outcome"] in ("failed", "degraded", "timeout", "interrupted"):
                    checks.append(f"最後の実行 (last run) {runs[0]['outcome']}: {runs[0]['reason'] or '-'}")
                for snap in browse.latest_snapshots(conn, src.name):
                    if not snap["valid"]:
                        checks.append(
                            f"ランキング {snap['window']} の自己チェック失敗 (ranking self-check failed, "
                            f"{jst(snap['taken_at'])}): {snap['reason'] or '-'}"
                        )
                success = next((r["finished"] for r in runs if r["outcome"] in ("ok", "degraded")), None)
                anchor = success or (runs[-1]["started"] if runs else None)
                if src.enabled and anchor is not None and now > overdue_after(src, anchor, config):
                    checks.append("遅延: 予定の実行が成功していません (overdue)")
                for run in runs:
                    run["duration"] = _duration(run)
                rows.append({"source": src, "runs": runs, "next_run": next_run, "checks": checks})
            outbox = browse.outbox_summary(conn)
        return render_template("health.html", rows=rows, outbox=outbox, now=now, feeds=feed_links())

    @app.get("/feeds")
    def feeds_page() -> Any:
        entries = []
        for spec in specs:
            files = [
                {
                    "fmt": fmt.upper(),
                    "href": "/" + spec.file(fmt),
                    "built": (feeds_dir / spec.file(fmt)).is_file(),
                }
                for fmt in ("rss", "atom")
            ]
            entries.append({"spec": spec, "files": files})
        opml = (feeds_dir / "index.opml").is_file()
        return render_template("feeds.html", entries=entries, opml=opml, feeds=feed_links())

    return app
