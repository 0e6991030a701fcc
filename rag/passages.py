"""What flows between retrieval, generation and citation checking."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

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
    name: str  # "extractive" | "openai"
    model: str | None
    prompt_version: str | None

    def generate(self, question: str, passages: list[Passage], history: list[Turn], **options) -> Draft:
        """The draft answer. LLM generators take `deadline=` (time.monotonic()) bounding all their work."""
        ...

    def stream(self, question: str, passages: list[Passage], history: list[Turn], **options) -> Iterator[str]:
        """Yield text deltas of the raw model output (which `parse` turns into a Draft)."""
        ...
