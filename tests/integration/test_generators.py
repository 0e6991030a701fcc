"""Any generator behind the one Generator protocol (rag.passages) runs through the same engine path:
a generator written here, given to a real Engine over the seeds next to the real extractive reader
as its fallback. Nothing is patched: the engine only sees the protocol."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from rag.engine import Engine
from rag.errors import GeneratorError
from rag.llm_format import answer_part, parse_llm_output
from rag.passages import Draft, Passage
from rag.question import Query
from rag.schemas import Answer, Turn
from rag.text import split_sentences

QUESTION = "How many Chinese were killed in the Karachi airport bombing?"


class QuotingModel:
    """Answers with the longest sentence of the first passage, citing it verbatim (or fails)."""

    name = "quoting"
    model = "quoting-1"
    prompt_version = "none@1"
    streams = True

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.received: list[dict] = []

    def _raw(self, passages: list[Passage]) -> str:
        text = passages[0].text
        sentence = max((text[a:b].strip() for a, b in split_sentences(text)), key=len)
        return f'{sentence} [1: "{sentence}"]'

    def generate(self, question: str, passages: list[Passage], history: list[Turn], **inputs) -> Draft:
        self.received.append({"question": question, "passages": passages, "history": history, **inputs})
        if self.fail:
            raise GeneratorError("the quoting model is down")
        return self.parse(self._raw(passages))

    def stream(self, question: str, passages: list[Passage], history: list[Turn], **inputs) -> Iterator[str]:
        self.received.append({"question": question, "passages": passages, "history": history, **inputs})
        if self.fail:
            raise GeneratorError("the quoting model is down")
        raw = self._raw(passages)
        for start in range(0, len(raw), 16):
            yield raw[start : start + 16]

    def answer_part(self, raw: str) -> str:
        return answer_part(raw)

    def parse(self, raw: str) -> Draft:
        return parse_llm_output(raw, model=self.model)


def _engine_with(engine: Engine, generator: QuotingModel) -> Engine:
    return Engine(
        engine.settings, engine.embedder, engine.store, engine.retriever, generator, fallback=engine.generator
    )


def test_the_generator_receives_what_the_protocol_declares(engine):
    model = QuotingModel()
    before = time.monotonic()
    answer = _engine_with(engine, model).ask(QUESTION)
    (got,) = model.received
    assert got["question"] == QUESTION and got["passages"] and got["history"] == []
    assert isinstance(got["query"], Query) and got["query"].text
    assert got["deadline"] > before and got["query_vector"] is not None
    assert answer.mode == "quoting" and not answer.degraded and answer.citations
    assert answer.provenance.generator == "quoting" and answer.provenance.llm_model == "quoting-1"
    assert answer.citations[0].chunk_id == got["passages"][0].chunk_id


def test_a_streaming_generator_streams_verified_text_that_adds_up_to_the_answer(engine):
    items = list(_engine_with(engine, QuotingModel()).ask_stream(QUESTION))
    final = items[-1]
    assert isinstance(final, Answer) and final.mode == "quoting" and final.citations
    deltas = [item for item in items[:-1] if isinstance(item, str)]
    assert deltas and "".join(deltas) == final.answer


@pytest.mark.parametrize("streaming", [False, True])
def test_a_failing_generator_gives_way_to_the_fallback(engine, streaming: bool):
    alone = engine.ask(QUESTION)  # the extractive reader on its own
    failing = _engine_with(engine, QuotingModel(fail=True))
    answer = list(failing.ask_stream(QUESTION))[-1] if streaming else failing.ask(QUESTION)
    assert answer.mode == f"{engine.generator.name} (fallback)" and answer.degraded
    assert "the quoting model is down" in answer.provenance.degraded_reason
    assert answer.provenance.generator == "quoting"
    assert answer.answer == alone.answer and [c.quote for c in answer.citations] == [c.quote for c in alone.citations]
