"""``defwatch inspect`` against the ministry as the real site answers (imitations/mod: every
HTML page a bot challenge): a challenged page is said to be one, as the crawl tells them
apart (403 with ``cf-mitigated``, or the challenge body with 200), never read as a page."""

from __future__ import annotations

from pathlib import Path

from imitations.mod import ModSite, data
from imitations.server import SiteServer
from tests.conftest import Defwatch


def test_inspect_says_a_challenge_is_one(tmp_path: Path) -> None:
    dw = Defwatch(tmp_path)
    dw.write_config("[store]\nurl = 'sqlite:///defwatch.db'\n")
    with SiteServer({"mod": ModSite()}) as server:
        index = server.url("mod", data.JINJI_INDEX_PATH)
        variant = server.url("mod", data.CHALLENGE_200_PAGES[0])
        feed = server.url("mod", data.UPDATE_FEED_PATH)
        challenged = dw("inspect", index, "--kind", "mod")
        challenged_200 = dw("inspect", variant, "--kind", "feed")
        read = dw("inspect", feed, "--kind", "mod")
    assert challenged.returncode == 1, challenged.stderr
    assert challenged.stdout.startswith(
        f"page: {index}\n"
        "FAILED challenge: the site answered with a bot challenge (HTTP 403, cf-mitigated: challenge), "
        "not the page\n"
    )
    assert "title-only story from the feed" in challenged.stdout
    assert challenged_200.returncode == 1, challenged_200.stderr
    assert "bot challenge (HTTP 200), not the page" in challenged_200.stdout
    assert read.returncode == 0, read.stderr
    assert read.stdout.startswith(f"feed: {feed} (rss20)")
    assert "人事発令" in read.stdout
    # A kept challenge page read with --file is said to be one too.
    saved = tmp_path / "kept.html"
    saved.write_text(_challenge_body(), encoding="utf-8")
    from_file = dw("inspect", variant, "--kind", "page", "--file", str(saved))
    assert from_file.returncode == 1 and "bot challenge (HTTP 200)" in from_file.stdout


def _challenge_body() -> str:
    from imitations.mod import render

    return render.challenge(data.JINJI_INDEX_PATH)
