"""How the engine runs a generator: one path for any generator behind the `Generator` protocol
(rag.passages), batch or streamed, with the fallback generator taking over when the first one fails
or says too little that can be verified. No generator is special-cased by its type: a generator
declares what it does (`streams`: its stream is the model's output as it arrives).

ExtractiveAnswerer adapts the offline reader (rag.extractive.ExtractiveGenerator, whose own entry
point stays as it is) to the protocol.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rag.citations import SentenceStream, Verified, verify
from rag.errors import GeneratorError
from rag.passages import Draft, Generator, Passage
from rag.schemas import Turn

if TYPE_CHECKING:
    import numpy as np

    from rag.extractive import ExtractiveGenerator
    from rag.question import Query

log = logging.getLogger("rag.engine")

MIN_RESTART_S = 2.0  # a stream that broke off is restarted only with at least this much of the budget left


class ExtractiveAnswerer:
    """The offline extractive reader as a Generator: its draft is the whole answer at once."""

    streams = False

    def __init__(self, reader: ExtractiveGenerator) -> None:
        self.reader = reader
        self.name: str = reader.name
        self.model: str | None = reader.model
        self.prompt_version: str | None = reader.prompt_version

    def generate(
        self,
        question: str,
        passages: list[Passage],
        history: list[Turn],
        *,
        query: Query | None = None,
        query_vector: np.ndarray | None = None,
        deadline: float | None = None,
    ) -> Draft:
        return self.reader.generate(question, passages, history, query=query, query_vector=query_vector)

    def stream(self, question: str, passages: list[Passage], history: list[Turn], **inputs: Any) -> Iterator[str]:
        yield self.generate(question, passages, history, **inputs).text

    def answer_part(self, raw: str) -> str:
        return raw

    def parse(self, raw: str) -> Draft:
        return Draft(text=raw)


@dataclass
class Outcome:
    """What a generator path produced: the draft, its verification, and how it came about."""

    draft: Draft
    checked: Verified | None
    mode: str
    degraded: bool = False
    reason: str | None = None  # why the answer is degraded
    shown: str = ""  # text already streamed to the user
    fallback_reason: str | None = None  # set: answer with the fallback generator instead, for this reason

    @classmethod
    def fallback(cls, reason: str) -> Outcome:
        return cls(Draft(text="", abstained=True), None, "", fallback_reason=reason)

    @classmethod
    def abstained(cls, mode: str) -> Outcome:
        return cls(Draft(text="", abstained=True), None, mode)


@dataclass
class GenerationRun:
    """One question's generation: its inputs, its time budget and where stage timings go."""

    question: str
    query: Query
    query_vector: Any
    passages: list[Passage]
    history: list[Turn]
    deadline: float
    timings: dict[str, float]
    started: float
    min_support: float

    def inputs(self) -> dict[str, Any]:
        return {"query": self.query, "query_vector": self.query_vector, "deadline": self.deadline}

    def answer(self, generator: Generator, fallback: Generator | None, streaming: bool) -> Iterator[str]:
        """Text to show as it is verified; returns the Outcome (the fallback's when the generator failed)."""
        if streaming and generator.streams:
            outcome = yield from self._stream(generator, can_fall_back=fallback is not None)
        else:
            outcome = self._batch(generator, can_fall_back=fallback is not None)
        if outcome.fallback_reason and fallback is not None:
            log.warning(
                "generator %s not used, answering with %s: %s", generator.name, fallback.name, outcome.fallback_reason
            )
            reason = outcome.fallback_reason
            outcome = self._batch(fallback, can_fall_back=False)
            outcome.mode, outcome.degraded, outcome.reason = f"{fallback.name} (fallback)", True, reason
        return outcome

    def _batch(self, generator: Generator, can_fall_back: bool) -> Outcome:
        if not self.passages:
            return Outcome.abstained(generator.name)
        try:
            draft = generator.generate(self.question, self.passages, self.history, **self.inputs())
        except GeneratorError as exc:
            if not can_fall_back:
                raise
            return Outcome.fallback(str(exc))
        with timed(self.timings, "verify_ms"):
            checked = None if draft.abstained else verify(draft, self.passages)
        if checked is None:
            return Outcome(draft, None, generator.name)
        too_little = self._too_little(checked) if can_fall_back else None
        if too_little:
            return Outcome.fallback(too_little)
        return Outcome(draft, checked, generator.name)

    def _stream(self, generator: Generator, can_fall_back: bool) -> Iterator[str]:
        """Stream verified sentences only, each with its final numbering, as soon as it is complete."""
        if not self.passages:
            return Outcome.abstained(generator.name)
        restarted = False
        while True:
            stream = SentenceStream(self.passages, self.min_support)
            raw = ""
            try:
                for delta in generator.stream(self.question, self.passages, self.history, **self.inputs()):
                    if not raw:
                        self.timings["first_token_ms"] = since(self.started)
                    raw += delta
                    for text in stream.feed(generator.answer_part(raw)):
                        self.timings.setdefault("first_sentence_ms", since(self.started))
                        yield text
                break
            except GeneratorError as exc:
                if stream.shown:  # keep the verified sentences already shown; say why the rest is missing
                    log.warning("generator %s stream broke off after verified text: %s", generator.name, exc)
                    yield from stream.release()
                    reason = f"the model's answer broke off; only its verified sentences are shown: {exc}"
                    checked = stream.verifier.result()
                    draft = generator.parse(raw)
                    return Outcome(draft, checked, generator.name, degraded=True, reason=reason, shown=stream.shown)
                if raw and not restarted and self.deadline - time.monotonic() > MIN_RESTART_S:
                    log.warning(
                        "generator %s stream broke off before a verified sentence; retrying: %s", generator.name, exc
                    )
                    restarted = True
                    continue
                if not can_fall_back:
                    raise
                return Outcome.fallback(str(exc))
        return (yield from self._finish_stream(generator, stream, raw, can_fall_back))

    def _finish_stream(
        self, generator: Generator, stream: SentenceStream, raw: str, can_fall_back: bool
    ) -> Iterator[str]:
        draft = generator.parse(raw)
        if draft.abstained and not stream.shown:
            return Outcome(draft, None, generator.name)
        with timed(self.timings, "verify_ms"):
            stream.finish(generator.answer_part(raw), draft.quotes)
        checked = stream.verifier.result()
        too_little = self._too_little(checked) if can_fall_back else None
        if too_little and not stream.shown:
            return Outcome.fallback(too_little)
        # sentences held back while support was low: once any text is shown, verified text is never retracted
        yield from stream.release()
        self.timings.setdefault("first_sentence_ms", since(self.started))
        return Outcome(draft, checked, generator.name, shown=stream.shown)

    def _too_little(self, checked: Verified) -> str | None:
        """Why a verified answer is not good enough to give, when a fallback could answer (None when it is)."""
        if checked.kept == 0:
            return f"none of the LLM answer's {checked.claims} claims had a citation whose quote states it"
        if checked.support < self.min_support:
            return (
                f"only {checked.kept} of the LLM answer's {checked.claims} claims were verified (support "
                f"{checked.support:.2f}, below CITEBOT_MIN_SUPPORT={self.min_support:g})"
            )
        return None


def since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


@contextmanager
def timed(timings: dict[str, float], key: str):
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[key] = round((time.perf_counter() - start) * 1000, 2)
