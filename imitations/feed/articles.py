"""The article pages behind the sample feeds and listings, as a news site renders them:
the story inside navigation, a cookie banner, a "related" box and a footer, so that a test
can tell the main text from the boilerplate around it."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

# Words that appear only in the boilerplate: main-text extraction must leave them out.
BOILERPLATE_MARKERS = ("Accept all cookies", "Related stories", "Subscribe to our newsletter")


@dataclass(frozen=True)
class Article:
    title: str
    date: str  # ISO date as the page's <meta> and <time> give it
    paragraphs: tuple[str, ...]


def _press(title: str, date: str) -> Article:
    return Article(
        title,
        date,
        (
            f"{title}. The Ministry of Defence announced the news in London today, setting out "
            "the details in a statement to Parliament and to the press.",
            "Officials said the decision followed a review of the armed forces' requirements and "
            "consultation with allies in Europe and the Indo-Pacific over several months.",
            "Further details will be published in the coming weeks, the ministry said, including "
            "the timetable and the cost over the next ten years.",
        ),
    )


ARTICLES: dict[str, Article] = {
    "/2025/02/jmsdf-commissions-third-mogami-class-frigate/": Article(
        "JMSDF Commissions Third Mogami-class Frigate “Noshiro”",
        "2025-02-13",
        (
            "The Japan Maritime Self-Defense Force commissioned its third Mogami-class multi-mission "
            "frigate at Nagasaki on Thursday, in a ceremony attended by senior officers.",
            "The ship will be assigned to the Minesweeper Flotilla and homeported at Yokosuka. "
            "Like her sisters, she carries a reduced crew of about ninety thanks to automation.",
            "Twelve ships of the class are planned, and an improved, larger design is to follow "
            "from the 2024 budget onwards, with more vertical launch cells.",
        ),
    ),
    "/2025/02/royal-navy-tests-drone-swarm-from-type-23-frigate/": Article(
        "Royal Navy Tests Drone Swarm From Type 23 Frigate",
        "2025-02-12",
        (
            "A Type 23 frigate launched and recovered a swarm of small drones during trials off "
            "Plymouth, the first time the Royal Navy has done so from a frigate at sea.",
            "The trials tested how a warship can control many uncrewed aircraft at once for "
            "surveillance, with a single operator on board supervising the swarm.",
        ),
    ),
    "/2025/02/philippine-navy-receives-second-offshore-patrol-vessel/": Article(
        "Philippine Navy Receives Second Offshore Patrol Vessel",
        "2025-02-11",
        (
            "The Philippine Navy took delivery of its second offshore patrol vessel from a South "
            "Korean yard, part of a six-ship programme signed in 2022.",
            "The vessel will patrol the country's exclusive economic zone, including the waters "
            "of the West Philippine Sea, after a short period of crew training.",
        ),
    ),
    "/2025/02/asean-navies-open-multilateral-exercise/": Article(
        "ASEAN Navies Open Multilateral Exercise in the South China Sea",
        "2025-02-14",
        (
            "Ten navies opened a week-long exercise focused on maritime domain awareness, with "
            "ships and aircraft from every ASEAN member taking part.",
            "The exercise includes search and rescue drills and the sharing of surveillance data "
            "between national maritime operations centres.",
        ),
    ),
}

for _path, _title, _date in (
    (
        "/press/2025/02/13/minister-visits-joint-headquarters.html",
        "Minister visits Joint Operations Headquarters",
        "2025-02-13",
    ),
    (
        "/press/2025/02/13/new-frigate-contract-signed.html",
        "New frigate contract signed with national shipbuilder",
        "2025-02-13",
    ),
    (
        "/press/2025/02/12/exercise-pacific-shield-begins.html",
        "Exercise Pacific Shield begins with eight partner nations",
        "2025-02-12",
    ),
    (
        "/press/2025/02/11/cyber-defence-unit-expands.html",
        "Cyber defence unit expands to a full command",
        "2025-02-11",
    ),
    ("/press/2025/02/10/defence-budget-statement.html", "Statement on the 2025 defence budget", "2025-02-10"),
    (
        "/press/2025/02/07/air-policing-mission-ends.html",
        "Air policing mission ends after four months",
        "2025-02-07",
    ),
    (
        "/press/2025/02/05/veterans-support-package.html",
        "New support package for veterans announced",
        "2025-02-05",
    ),
    ("/press/2025/01/30/older-story-beyond-max-pages.html", "An older story beyond max_pages", "2025-01-30"),
    ("/press/2025/02/14/after-the-redesign.html", "A story after the site's redesign", "2025-02-14"),
):
    ARTICLES[_path] = _press(_title, _date)


def render(article: Article) -> str:
    paragraphs = "\n".join(f"    <p>{escape(p)}</p>" for p in article.paragraphs)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{escape(article.title)} - Defence News Site</title>
<meta property="og:title" content="{escape(article.title)}">
<meta property="article:published_time" content="{article.date}T09:00:00+00:00">
</head>
<body>
<div class="cookie-banner"><p>We use cookies on this site. Accept all cookies or manage them.</p></div>
<header class="site-header">
  <a class="logo" href="/">Defence News Site</a>
  <nav><a href="/">Home</a> <a href="/news/">News</a> <a href="/about/">About</a> <a href="/contact/">Contact</a></nav>
</header>
<main>
  <article class="post">
    <h1 class="entry-title">{escape(article.title)}</h1>
    <p class="byline">By Staff Writer, <time datetime="{article.date}">{article.date}</time></p>
    <div class="entry-content">
{paragraphs}
    </div>
  </article>
  <aside class="related">
    <h2>Related stories</h2>
    <ul><li><a href="/other-1/">Another story about ships</a></li><li><a href="/other-2/">Yet another story</a></li></ul>
  </aside>
</main>
<footer class="site-footer">
  <p>Subscribe to our newsletter for the week's defence news.</p>
  <p>&copy; 2025 Defence News Site. All rights reserved.</p>
</footer>
</body>
</html>
"""
