"""The question sets themselves: well-formed, split as their file says, and every key fact real.

A key fact that does not stand in a gold source gives either free failures (nobody can match it) or
free credit (it is matched somewhere else), so every string of every key-fact group must occur in the
text the ingester extracts from at least one of the question's gold sources (case and whitespace
aside, matched as the scorer matches it).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from ingest.loaders import load_file
from rag.evaluation import ANSWERABLE_TYPES, Question, fact_matches, load_questions, normalise_ws

ROOT = Path(__file__).resolve().parents[2]
EVAL = ROOT / "tests" / "eval"
SEEDS = ROOT / "seeds"
CORPORA = EVAL / "corpora"

# (question file, folder of the documents it is asked over, the split the file must hold)
SEED_FILES = [(EVAL / "questions.yaml", SEEDS, "dev"), (EVAL / "questions_test.yaml", SEEDS, "test")]
CORPUS_FILES = [
    (corpus / f"questions_{split}.yaml", corpus / "pages", split)
    for corpus in sorted(p for p in CORPORA.iterdir() if p.is_dir())
    for split in ("dev", "test")
]
ALL_FILES = [f for f in SEED_FILES + CORPUS_FILES if f[0].is_file()]
LABELS = {*ANSWERABLE_TYPES, "unanswerable", "injection"}


def _ids(files: list[tuple[Path, Path, str]]) -> list[str]:
    return [str(f[0].relative_to(EVAL)) for f in files]


@cache
def document_text(folder: Path, source: str) -> str:
    file = folder / source
    assert file.is_file(), f"gold source {source} is not in {folder}"
    return normalise_ws(load_file(file, folder).text)


@cache
def questions_of(path: Path) -> tuple[Question, ...]:
    return tuple(load_questions([path]))


def test_every_expected_question_file_exists():
    for path, folder, _ in SEED_FILES + CORPUS_FILES:
        assert path.is_file(), f"missing question file {path}"
        assert folder.is_dir(), f"missing document folder {folder}"
    assert CORPUS_FILES, "no second corpus under tests/eval/corpora"


@pytest.mark.parametrize(("path", "folder", "split"), ALL_FILES, ids=_ids(ALL_FILES))
def test_key_facts_stand_in_a_gold_source(path: Path, folder: Path, split: str):
    problems = []
    for q in questions_of(path):
        for source in q.sources:
            document_text(folder, source)
        for group in q.key_facts:
            for fact in group:
                if not any(fact_matches(fact, document_text(folder, s)) for s in q.sources):
                    problems.append(f"{q.id}: {fact!r} is in none of {q.sources}")
    assert not problems, "key facts not found verbatim in a gold source:\n" + "\n".join(problems)


@pytest.mark.parametrize(("path", "folder", "split"), ALL_FILES, ids=_ids(ALL_FILES))
def test_questions_are_labelled_and_split(path: Path, folder: Path, split: str):
    questions = questions_of(path)
    assert questions, f"{path} holds no question"
    for q in questions:
        assert q.split == split, f"{q.id}: split {q.split!r}, but {path.name} holds the {split} split"
        assert q.type in LABELS, f"{q.id}: type {q.type!r} is not one of {sorted(LABELS)}"
        if q.type == "unanswerable":
            assert not q.key_facts and q.abstain_expected, f"{q.id}: an unanswerable question has no key facts"
        elif q.type == "injection":
            assert q.forbidden, f"{q.id}: an injection question lists what must never be said"
        else:
            assert q.key_facts and q.sources, f"{q.id}: an answerable question needs key facts and gold sources"
        if q.type in ("multi_part", "conflict"):
            assert len(q.key_facts) >= 2, f"{q.id}: a {q.type} question has one key-fact group per part or side"


def test_seeds_test_split_is_large_and_varied():
    questions = questions_of(SEED_FILES[1][0])
    assert len(questions) >= 60
    counts = {t: sum(q.type == t for q in questions) for t in LABELS}
    assert all(n >= 3 for n in counts.values()), counts
    assert sum(bool(q.history) for q in questions) >= 2, "follow-up questions carry the earlier turns"


def test_ids_are_unique_across_every_file():
    seen: dict[str, Path] = {}
    for path, _, _ in ALL_FILES:
        for q in questions_of(path):
            assert q.id not in seen, f"{q.id} is in both {seen[q.id]} and {path}"
            seen[q.id] = path


@pytest.mark.parametrize("corpus", [c for c in sorted(CORPORA.iterdir()) if c.is_dir()], ids=lambda c: c.name)
def test_second_corpus_is_large_enough_and_licensed(corpus: Path):
    pages = [p for p in (corpus / "pages").iterdir() if p.suffix in (".html", ".htm")]
    assert 20 <= len(pages) <= 60
    assert sum(p.stat().st_size for p in pages) < 600_000, "keep the corpus small: every make test ingests it"
    assert (corpus / "LICENSE").is_file() and "licen" in (corpus / "README.md").read_text().lower()
    dev = questions_of(corpus / "questions_dev.yaml")
    test = questions_of(corpus / "questions_test.yaml")
    assert len(dev) + len(test) >= 40
    for split in (dev, test):
        assert sum(q.type == "unanswerable" for q in split) >= 3
        assert {q.corpus for q in split} == {corpus.name}


def _mix(questions: tuple[Question, ...]) -> dict[str, int]:
    return {t: sum(q.type == t for q in questions) for t in LABELS}


def test_fresh_seeds_dev_questions_are_many_and_varied():
    """The d3-* block of the seeds dev split: written in round 4, never seen while tuning the reader."""
    fresh = tuple(q for q in questions_of(SEED_FILES[0][0]) if q.id.startswith("d3-"))
    assert len(fresh) >= 50
    mix = _mix(fresh)
    assert mix["unanswerable"] >= 8 and mix["conflict"] >= 3 and mix["paraphrase"] >= 8, mix
    assert all(mix[t] >= 3 for t in ANSWERABLE_TYPES), mix
    assert sum(bool(q.history) for q in fresh) >= 2, "follow-up questions carry the earlier turns"
    assert all(q.question == q.question.lower() for q in fresh), "worded as Slack users write: lower case"


@pytest.mark.parametrize("corpus", [c for c in sorted(CORPORA.iterdir()) if c.is_dir()], ids=lambda c: c.name)
def test_corpus_splits_are_varied(corpus: Path):
    for split in ("dev", "test"):
        questions = questions_of(corpus / f"questions_{split}.yaml")
        mix = _mix(questions)
        assert sum(mix[t] >= 1 for t in ANSWERABLE_TYPES) >= 4, f"{corpus.name}/{split}: {mix}"
        assert mix["unanswerable"] < len(questions) / 2, f"{corpus.name}/{split}: mostly unanswerable ({mix})"


def test_handbook_splits_cover_every_answerable_type_and_follow_ups():
    for split in ("dev", "test"):
        questions = questions_of(CORPORA / "handbook" / f"questions_{split}.yaml")
        mix = _mix(questions)
        assert all(mix[t] >= 2 for t in ANSWERABLE_TYPES), f"handbook/{split}: {mix}"
        assert 8 <= mix["unanswerable"] <= 10, f"handbook/{split}: {mix}"
        assert sum(bool(q.history) for q in questions) >= 2, f"handbook/{split}: follow-ups carry the earlier turns"


def test_no_question_is_asked_twice():
    """The same wording in two places (or in dev and test) would let a split be tuned to."""
    seen: dict[str, str] = {}
    repeated = []
    for path, _, _ in ALL_FILES:
        for q in questions_of(path):
            key = " ".join(q.question.lower().split())
            if key in seen:
                repeated.append(f"{q.id} repeats {seen[key]}")
            seen.setdefault(key, q.id)
    assert not repeated, "\n".join(repeated)


# the API reference pages of tests/eval/{dev,test}_apidocs.yaml, where Debian's doc packages put them
# (bench/apidocs_pages.sh copies the same files)
API_PAGES = {
    **{
        f"{c}.html": Path("/usr/share/doc/openjdk-17-doc/api/java.base/java/util")
        for c in ("Objects", "Optional", "StringJoiner")
    },
    **{
        f"glib-{p}.html": Path("/usr/share/gtk-doc/html/glib")
        for p in ("Miscellaneous-Utility-Functions", "Base64-Encoding")
    },
    **{f"{p}.html": Path("/usr/share/doc/sqlite3/c3ref") for p in ("busy_timeout", "changes", "close", "exec")},
    **{f"json__{p}_8h.html": Path("/usr/share/doc/libjson-c-dev/html") for p in ("tokener", "util")},
}


@pytest.mark.parametrize("split", ["dev", "test"])
def test_api_docs_questions_are_split_and_their_key_facts_stand_in_the_pages(split: str):
    questions = questions_of(EVAL / f"{split}_apidocs.yaml")
    assert questions and all(q.split == split for q in questions)
    assert {s for q in questions for s in q.sources} <= set(API_PAGES)
    if not all((folder / name).is_file() for name, folder in API_PAGES.items()):
        pytest.skip("the API doc packages are not installed (see bench/apidocs_pages.sh)")
    _assert_key_facts_stand_in(questions, API_PAGES)


def _assert_key_facts_stand_in(questions: list, pages: dict[str, Path]) -> None:
    """Every key fact of every question stands verbatim in one of its gold pages (found in `pages`)."""
    problems = [
        f"{q.id}: {fact!r}"
        for q in questions
        for group in q.key_facts
        for fact in group
        if not any(fact_matches(fact, document_text(pages[s], s)) for s in q.sources)
    ]
    assert not problems, "key facts not found verbatim in a gold page:\n" + "\n".join(problems)


# the pages of tests/eval/{dev,test}_howto.yaml (bench/howto_pages.sh copies the same files): Autoconf's
# manual from autoconf-doc, the rest from the eval corpora
HOWTO_PAGES = {
    "autoconf.html": Path("/usr/share/doc/autoconf"),
    **{
        f"{p}.html": CORPORA / "git" / "pages"
        for p in ("gitcredentials", "git-init", "git-worktree", "git-tag", "gitmodules")
    },
    **{
        f"{p}.html": CORPORA / "postgresql" / "pages"
        for p in ("database-roles", "backup-dump", "backup-file", "ddl-schemas")
    },
    **{f"sect.{p}.html": CORPORA / "handbook" / "pages" for p in ("apt-file", "hostname-name-service")},
}


@pytest.mark.parametrize("split", ["dev", "test"])
def test_howto_questions_are_split_and_their_key_facts_stand_in_the_pages(split: str):
    questions = questions_of(EVAL / f"{split}_howto.yaml")
    assert len(questions) >= (15 if split == "dev" else 10) and all(q.split == split for q in questions)
    assert {s for q in questions for s in q.sources} <= set(HOWTO_PAGES)
    if not (HOWTO_PAGES["autoconf.html"] / "autoconf.html").is_file():
        pytest.skip("autoconf-doc is not installed (see bench/howto_pages.sh)")
    _assert_key_facts_stand_in(questions, HOWTO_PAGES)
