"""Running question sets through an engine: one set, or every suite (corpus x split) side by side.

The seeds suites use the configured index. Every other corpus is ingested into its own data dir and
collection (`<data_dir>/eval/<corpus>`, collection `<collection>-eval-<corpus>`), so evaluating never
touches the index a user serves from. Ingesting is passed in as a function (`rag` does not import
`ingest`; the CLI entry point wires it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rag.errors import CitebotError, ConfigError
from rag.evaluation.questions import SEEDS_CORPUS, Question, Suite, load_questions
from rag.evaluation.results import EvalReport, QuestionResult, build_report
from rag.evaluation.scoring import error_result, score_answer

Progress = Callable[[int, int, QuestionResult], None]
IngestFn = Callable[[Any, list[Path]], None]


def chunk_texts(settings: Any) -> dict[str, str]:
    """chunk_id -> text of every stored chunk, read straight from the store (not through the engine)."""
    from rag.store import ChromaStore

    return {c.chunk_id: c.text for c in ChromaStore(settings).all_chunks(include_text=True)}


def evaluate(
    engine: Any,
    questions: Sequence[Question],
    *,
    chunks: dict[str, str] | None = None,
    progress: Progress | None = None,
    **meta: Any,
) -> EvalReport:
    """Ask every question once (with its history, if any) and score the answers."""
    started = time.perf_counter()
    chunks = chunk_texts(engine.settings) if chunks is None else chunks
    results: list[QuestionResult] = []
    provenance = None
    for i, question in enumerate(questions, start=1):
        t0 = time.perf_counter()
        try:
            answer = engine.ask(question.question, history=question.history or None, request_id=f"eval-{question.id}")
        except CitebotError as exc:
            result = error_result(question, f"{type(exc).__name__}: {exc}", (time.perf_counter() - t0) * 1000)
        else:
            latency = (time.perf_counter() - t0) * 1000
            provenance = provenance or answer.provenance
            result = score_answer(question, answer, chunks, latency)
        results.append(result)
        if progress:
            progress(i, len(questions), result)
    settings = getattr(engine, "settings", None)
    generator = getattr(getattr(settings, "generator", None), "value", None)
    return build_report(
        results,
        generator=provenance.generator if provenance else generator,
        embedding_model=provenance.embedding_model if provenance else None,
        index_fingerprint=provenance.index_fingerprint if provenance else None,
        question_files=sorted({q.origin for q in questions if q.origin}),
        created_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        duration_s=round(time.perf_counter() - started, 3),
        **meta,
    )


def corpus_settings(settings: Any, corpus: str) -> Any:
    """Settings of a corpus's own index: its data dir and collection, everything else as configured."""
    if corpus == SEEDS_CORPUS:
        return settings
    return settings.model_copy(
        update={
            "data_dir": Path(settings.data_dir) / "eval" / corpus,
            "collection": f"{settings.collection}-eval-{corpus}",
        }
    )


def run_suites(
    settings: Any,
    suites: Sequence[Suite],
    *,
    ingest: IngestFn | None = None,
    engine_for: Callable[[Any], Any] | None = None,
    progress: Callable[[Suite], Progress | None] | None = None,
) -> list[EvalReport]:
    """Evaluate every suite; each corpus is ingested (when `ingest` is given) and gets one engine."""
    if engine_for is None:
        from rag.service import build_engine as engine_for
    reports: list[EvalReport] = []
    for corpus in dict.fromkeys(s.corpus for s in suites):
        own = [s for s in suites if s.corpus == corpus]
        cs = corpus_settings(settings, corpus)
        ingest_seconds = _prepare(cs, own[0], ingest)
        chunks = chunk_texts(cs)
        if not chunks:
            hint = "run `citebot ingest seeds/` first" if corpus == SEEDS_CORPUS else f"ingest {own[0].documents}"
            raise ConfigError(f"the index of corpus {corpus!r} is empty: {hint}")
        engine = engine_for(cs)
        for suite in own:
            report = evaluate(
                engine,
                load_questions([suite.questions]),
                chunks=chunks,
                progress=progress(suite) if progress else None,
                corpus=suite.corpus,
                split=suite.split,
            )
            report.ingest_s = ingest_seconds
            reports.append(report)
    return reports


def _prepare(settings: Any, suite: Suite, ingest: IngestFn | None) -> float | None:
    """Ingest a corpus's documents into its own index; seconds taken (None when nothing was run)."""
    if suite.documents is None or ingest is None:
        return None
    if not suite.documents.is_dir():
        raise ConfigError(f"corpus {suite.corpus!r} has no documents folder at {suite.documents}")
    started = time.perf_counter()
    ingest(settings, [suite.documents])
    return round(time.perf_counter() - started, 2)


def judge_llm(settings: Any) -> Any:
    """The llama-index LLM of the openai generator configured in settings, to use as a judge."""
    from rag.llm import OpenAIGenerator

    generator = OpenAIGenerator(settings)
    return generator.llm


def judge_with_llm(report: EvalReport, llm: Any, chunks: dict[str, str]) -> EvalReport:
    """Add llama-index's faithfulness and relevancy verdicts (an LLM as judge) to answered questions.

    Faithfulness is judged against the full text of the chunks the answer cites, relevancy against the
    question. Only scored, answered (not abstained, no error) questions with citations are judged.
    Costs two LLM calls per judged question, so it is opt-in (the openai gate with CITEBOT_EVAL_JUDGE=1).
    """
    from llama_index.core.evaluation import FaithfulnessEvaluator, RelevancyEvaluator

    faithfulness = FaithfulnessEvaluator(llm=llm)
    relevancy = RelevancyEvaluator(llm=llm)
    results = []
    for r in report.results:
        r = r.model_copy(deep=True)
        if r.scored and not r.abstained and not r.error and r.citations:
            contexts = list(dict.fromkeys(chunks.get(c.chunk_id, c.quote) for c in r.citations))
            r.judge_faithful = bool(
                faithfulness.evaluate(query=r.question, response=r.answer, contexts=contexts).passing
            )
            r.judge_relevant = bool(relevancy.evaluate(query=r.question, response=r.answer, contexts=contexts).passing)
        results.append(r)
    meta = report.model_dump(exclude={"overall", "per_type", "results"})
    return build_report(results, **meta)
