"""Questions about one release of a changelog (rag.versions): the asked version picks the section. Real
spaCy, real MiniLM, the real extractive generator over hand-made release notes (no corpus's words)."""

from __future__ import annotations

import pytest

from rag import versions
from rag.embedding import MiniLMEmbedder
from rag.question import analyse
from tests.support.reader import hand_made_reader

# one passage per release, each under its heading, worded alike as release notes are
NEWS = {
    "widget 2.4.1": [
        "Fixed a crash when reading empty archives.",
        "widget-2.4.0 failed to build on some systems.",  # names an earlier release of this same program
    ],
    "widget 2.4.0": ["Fixed a crash when writing long file names.", "Added the --fast option to widget pack."],
    "widget 2.3.0": ["Fixed a crash when listing broken archives.", "Building now requires Frobtool 1.8 or later."],
}


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder()


def _changelog(embedder: MiniLMEmbedder):
    reader, passages = hand_made_reader(embedder, NEWS)
    for passage in passages:
        passage.metadata["section"] = passage.doc_id  # the release heading the notes stand under
    return reader, passages


def test_one_release_is_one_version_however_written() -> None:
    assert versions.normalised("4.9.0") == versions.normalised("4.9")
    assert versions.normalised("3.0") != versions.normalised("3.0.19")
    assert analyse("what changed in widget 2.4.1?").versions == ["2.4.1"]
    assert "2.4.1" in analyse("what changed in widget 2.4.1?").terms  # a term of its own, not "4" and "1"
    assert analyse("what changed in the last release?").versions == []


def test_the_asked_release_section_answers(embedder) -> None:
    reader, passages = _changelog(embedder)
    for version, expected in [("2.4.0", "long file names"), ("2.4.1", "empty archives"), ("2.3.0", "broken")]:
        draft = reader.generate(f"what crash did {version} fix?", passages, [])
        assert not draft.abstained, version
        quoted = [q for qs in draft.quotes.values() for q in qs]
        assert any(expected in q for q in quoted), (version, quoted)
        assert not any("crash" in q and expected not in q for q in quoted), (version, quoted)


def test_a_release_the_notes_do_not_list_is_not_answered(embedder) -> None:
    reader, passages = _changelog(embedder)
    assert reader.generate("what crash did widget 2.5.0 fix?", passages, []).abstained


def test_a_version_of_another_thing_filters_nothing(embedder) -> None:
    reader, passages = _changelog(embedder)
    draft = reader.generate("what needs frobtool 1.8?", passages, [])
    assert not draft.abstained
    assert any("Frobtool 1.8" in q for qs in draft.quotes.values() for q in qs)


def test_the_owner_of_a_version_is_the_name_before_it() -> None:
    assert versions._owner("Building now requires Autoconf >= 2.64.", 32) == "autoconf"
    assert versions._owner("widget-2.4.0 failed to build", 7) == "widget"
    assert versions._owner("Upgrade to version 2.1 first.", 19) == ""  # a verb owns no version


def test_a_question_without_a_version_keeps_every_release(embedder) -> None:
    reader, passages = _changelog(embedder)
    query = analyse("which crash was fixed?")
    cands = reader._candidates(query, embedder.embed_query(query.text), passages)
    assert versions.about_asked_release(query, cands) == cands


def test_version_numbers_answer_which_release(embedder) -> None:
    reader, passages = hand_made_reader(
        embedder, {"history": ["The --fast option first appeared in widget 2.4.0, long after 1.2 shipped."]}
    )
    query = analyse("which release of widget added the --fast option?")
    assert [s.text for s in versions.instances(passages[0].text, query)] == ["2.4.0", "1.2"]
    draft = reader.generate(query.text, passages, [])
    assert not draft.abstained and draft.short_answer == "2.4.0"
