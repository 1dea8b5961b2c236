"""Control characters a source wrote never reach the terminal: ``stories show`` prints a
story stored with an ANSI escape, a bell and a NUL in its title (as stories stored before
crawler.limits may be) as plain text."""

from __future__ import annotations

from store import Store, StoryIn
from tests.conftest import Defwatch
from tests.faults.conftest import figure


def test_stories_show_prints_no_control_characters(defwatch: Defwatch) -> None:
    defwatch.write_config('[store]\nurl = "sqlite:///defwatch.db"\n')
    url = "http://example.org/news/1"
    with Store.open(f"sqlite:///{defwatch.cwd / 'defwatch.db'}") as store:
        store.save_story(StoryIn(url=url, source="x", title="red \x1b[31mALERT\x1b[0m\x07 and\x00 more"))
    result = defwatch("stories", "show", url)
    assert result.returncode == 0, result.stderr
    assert "ALERT" in result.stdout and "more" in result.stdout
    assert not any(ord(c) < 32 and c != "\n" for c in result.stdout), repr(result.stdout)
    figure("ANSI escape in a stored title", "stories show prints it as text, 0 control characters")
