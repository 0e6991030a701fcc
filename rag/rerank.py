"""Optional LLM reranker (CITEBOT_RERANK=llm): an OpenAI-compatible chat model reorders the fused passages.

Off by default: no cross-encoder ships inside a PyPI package (shared/QUALITY.md), and an LLM call
costs a round trip per question. When configured, retrieval fuses `rerank_candidates` passages,
the model returns their numbers most useful first (prompts/rerank_passages.txt), and the first
`top_k` are kept. A reranker never fails a question: on any error or an unusable reply it logs a
warning and the fused order stands.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Protocol

from rag.errors import ConfigError
from rag.llm import Prompt, load_prompt, prompts_dir
from rag.passages import Passage
from rag.settings import Settings

log = logging.getLogger(__name__)

RERANK_PROMPT = "rerank_passages.txt"
PASSAGE_CHARS = 1200  # of each passage shown to the model: enough to judge, bounded cost
_NUMBER = re.compile(r"\d+")


class Reranker(Protocol):
    name: str

    def rerank(self, query: str, passages: list[Passage]) -> list[Passage]: ...


def parse_order(text: str, count: int) -> list[int]:
    """1-based passage numbers in the model's order; unknown and repeated numbers dropped, missing ones appended."""
    seen: list[int] = []
    for match in _NUMBER.finditer(text or ""):
        n = int(match.group())
        if 1 <= n <= count and n not in seen:
            seen.append(n)
    return seen + [n for n in range(1, count + 1) if n not in seen]


def reordered(passages: list[Passage], order: list[int]) -> list[Passage]:
    """Passages in `order`, renumbered 1.., with descending rank scores (1.0 for the first)."""
    total = len(order)
    return [replace(passages[n - 1], n=i, score=round(1.0 - (i - 1) / total, 4)) for i, n in enumerate(order, start=1)]


def rerank_message(query: str, passages: list[Passage]) -> str:
    shown = "\n\n".join(
        f"[{i}] ({p.title or 'untitled'})\n{p.text.strip()[:PASSAGE_CHARS]}" for i, p in enumerate(passages, start=1)
    )
    return f"<passages>\n{shown}\n</passages>\n\n<question>\n{query.strip()}\n</question>"


class LLMReranker:
    name = "llm"

    def __init__(self, settings: Settings, prompt: Prompt | None = None) -> None:
        if not settings.openai_api_key and not settings.openai_base_url:
            raise ConfigError(
                "CITEBOT_RERANK=llm needs OPENAI_API_KEY (OpenAI) or OPENAI_BASE_URL (an OpenAI-compatible server)"
            )
        import openai

        self.model = settings.rerank_model or settings.openai_model
        self.prompt = prompt or load_prompt(RERANK_PROMPT, prompts_dir(settings))
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
        self._client = openai.OpenAI(
            api_key=key,
            base_url=settings.openai_base_url or None,
            timeout=settings.rerank_timeout_s,
            max_retries=0,  # a slow reranker is skipped, not retried: the fused order is a good answer
        )

    def rerank(self, query: str, passages: list[Passage]) -> list[Passage]:
        if len(passages) < 2:
            return passages
        try:
            response = self._client.chat.completions.create(
                model=self.model,
                temperature=0.0,
                messages=[
                    {"role": "system", "content": self.prompt.text},
                    {"role": "user", "content": rerank_message(query, passages)},
                ],
            )
            text = response.choices[0].message.content or ""
        except Exception as exc:  # any provider failure: keep the fused order (logged, never fatal)
            log.warning("rerank_skipped model=%s error=%s", self.model, type(exc).__name__)
            return passages
        if not _NUMBER.search(text):
            log.warning("rerank_skipped model=%s error=no passage numbers in the reply", self.model)
            return passages
        return reordered(passages, parse_order(text, len(passages)))


def build_reranker(settings: Settings) -> Reranker | None:
    return LLMReranker(settings) if settings.rerank == "llm" else None
