"""ingest.boilerplate: chrome found by the page's shape, checked on the seed files and on pages of other shapes.

The seed checks read the files themselves: every line of every article body must survive cleaning,
and the chrome lines of the one scraped page that has them (004) must be gone.
"""

from __future__ import annotations

from pathlib import Path

from ingest.boilerplate import remove_boilerplate
from ingest.formats import Block, text_blocks
from ingest.loaders import clean_text, load_file

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
SEED_004 = SEEDS / "004_c94a7dcda8e47815.txt"
# seed 004: lines 1-4 are the site's menu, from line 56 ("More For You") on a list of other stories
SEED_004_HEAD_LINES = range(1, 5)
SEED_004_TRAILER_FROM = 56


def _lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").split("\n")]


def _body_lines(path: Path) -> list[str]:
    lines = _lines(path)
    if path == SEED_004:
        numbered = list(enumerate(lines, start=1))
        lines = [t for n, t in numbered if n not in SEED_004_HEAD_LINES and n < SEED_004_TRAILER_FROM]
    return [line for line in lines if line]


def test_every_body_line_of_every_seed_survives_cleaning() -> None:
    seeds = sorted(SEEDS.glob("*.txt"))
    assert len(seeds) == 5
    for path in seeds:
        doc = load_file(path, SEEDS)
        text = " ".join(doc.text.split())  # whitespace is normalised (thin spaces, line ends)
        missing = [line for line in _body_lines(path) if " ".join(line.split()) not in text]
        assert not missing, (path.name, missing[:3])


def test_the_chrome_of_the_scraped_seed_is_gone() -> None:
    lines = _lines(SEED_004)
    body = set(_body_lines(SEED_004))
    chrome = [t for n, t in enumerate(lines, start=1) if t and t not in body]
    assert len(chrome) >= 30  # the menu, the list heading, five teasers with their buttons
    assert "Skip to content" in chrome and "More For You" in chrome
    doc = load_file(SEED_004, SEEDS)
    kept = [line for line in chrome if line in doc.text]
    assert not kept, kept
    assert doc.title == "China urges joint security plan with Pakistan amid growing threats to its citizens"
    assert doc.text.rstrip().endswith("the Pakistani officials said. (Reuters)")


def test_clean_seeds_lose_nothing() -> None:
    for path in sorted(SEEDS.glob("*.txt")):
        if path == SEED_004:
            continue
        blocks = text_blocks(path.read_text(encoding="utf-8"))
        kept, dropped = remove_boilerplate(blocks, scraped=True)
        gone = [b for b in blocks if all(b is not k for k in kept)]
        assert dropped == len(gone) and all(blocks.count(b) > 1 for b in gone), path.name  # only a repeated headline


# -- pages of other shapes: the rules are not fitted to one site ---------------------------------
BODY = [
    "The city council approved the new tram line on Tuesday after a debate that lasted six hours.",
    "The line will connect the railway station with the university campus and the hospital.",
    "Construction is expected to start next spring and to take about three years, the mayor said.",
    "Opponents argued that the money would be better spent on buses, which can change routes.",
    "A public consultation earlier this year found that most residents supported the project.",
    "The council will publish the final route and the timetable for the works next month.",
]


def _page(head: list[str], body: list[str], tail: list[str]) -> str:
    return "\n\n".join(head + body + tail)


def _teasers(button: str, n: int = 4) -> list[str]:
    out = []
    for i in range(n):
        out += [
            f"Local bakery number {i} wins a regional prize",
            f"The bakery won the prize for its bread in {i}.",
            button,
        ]
    return out


def test_a_menu_and_a_teaser_list_of_another_site_are_dropped() -> None:
    head = ["Menu", "Log in", "City news", "Council approves the new tram line across the city"]
    tail = ["You might also like"] + _teasers("Continue to article")
    cleaned, dropped = clean_text(_page(head, BODY, tail))
    assert cleaned.split("\n\n") == [head[-1], *BODY]
    assert dropped == 3 + len(tail)


def test_a_teaser_list_without_a_heading_or_labels_is_dropped_from_its_first_item() -> None:
    tail = []
    for i in range(3):
        tail += [f"Teaser paragraph number {i} about another story entirely.", "Read the story"]
    cleaned, _ = clean_text(_page([], BODY, tail))
    assert cleaned.split("\n\n") == BODY


def test_user_text_with_repeated_labels_is_kept() -> None:
    # an API reference in plain text: "Parameters" repeats at regular intervals through the whole file
    reference = []
    for name in ("open", "read", "write", "close"):
        reference += [
            f"{name}(handle)",
            f"Calls {name} on the handle and returns at once.",
            "Parameters",
            "handle: a file.",
        ]
    cleaned, dropped = clean_text("\n\n".join(reference))
    assert dropped == 0  # no listing (it would outweigh the text), and the repeats are sections apart
    assert all(f"Calls {n} on the handle" in cleaned for n in ("open", "read", "write", "close"))


def test_a_title_block_and_a_closing_list_of_the_user_are_kept() -> None:
    head = ["Design notes", "Migrating the billing database to a new server"]
    tail = ["Open questions", "backup window", "who signs off"]
    cleaned, dropped = clean_text(_page(head, BODY, tail))
    assert dropped == 0
    assert cleaned.split("\n\n") == head + BODY + tail


def test_a_listing_that_would_outweigh_the_text_is_kept() -> None:
    body = BODY[:1]
    tail = _teasers("Continue to article", n=5)
    cleaned, dropped = clean_text(_page([], body, tail))
    assert dropped == 4  # only the repeated buttons (kept once, 3 blocks apart); nothing of the items
    assert "Local bakery number 4 wins a regional prize" in cleaned


def test_headings_of_structured_formats_are_never_dropped() -> None:
    blocks = [
        Block("heading", "Overview", 1),
        Block("heading", "Install", 2),
        Block("heading", "On Linux systems today", 3),
    ]
    blocks += [Block("text", sentence) for sentence in BODY]
    kept, dropped = remove_boilerplate(blocks, scraped=False)
    assert dropped == 0 and kept == blocks
