"""rag.citations.verify on hand-made drafts: markers resolve, quotes are verbatim, repairs are counted."""

from __future__ import annotations

import re

from rag.citations import MARKER, find_verbatim, verify
from rag.passages import Draft, Passage

TEXTS = [
    "A car bomb near Karachi airport killed two Chinese engineers on Sunday. "
    "The attack was claimed by the Balochistan Liberation Army.",
    "Pakistan deployed thousands of security officers to guard Chinese nationals. A special unit was formed in 2016.",
    "China's foreign ministry urged Pakistan to punish the perpetrators. "
    "Beijing demanded better security arrangements.",
    "The power plant at Port Qasim is part of the China-Pakistan Economic Corridor. It cost two billion dollars.",
]
PASSAGES = [
    Passage(
        n=i + 1,
        chunk_id=f"doc{i}:h:0000",
        doc_id=f"doc{i}",
        source=f"{i}.txt",
        title=f"Title {i}",
        text=t,
        score=1 - i / 10,
    )
    for i, t in enumerate(TEXTS)
]
BY_CHUNK = {p.chunk_id: p for p in PASSAGES}


def markers(text: str) -> list[int]:
    return [int(n) for group in MARKER.findall(text) for n in group.split(",")]


def assert_guarantees(verified) -> None:
    """What the module promises for every answer that leaves it."""
    numbers = [c.n for c in verified.citations]
    assert numbers == list(range(1, len(numbers) + 1))
    used = markers(verified.text)
    assert set(used) == set(numbers)  # every marker resolves, every citation is used
    for citation in verified.citations:
        assert citation.quote in BY_CHUNK[citation.chunk_id].text
        assert citation.doc_id == BY_CHUNK[citation.chunk_id].doc_id
    assert 0.0 <= verified.support <= 1.0


def test_valid_quote_is_kept_verbatim_without_repairs() -> None:
    quote = "A car bomb near Karachi airport killed two Chinese engineers on Sunday."
    verified = verify(Draft(text="Two Chinese engineers were killed near Karachi [1].", quotes={1: [quote]}), PASSAGES)
    assert verified.repairs == 0
    assert [c.quote for c in verified.citations] == [quote]
    assert verified.citations[0].chunk_id == "doc0:h:0000"
    assert verified.support == 1.0
    assert_guarantees(verified)


def test_quote_with_other_whitespace_maps_to_the_exact_chunk_text() -> None:
    quote = "A car  bomb near\nKarachi airport killed two Chinese engineers on Sunday."
    verified = verify(Draft(text="Two engineers were killed [1].", quotes={1: [quote]}), PASSAGES)
    assert verified.repairs == 0
    assert verified.citations[0].quote == "A car bomb near Karachi airport killed two Chinese engineers on Sunday."
    assert find_verbatim(TEXTS[0], "“two Chinese engineers on Sunday”") == "two Chinese engineers on Sunday"
    assert find_verbatim(TEXTS[0], "short") is None


def test_invented_quote_is_replaced_by_a_verbatim_sentence_of_the_chunk() -> None:
    draft = Draft(
        text="Two Chinese engineers were killed [1].", quotes={1: ["Two engineers died in a plane crash in Lahore."]}
    )
    verified = verify(draft, PASSAGES)
    assert verified.repairs >= 1
    assert len(verified.citations) == 1
    quote = verified.citations[0].quote
    assert quote != "Two engineers died in a plane crash in Lahore."
    assert quote == "A car bomb near Karachi airport killed two Chinese engineers on Sunday."  # a whole sentence
    assert_guarantees(verified)


def test_marker_beyond_the_passages_is_repaired_or_dropped() -> None:
    verified = verify(Draft(text="Two Chinese engineers were killed near Karachi airport [7]."), PASSAGES)
    assert verified.repairs >= 1
    assert 7 not in markers(verified.text)
    assert_guarantees(verified)
    # repaired here: the claim is well supported by passage 1
    assert [c.chunk_id for c in verified.citations] == ["doc0:h:0000"]


def test_unsupported_claim_with_a_bad_marker_is_left_uncited() -> None:
    verified = verify(Draft(text="The moon is made of green cheese [9]."), PASSAGES)
    assert verified.repairs >= 1
    assert verified.citations == []
    assert markers(verified.text) == []
    assert verified.support == 0.0


def test_citations_are_renumbered_in_order_of_first_use() -> None:
    draft = Draft(
        text=(
            "China urged punishment of the perpetrators [3]. Two engineers were killed by a car bomb [1]. "
            "Security officers guard Chinese nationals [2]. China urged Pakistan to punish the perpetrators [3]."
        )
    )
    verified = verify(draft, PASSAGES)
    assert [c.doc_id for c in verified.citations] == ["doc2", "doc0", "doc1"]
    assert markers(verified.text) == [1, 2, 3, 1]
    assert verified.repairs == 0
    assert verified.support == 1.0
    assert_guarantees(verified)


def test_support_is_the_share_of_cited_claims() -> None:
    draft = Draft(
        text=(
            "Two engineers were killed by a car bomb [1]. The plant is part of the economic corridor [4]. "
            "The weather was sunny and warm. Nobody knows the rest."
        )
    )
    verified = verify(draft, PASSAGES)
    assert verified.support == 0.5
    assert_guarantees(verified)


def test_comma_marker_groups_and_a_marker_opening_the_next_sentence() -> None:
    draft = Draft(
        text=(
            "A car bomb killed two Chinese engineers near the airport [1, 3]. "
            "China's foreign ministry urged Pakistan to punish the perpetrators. [3] "
            "The Port Qasim plant is part of the economic corridor [4]."
        )
    )
    verified = verify(draft, PASSAGES)
    assert_guarantees(verified)
    # "[3]" after "perpetrators." belongs to that sentence, not to the Port Qasim one
    claims = re.split(r"(?<=\])\s+", verified.text)
    assert len(claims) == 3
    by_n = {c.n: c for c in verified.citations}
    assert by_n[markers(claims[0])[0]].doc_id == "doc0"
    assert [by_n[n].doc_id for n in markers(claims[1])] == ["doc2"]
    assert [by_n[n].doc_id for n in markers(claims[2])] == ["doc3"]
    assert verified.support == 1.0
    # passage 3 holds nothing about the bombing: that half of "[1, 3]" is dropped and counted
    assert verified.repairs >= 1
    assert "doc2" not in {by_n[n].doc_id for n in markers(claims[0])}


def test_empty_draft_has_no_citations_and_no_support() -> None:
    verified = verify(Draft(text=""), PASSAGES)
    assert (verified.text, verified.citations, verified.support, verified.repairs) == ("", [], 0.0, 0)
