"""What flows between retrieval, generation and citation checking."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from rag.schemas import Turn


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk, numbered as the generator must cite it: [n]."""

    n: int
    chunk_id: str
    doc_id: str
    source: str
    title: str
    text: str
    score: float
    metadata: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass
class Draft:
    """A generator's raw output: text with [n] markers, and optionally the quote it used for each n."""

    text: str
    quotes: dict[int, list[str]] = field(default_factory=dict)
    abstained: bool = False
    model: str | None = None
    short_answer: str | None = None  # the asked-for value alone (a name, number, date), when one was found


class Generator(Protocol):
    """An answer generator: the extractive reader (rag.generation.ExtractiveAnswerer) or an LLM (rag.llm).

    Every generator receives the same inputs: the question, the passages it may cite ([n] = passage
    n), the earlier turns, and as keywords the analysed question (`query`, a rag.question.Query),
    its embedding (`query_vector`, when the engine has one) and the `deadline` (time.monotonic())
    that bounds all its work. Each uses what it needs.
    """

    name: str  # "extractive" | "openai"
    model: str | None
    prompt_version: str | None
    streams: bool  # True: stream() yields the model's raw output as it arrives, verified sentence by sentence

    def generate(
        self,
        question: str,
        passages: list[Passage],
        history: list[Turn],
        *,
        query: Any = None,
        query_vector: Any = None,
        deadline: float | None = None,
    ) -> Draft:
        """The draft answer, with [n] citations."""
        ...

    def stream(
        self,
        question: str,
        passages: list[Passage],
        history: list[Turn],
        *,
        query: Any = None,
        query_vector: Any = None,
        deadline: float | None = None,
    ) -> Iterator[str]:
        """Text deltas of the raw output, which `parse` turns into a Draft."""
        ...

    def answer_part(self, raw: str) -> str:
        """Of a still-arriving raw output, the part that can hold claims."""
        ...

    def parse(self, raw: str) -> Draft:
        """The whole raw output as a Draft."""
        ...
