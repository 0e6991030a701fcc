"""What scoring produces: one QuestionResult per question, Metrics over many, and the EvalReport."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, Field

from rag.evaluation.questions import QUESTION_TYPES

HIT_K = 5


class CitationCheck(BaseModel):
    n: int
    source: str
    chunk_id: str
    quote: str
    valid: bool
    problem: str | None = None
    gold: bool | None = None


class QuestionResult(BaseModel):
    id: str
    type: str
    question: str
    expected: str = ""
    origin: str = ""
    corpus: str = ""
    split: str = ""
    scored: bool = True
    answer: str = ""
    short_answer: str | None = None
    abstained: bool = False
    error: str | None = None
    latency_ms: float | None = None
    retrieved: list[str] = Field(default_factory=list, description="Retrieved sources, ranked (one per passage).")
    # retrieval (None when not scored for retrieval)
    gold_rank: int | None = None
    hit_at_1: bool | None = None
    hit_at_5: bool | None = None
    reciprocal_rank: float | None = None
    # answers
    correct: bool | None = None
    missing_facts: list[list[str]] = Field(default_factory=list)
    uncredited_facts: list[str] = Field(
        default_factory=list,
        description="Key facts that are in the answer, but not in a sentence citing a gold source (no credit).",
    )
    sides_cited: int | None = Field(None, description="Conflict questions: gold documents cited for the sides.")
    short_answer_ok: bool | None = Field(
        None, description="Answered with a short answer: it holds a key fact (None: no short answer given)."
    )
    abstention_ok: bool | None = Field(None, description="Abstained as expected (only when an abstention is expected).")
    false_abstention: bool | None = None
    forbidden_found: list[str] = Field(default_factory=list)
    injection_resisted: bool | None = None
    # citations
    citations: list[CitationCheck] = Field(default_factory=list)
    unresolved_markers: list[int] = Field(default_factory=list)
    citation_checks: int = 0
    citation_checks_passed: int = 0
    gold_citations: int | None = None
    quotes_contain_facts: bool | None = None
    uncited: bool = Field(False, description="Answered (not abstained) without a single [n] marker.")
    support: float | None = None
    mode: str | None = None
    degraded: bool = False
    # optional LLM judge (llama-index evaluators), None when not judged
    judge_faithful: bool | None = None
    judge_relevant: bool | None = None

    @property
    def failures(self) -> list[str]:
        """Why this question counts against a metric (empty when it passes everything it is scored on)."""
        if not self.scored:
            return []
        out: list[str] = []
        if self.error:
            out.append(f"error: {self.error}")
        if self.hit_at_5 is False:
            out.append(f"no gold source in the top {HIT_K} passages")
        if self.false_abstention:
            out.append("abstained on an answerable question")
        elif self.correct is False:
            out += self._answer_failures()
        if self.abstention_ok is False:
            out.append("did not abstain")
        if self.forbidden_found:
            out.append("forbidden text: " + ", ".join(repr(f) for f in self.forbidden_found))
        bad = [c for c in self.citations if not c.valid]
        if bad:
            out.append("invalid citations: " + "; ".join(f"[{c.n}] {c.problem}" for c in bad))
        if self.unresolved_markers:
            out.append("markers without a citation: " + ", ".join(f"[{n}]" for n in self.unresolved_markers))
        if self.gold_citations is not None and self.gold_citations < len(self.citations):
            off = sorted({c.source for c in self.citations if c.gold is False})
            out.append("cites non-gold documents: " + ", ".join(off))
        return out

    def _answer_failures(self) -> list[str]:
        out = []
        if self.missing_facts:
            out.append("missing key facts: " + " | ".join("/".join(g) for g in self.missing_facts))
        if self.uncredited_facts:
            out.append(
                "not in a sentence citing a gold source (no credit): "
                + ", ".join(repr(f) for f in self.uncredited_facts)
            )
        if self.sides_cited is not None and self.sides_cited < 2:
            out.append(f"conflict: the sides are cited from {self.sides_cited} gold document(s), need 2")
        return out or ["wrong answer"]


class Metrics(BaseModel):
    questions: int = 0
    retrieval_n: int = 0
    hit_at_1: float | None = None
    hit_at_5: float | None = None
    mrr: float | None = None
    answerable_n: int = 0
    accuracy: float | None = None
    false_abstention: float | None = None
    short_answers_n: int = 0
    short_answer_precision: float | None = None
    abstain_n: int = 0
    abstention_recall: float | None = None
    injection_n: int = 0
    injection_resistance: float | None = None
    citations_n: int = 0
    citation_validity: float | None = None
    citation_precision: float | None = None
    quote_support: float | None = None
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    errors: int = 0
    uncited_answers: int = 0
    judged_n: int = 0
    judge_faithfulness: float | None = None
    judge_relevancy: float | None = None


FAILING: dict[str, Callable[[QuestionResult], bool]] = {
    "hit_at_1": lambda r: r.hit_at_1 is False,
    "hit_at_5": lambda r: r.hit_at_5 is False,
    "mrr": lambda r: r.reciprocal_rank is not None and r.reciprocal_rank < 1.0,
    "accuracy": lambda r: r.correct is False,
    "false_abstention": lambda r: bool(r.false_abstention),
    "short_answer_precision": lambda r: r.short_answer_ok is False,
    "abstention_recall": lambda r: r.abstention_ok is False,
    "injection_resistance": lambda r: r.injection_resisted is False,
    "citation_validity": lambda r: r.citation_checks_passed < r.citation_checks,
    "citation_precision": lambda r: r.gold_citations is not None and r.gold_citations < len(r.citations),
    "quote_support": lambda r: r.quotes_contain_facts is False,
    "judge_faithfulness": lambda r: r.judge_faithful is False,
    "judge_relevancy": lambda r: r.judge_relevant is False,
    "errors": lambda r: r.error is not None,
}


class EvalReport(BaseModel):
    generator: str | None = None
    embedding_model: str | None = None
    index_fingerprint: str | None = None
    corpus: str = ""
    split: str = ""
    question_files: list[str] = Field(default_factory=list)
    created_at: str = ""
    duration_s: float = 0.0
    ingest_s: float | None = Field(None, description="Seconds spent ingesting the corpus first (own index only).")
    overall: Metrics
    per_type: dict[str, Metrics]
    results: list[QuestionResult]

    @property
    def name(self) -> str:
        return f"{self.corpus}/{self.split}" if self.corpus or self.split else "questions"

    def failing(self, metric: str) -> list[QuestionResult]:
        """Questions that count against one metric (names as in Metrics)."""
        if metric not in FAILING:
            raise KeyError(f"unknown metric {metric!r}; known: {', '.join(FAILING)}")
        return [r for r in self.results if r.scored and FAILING[metric](r)]


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def aggregate(results: Sequence[QuestionResult]) -> Metrics:
    scored = [r for r in results if r.scored]
    retrieval = [r for r in scored if r.hit_at_5 is not None]
    answerable = [r for r in scored if r.correct is not None]
    abstain = [r for r in scored if r.abstention_ok is not None]
    shorts = [r for r in scored if r.short_answer_ok is not None]
    injection = [r for r in scored if r.injection_resisted is not None]
    checks = sum(r.citation_checks for r in scored)
    passed = sum(r.citation_checks_passed for r in scored)
    precision_rs = [r for r in scored if r.gold_citations is not None]
    cited = sum(len(r.citations) for r in precision_rs)
    quotes = [r for r in scored if r.quotes_contain_facts is not None]
    latencies = [r.latency_ms for r in results if r.latency_ms is not None and r.error is None]
    faithful = [r for r in scored if r.judge_faithful is not None]
    relevant = [r for r in scored if r.judge_relevant is not None]
    return Metrics(
        questions=len(results),
        retrieval_n=len(retrieval),
        hit_at_1=_mean([float(bool(r.hit_at_1)) for r in retrieval]),
        hit_at_5=_mean([float(bool(r.hit_at_5)) for r in retrieval]),
        mrr=_mean([r.reciprocal_rank or 0.0 for r in retrieval]),
        answerable_n=len(answerable),
        accuracy=_mean([float(bool(r.correct)) for r in answerable]),
        false_abstention=_mean([float(bool(r.false_abstention)) for r in answerable]),
        short_answers_n=len(shorts),
        short_answer_precision=_mean([float(bool(r.short_answer_ok)) for r in shorts]),
        abstain_n=len(abstain),
        abstention_recall=_mean([float(bool(r.abstention_ok)) for r in abstain]),
        injection_n=len(injection),
        injection_resistance=_mean([float(bool(r.injection_resisted)) for r in injection]),
        citations_n=sum(len(r.citations) for r in scored),
        citation_validity=passed / checks if checks else None,
        citation_precision=sum(r.gold_citations or 0 for r in precision_rs) / cited if cited else None,
        quote_support=_mean([float(bool(r.quotes_contain_facts)) for r in quotes]),
        latency_p50_ms=percentile(latencies, 50),
        latency_p95_ms=percentile(latencies, 95),
        errors=sum(r.error is not None for r in results),
        uncited_answers=sum(r.uncited for r in scored),
        judged_n=len(faithful),
        judge_faithfulness=_mean([float(bool(r.judge_faithful)) for r in faithful]),
        judge_relevancy=_mean([float(bool(r.judge_relevant)) for r in relevant]),
    )


def build_report(results: Sequence[QuestionResult], **meta: Any) -> EvalReport:
    types = [t for t in QUESTION_TYPES if any(r.type == t for r in results)]
    return EvalReport(
        overall=aggregate(results),
        per_type={t: aggregate([r for r in results if r.type == t]) for t in types},
        results=list(results),
        **meta,
    )
