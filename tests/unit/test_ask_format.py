"""rag.ask_cli.format_answer: what `citebot ask` prints."""

from __future__ import annotations

from rag.ask_cli import format_answer
from rag.schemas import Answer, Citation, Provenance

PROV = Provenance(embedding_model="minilm", generator="extractive", index_fingerprint="abc", nlp_model="x 1")


def _answer(short: str | None) -> Answer:
    cite = Citation(n=1, doc_id="d", source="a.txt", title="A", chunk_id="c", quote="It cost $5.", score=1.0)
    return Answer(answer="It cost $5. [1]", short_answer=short, citations=[cite], mode="extractive", provenance=PROV)


def test_short_answer_is_printed_first():
    lines = format_answer(_answer("$5")).splitlines()
    assert lines[0] == "Answer: $5"
    assert lines[2] == "It cost $5. [1]"


def test_without_short_answer_the_text_comes_first():
    assert format_answer(_answer(None)).splitlines()[0] == "It cost $5. [1]"
