"""Evaluation: run the engine over a fixed question set and score retrieval, answers and citations.

`citebot eval` and the pytest gate (tests/eval/test_eval_gate.py) both use this module:

    questions = load_questions([Path("tests/eval/questions.yaml")])
    report = evaluate(engine, questions)
    print(format_table(report))
    write_report(report, Path("eval.md"))

Scoring (see the README section "Evaluation"):
- retrieval (questions whose gold sources answer them): hit@1, hit@5 and MRR of the first retrieved
  passage whose document is a gold source;
- answers: accuracy (not abstained and every key-fact group found in the answer text), abstention
  recall (unanswerable questions answered with an abstention), false abstention (answerable questions
  that abstained), injection resistance (no forbidden string, and correct when key facts exist);
- citations, checked against the stored chunks independently of the engine's own verifier: validity
  (every quote is verbatim in its chunk after whitespace normalisation, every [n] marker resolves to a
  citation), precision (share of citations on a gold document), quote support (the cited quotes
  contain every key fact);
- latency p50/p95 of one `engine.ask` call.
"""

from __future__ import annotations

import html
import json
import math
import re
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rag.errors import CitebotError, ConfigError
from rag.schemas import Answer, Turn

ANSWERABLE_TYPES = ("single_fact", "numeric", "paraphrase", "multi_doc", "multi_part", "conflict")
QUESTION_TYPES = (*ANSWERABLE_TYPES, "unanswerable", "injection", "feedback")
DEFAULT_QUESTIONS = Path("tests") / "eval" / "questions.yaml"
HIT_K = 5

QuestionType = Literal[
    "single_fact",
    "numeric",
    "paraphrase",
    "multi_doc",
    "multi_part",
    "conflict",
    "unanswerable",
    "injection",
    "feedback",
]
SPLITS = ("dev", "test")


# ------------------------------------------------------------------------------------------------
# Questions
# ------------------------------------------------------------------------------------------------
class Question(BaseModel):
    """One evaluation case. Unknown fields (e.g. from a feedback export) are kept, not rejected."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1)
    type: QuestionType
    question: str = Field(min_length=1)
    answer: str = ""
    key_facts: list[list[str]] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    forbidden: list[str] = Field(default_factory=list)
    history: list[Turn] = Field(default_factory=list, description="Earlier turns, sent with the question.")
    expect_abstain: bool | None = None
    needs_review: bool = False
    notes: str = ""
    split: Literal["", "dev", "test"] = Field("", description="dev (tune on it) or test (the gate; never tuned on).")
    corpus: str = Field("", description="Corpus the question is asked over ('' = the seeds).")
    origin: str = Field("", description="File the question was loaded from.")

    @field_validator("key_facts", mode="before")
    @classmethod
    def _groups(cls, value: Any) -> Any:
        # Accept a flat list of strings as one group per string: ["a", "b"] == [["a"], ["b"]].
        if isinstance(value, list):
            return [[g] if isinstance(g, str) else g for g in value]
        return [] if value is None else value

    @field_validator("sources", "forbidden", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value

    @property
    def abstain_expected(self) -> bool:
        if self.expect_abstain is not None:
            return self.expect_abstain
        return self.type == "unanswerable"

    @property
    def scored(self) -> bool:
        """Feedback cases waiting for review are run and shown, but left out of every metric."""
        return not self.needs_review

    @property
    def answerable(self) -> bool:
        """Scored for accuracy: not expected to abstain and has key facts to look for."""
        return self.scored and not self.abstain_expected and bool(self.key_facts)


def load_questions(paths: Sequence[Path]) -> list[Question]:
    """Load questions from YAML (`questions:` list, or a bare list) and JSONL files; ids must be unique."""
    out: list[Question] = []
    seen: dict[str, str] = {}
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"question file {path} does not exist: pass an existing YAML/JSONL file to --questions")
        defaults, items = _read_file(path)
        for where, raw in items:
            if not isinstance(raw, dict):
                raise ConfigError(f"{where}: each question must be a mapping, got {type(raw).__name__}")
            try:
                question = Question.model_validate({**defaults, **raw, "origin": str(path)})
            except ValidationError as exc:
                problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
                raise ConfigError(f"{where} (id {raw.get('id', '?')!r}) is not a valid question: {problems}") from exc
            if question.id in seen:
                raise ConfigError(f"{where}: question id {question.id!r} is already used in {seen[question.id]}")
            seen[question.id] = str(path)
            out.append(question)
    return out


FILE_DEFAULTS = ("split", "corpus")


def _read_file(path: Path) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    """(file-level defaults such as `split:` and `corpus:`, the questions with where each one stands)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        return {}, list(_jsonl_items(path, text))
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path} is not valid JSON: {exc.msg} (line {exc.lineno})") from exc
    else:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    defaults: dict[str, Any] = {}
    if isinstance(data, dict):
        version = data.get("version", 1)
        if version != 1:
            raise ConfigError(f"{path}: unsupported question-set version {version!r} (this citebot reads version 1)")
        defaults = {key: data[key] for key in FILE_DEFAULTS if key in data}
        data = data.get("questions")
    if not isinstance(data, list):
        raise ConfigError(f"{path}: expected a `questions:` list (or a list of questions)")
    return defaults, [(f"{path} question #{i + 1}", item) for i, item in enumerate(data)]


def _jsonl_items(path: Path, text: str) -> Iterable[tuple[str, Any]]:
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            yield f"{path}:{lineno}", json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{lineno} is not valid JSON: {exc.msg}") from exc


def default_questions_path() -> Path:
    """tests/eval/questions.yaml in the working directory, else next to the source checkout."""
    candidates = [Path.cwd() / DEFAULT_QUESTIONS, Path(__file__).resolve().parents[1] / DEFAULT_QUESTIONS]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"no question set found at {candidates[0]}: run `citebot eval` from the citebot checkout "
        "or pass --questions FILE"
    )


# ------------------------------------------------------------------------------------------------
# Matching helpers
# ------------------------------------------------------------------------------------------------
_WS = re.compile(r"\s+")
_MARKER = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")


def normalise_ws(text: str) -> str:
    return _WS.sub(" ", text).strip()


def fact_matches(fact: str, text: str) -> bool:
    """Case-insensitive match of a key fact in text.

    Words match as word prefixes ("reject" matches "rejected", "two" does not match "network"), and
    numbers as whole numbers ("2" does not match "2021", "40" does not match "400").
    """
    fact = fact.strip()
    if not fact:
        return False
    pattern = re.escape(fact)
    if fact[0].isalnum():
        pattern = r"(?<!\w)" + pattern
    if fact[-1].isdigit():
        pattern += r"(?![\d.,]?\d)"
    return re.search(pattern, text, flags=re.IGNORECASE) is not None


def missing_facts(key_facts: Sequence[Sequence[str]], text: str) -> list[list[str]]:
    """The key-fact groups none of whose strings occur in text."""
    return [list(group) for group in key_facts if not any(fact_matches(f, text) for f in group)]


def forbidden_hits(forbidden: Sequence[str], text: str) -> list[str]:
    lowered = text.lower()
    return [f for f in forbidden if f.strip() and f.lower() in lowered]


def markers(text: str) -> list[int]:
    """Every citation number used as [n] (or [n, m]) in an answer text, in order, without repeats."""
    out: list[int] = []
    for match in _MARKER.finditer(text):
        for part in re.split(r"[,;]", match.group(1)):
            n = int(part.strip())
            if n not in out:
                out.append(n)
    return out


def same_document(source: str, gold: str) -> bool:
    """Gold sources are file names; retrieved sources are paths relative to the ingested folder."""
    return source == gold or Path(source).name == Path(gold).name


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


# ------------------------------------------------------------------------------------------------
# Results
# ------------------------------------------------------------------------------------------------
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
    scored: bool = True
    answer: str = ""
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
            out.append("missing key facts: " + " | ".join("/".join(g) for g in self.missing_facts))
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


class Metrics(BaseModel):
    questions: int = 0
    retrieval_n: int = 0
    hit_at_1: float | None = None
    hit_at_5: float | None = None
    mrr: float | None = None
    answerable_n: int = 0
    accuracy: float | None = None
    false_abstention: float | None = None
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


class EvalReport(BaseModel):
    generator: str | None = None
    embedding_model: str | None = None
    index_fingerprint: str | None = None
    question_files: list[str] = Field(default_factory=list)
    created_at: str = ""
    duration_s: float = 0.0
    overall: Metrics
    per_type: dict[str, Metrics]
    results: list[QuestionResult]

    def failing(self, metric: str) -> list[QuestionResult]:
        """Questions that count against one metric (names as in Metrics)."""
        checks: dict[str, Callable[[QuestionResult], bool]] = {
            "hit_at_1": lambda r: r.hit_at_1 is False,
            "hit_at_5": lambda r: r.hit_at_5 is False,
            "mrr": lambda r: r.reciprocal_rank is not None and r.reciprocal_rank < 1.0,
            "accuracy": lambda r: r.correct is False,
            "false_abstention": lambda r: bool(r.false_abstention),
            "abstention_recall": lambda r: r.abstention_ok is False,
            "injection_resistance": lambda r: r.injection_resisted is False,
            "citation_validity": lambda r: r.citation_checks_passed < r.citation_checks,
            "citation_precision": lambda r: r.gold_citations is not None and r.gold_citations < len(r.citations),
            "quote_support": lambda r: r.quotes_contain_facts is False,
            "judge_faithfulness": lambda r: r.judge_faithful is False,
            "judge_relevancy": lambda r: r.judge_relevant is False,
            "errors": lambda r: r.error is not None,
        }
        if metric not in checks:
            raise KeyError(f"unknown metric {metric!r}; known: {', '.join(checks)}")
        return [r for r in self.results if r.scored and checks[metric](r)]


# ------------------------------------------------------------------------------------------------
# Scoring
# ------------------------------------------------------------------------------------------------
def _result_for(question: Question, **fields: Any) -> QuestionResult:
    """A result carrying the question's identity; the scoring fills in the rest."""
    return QuestionResult(
        id=question.id,
        type=question.type,
        question=question.question,
        expected=question.answer,
        origin=question.origin,
        scored=question.scored,
        **fields,
    )


def score_answer(
    question: Question, answer: Answer, chunks: dict[str, str], latency_ms: float | None = None
) -> QuestionResult:
    """Score one Answer against one Question; `chunks` maps chunk_id -> stored chunk text."""
    text = answer.answer or ""
    result = _result_for(
        question,
        answer=text,
        abstained=answer.abstained,
        latency_ms=latency_ms,
        retrieved=[s.source for s in answer.sources],
        support=answer.support,
        mode=answer.mode,
        degraded=answer.degraded,
    )
    if not question.scored:
        return result
    gold = question.sources

    # retrieval: only where the gold sources answer the question
    if question.answerable and gold:
        rank = next(
            (i for i, s in enumerate(answer.sources, start=1) if any(same_document(s.source, g) for g in gold)),
            None,
        )
        result.gold_rank = rank
        result.hit_at_1 = rank == 1
        result.hit_at_5 = rank is not None and rank <= HIT_K
        result.reciprocal_rank = 1.0 / rank if rank else 0.0

    # answers
    if question.answerable:
        result.missing_facts = missing_facts(question.key_facts, text)
        result.false_abstention = answer.abstained
        result.correct = not answer.abstained and not result.missing_facts
    if question.abstain_expected:
        result.abstention_ok = answer.abstained
    if question.type == "injection" or question.forbidden:
        result.forbidden_found = forbidden_hits(question.forbidden, text)
    if question.type == "injection":
        result.injection_resisted = not result.forbidden_found and (result.correct is not False)

    # citations, verified against the stored chunk text
    by_n = {c.n: c for c in answer.citations}
    for citation in answer.citations:
        chunk_text = chunks.get(citation.chunk_id)
        problem = None
        quote = normalise_ws(citation.quote)
        if chunk_text is None:
            problem = f"chunk {citation.chunk_id} is not in the index"
        elif not quote:
            problem = "empty quote"
        elif quote not in normalise_ws(chunk_text):
            problem = f"quote is not verbatim in chunk {citation.chunk_id}: {_clip(citation.quote, 80)!r}"
        is_gold = any(same_document(citation.source, g) for g in gold) if (question.answerable and gold) else None
        result.citations.append(
            CitationCheck(
                n=citation.n,
                source=citation.source,
                chunk_id=citation.chunk_id,
                quote=citation.quote,
                valid=problem is None,
                problem=problem,
                gold=is_gold,
            )
        )
    used = markers(text)
    result.unresolved_markers = [n for n in used if n not in by_n]
    result.citation_checks = len(answer.citations) + len(used)
    result.citation_checks_passed = sum(c.valid for c in result.citations) + len(used) - len(result.unresolved_markers)
    result.uncited = not answer.abstained and not used
    if question.answerable and gold and answer.citations:
        result.gold_citations = sum(bool(c.gold) for c in result.citations)
    if question.answerable and not answer.abstained and answer.citations:
        quotes = " ".join(c.quote for c in answer.citations)
        result.quotes_contain_facts = not missing_facts(question.key_facts, quotes)
    return result


def error_result(question: Question, error: str, latency_ms: float | None = None) -> QuestionResult:
    """A question the engine failed on: counts as wrong wherever it is scored."""
    result = _result_for(question, error=error, latency_ms=latency_ms)
    if not question.scored:
        return result
    if question.answerable:
        result.correct = False
        result.missing_facts = [list(g) for g in question.key_facts]
        result.false_abstention = False
        if question.sources:
            result.hit_at_1 = result.hit_at_5 = False
            result.reciprocal_rank = 0.0
    if question.abstain_expected:
        result.abstention_ok = False
    if question.type == "injection":
        result.injection_resisted = False
    return result


def aggregate(results: Sequence[QuestionResult]) -> Metrics:
    scored = [r for r in results if r.scored]

    def mean(values: list[float]) -> float | None:
        return sum(values) / len(values) if values else None

    retrieval = [r for r in scored if r.hit_at_5 is not None]
    answerable = [r for r in scored if r.correct is not None]
    abstain = [r for r in scored if r.abstention_ok is not None]
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
        hit_at_1=mean([float(bool(r.hit_at_1)) for r in retrieval]),
        hit_at_5=mean([float(bool(r.hit_at_5)) for r in retrieval]),
        mrr=mean([r.reciprocal_rank or 0.0 for r in retrieval]),
        answerable_n=len(answerable),
        accuracy=mean([float(bool(r.correct)) for r in answerable]),
        false_abstention=mean([float(bool(r.false_abstention)) for r in answerable]),
        abstain_n=len(abstain),
        abstention_recall=mean([float(bool(r.abstention_ok)) for r in abstain]),
        injection_n=len(injection),
        injection_resistance=mean([float(bool(r.injection_resisted)) for r in injection]),
        citations_n=sum(len(r.citations) for r in scored),
        citation_validity=passed / checks if checks else None,
        citation_precision=sum(r.gold_citations or 0 for r in precision_rs) / cited if cited else None,
        quote_support=mean([float(bool(r.quotes_contain_facts)) for r in quotes]),
        latency_p50_ms=percentile(latencies, 50),
        latency_p95_ms=percentile(latencies, 95),
        errors=sum(r.error is not None for r in results),
        uncited_answers=sum(r.uncited for r in scored),
        judged_n=len(faithful),
        judge_faithfulness=mean([float(bool(r.judge_faithful)) for r in faithful]),
        judge_relevancy=mean([float(bool(r.judge_relevant)) for r in relevant]),
    )


def build_report(results: Sequence[QuestionResult], **meta: Any) -> EvalReport:
    types = [t for t in QUESTION_TYPES if any(r.type == t for r in results)]
    return EvalReport(
        overall=aggregate(results),
        per_type={t: aggregate([r for r in results if r.type == t]) for t in types},
        results=list(results),
        **meta,
    )


def chunk_texts(settings: Any) -> dict[str, str]:
    """chunk_id -> text of every stored chunk, read straight from the store (not through the engine)."""
    from rag.store import ChromaStore

    return {c.chunk_id: c.text for c in ChromaStore(settings).all_chunks(include_text=True)}


def evaluate(
    engine: Any,
    questions: Sequence[Question],
    *,
    chunks: dict[str, str] | None = None,
    progress: Callable[[int, int, QuestionResult], None] | None = None,
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
    )


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


# ------------------------------------------------------------------------------------------------
# Output
# ------------------------------------------------------------------------------------------------
COLUMNS: list[tuple[str, str, str]] = [
    # (header, Metrics field, format)
    ("n", "questions", "int"),
    ("hit@1", "hit_at_1", "ratio"),
    ("hit@5", "hit_at_5", "ratio"),
    ("MRR", "mrr", "ratio"),
    ("acc", "accuracy", "ratio"),
    ("abst.rec", "abstention_recall", "ratio"),
    ("false.abst", "false_abstention", "ratio"),
    ("inj.res", "injection_resistance", "ratio"),
    ("cit.valid", "citation_validity", "ratio"),
    ("cit.prec", "citation_precision", "ratio"),
    ("quote.kf", "quote_support", "ratio"),
    ("p50 ms", "latency_p50_ms", "ms"),
    ("p95 ms", "latency_p95_ms", "ms"),
]


JUDGE_COLUMNS: list[tuple[str, str, str]] = [
    ("judge.faith", "judge_faithfulness", "ratio"),
    ("judge.rel", "judge_relevancy", "ratio"),
]


def _columns(report: EvalReport) -> list[tuple[str, str, str]]:
    return COLUMNS + (JUDGE_COLUMNS if report.overall.judged_n else [])


def _fmt(value: Any, kind: str) -> str:
    if value is None:
        return "-"
    if kind == "int":
        return str(value)
    if kind == "ms":
        return f"{value:.0f}"
    return f"{value:.2f}"


def _rows(report: EvalReport) -> list[list[str]]:
    rows = []
    for name, metrics in [("overall", report.overall), *report.per_type.items()]:
        rows.append([name] + [_fmt(getattr(metrics, field), kind) for _, field, kind in _columns(report)])
    return rows


def format_table(report: EvalReport, failures: bool = True) -> str:
    """A plain-text table overall and per type, then the failing questions."""
    header = ["type"] + [h for h, _, _ in _columns(report)]
    rows = _rows(report)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    out = [
        f"generator={report.generator}  embedding={report.embedding_model}  index={report.index_fingerprint}  "
        f"questions={report.overall.questions}  time={report.duration_s:.1f}s",
        line(header),
        line(["-" * w for w in widths]),
        *(line(r) for r in rows),
    ]
    o = report.overall
    notes = [
        f"retrieval over {o.retrieval_n} answerable questions",
        f"accuracy/false abstention over {o.answerable_n}",
        f"abstention recall over {o.abstain_n}",
        f"injection over {o.injection_n}",
        f"{o.citations_n} citations",
    ]
    if o.errors:
        notes.append(f"{o.errors} errors")
    if o.uncited_answers:
        notes.append(f"{o.uncited_answers} answers without any [n]")
    out.append("(" + "; ".join(notes) + ")")
    unscored = [r for r in report.results if not r.scored]
    if unscored:
        out.append(f"{len(unscored)} questions need review and are not scored (see the report)")
    if failures:
        failing = [r for r in report.results if r.failures]
        if failing:
            out += ["", f"failing questions ({len(failing)}):"]
            for r in failing:
                out.append(f"- {r.id} [{r.type}]: {'; '.join(r.failures)}")
                out.append(f"    Q: {r.question}")
                out.append(f"    A: {_clip(('(abstained) ' if r.abstained else '') + r.answer, 300)}")
    return "\n".join(out)


def _clip(text: str, limit: int) -> str:
    text = normalise_ws(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


CHART_METRICS: list[tuple[str, str, str]] = [
    ("hit@5", "hit_at_5", "#4c78a8"),
    ("MRR", "mrr", "#72b7b2"),
    ("accuracy", "accuracy", "#54a24b"),
    ("abstention recall", "abstention_recall", "#eeca3b"),
    ("injection resistance", "injection_resistance", "#b279a2"),
    ("citation precision", "citation_precision", "#f58518"),
    ("citation validity", "citation_validity", "#e45756"),
]


def svg_chart(report: EvalReport) -> str:
    """Grouped bars: one group per question type, one bar per metric that applies to it (0..1)."""
    groups = list(report.per_type.items())
    bar, gap, pad_left, pad_top, height = 14, 26, 40, 20, 180
    group_w = len(CHART_METRICS) * bar + gap
    width = pad_left + max(1, len(groups)) * group_w + 10
    legend_y = pad_top + height + 54
    total_h = legend_y + 20 * math.ceil(len(CHART_METRICS) / 3) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{max(width, 560)}" height="{total_h}" '
        f'font-family="sans-serif" font-size="11">',
        "<title>citebot evaluation: metrics per question type</title>",
    ]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = pad_top + height * (1 - tick)
        parts.append(f'<line x1="{pad_left}" y1="{y:.1f}" x2="{width}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{pad_left - 4}" y="{y + 4:.1f}" text-anchor="end">{tick:.2f}</text>')
    for gi, (name, metrics) in enumerate(groups):
        x0 = pad_left + gi * group_w + gap / 2
        for mi, (label, field, colour) in enumerate(CHART_METRICS):
            value = getattr(metrics, field)
            if value is None:
                continue
            h = height * value
            x = x0 + mi * bar
            parts.append(
                f'<rect x="{x:.1f}" y="{pad_top + height - h:.1f}" width="{bar - 2}" height="{h:.1f}" '
                f'fill="{colour}"><title>{html.escape(name)} {html.escape(label)}: {value:.2f}</title></rect>'
            )
        parts.append(
            f'<text x="{x0 + len(CHART_METRICS) * bar / 2:.1f}" y="{pad_top + height + 16}" '
            f'text-anchor="middle">{html.escape(name)}</text>'
        )
        parts.append(
            f'<text x="{x0 + len(CHART_METRICS) * bar / 2:.1f}" y="{pad_top + height + 30}" '
            f'text-anchor="middle" fill="#666">n={metrics.questions}</text>'
        )
    for mi, (label, _, colour) in enumerate(CHART_METRICS):
        x = pad_left + (mi % 3) * 170
        y = legend_y + 20 * (mi // 3)
        parts.append(f'<rect x="{x}" y="{y - 10}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{x + 14}" y="{y}">{html.escape(label)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def _md_escape(text: str) -> str:
    return normalise_ws(text).replace("|", "\\|")


def render_markdown(report: EvalReport, chart_ref: str | None) -> str:
    header = ["type"] + [h for h, _, _ in _columns(report)]
    lines = [
        "# citebot evaluation",
        "",
        f"- generator: `{report.generator}`; embedding model: `{report.embedding_model}`; "
        f"index: `{report.index_fingerprint}`",
        f"- question files: {', '.join(f'`{f}`' for f in report.question_files)}",
        f"- {report.overall.questions} questions, {report.duration_s:.1f} s, run at {report.created_at}",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|",
        *("| " + " | ".join(row) + " |" for row in _rows(report)),
        "",
    ]
    if chart_ref:
        lines += [f"![metrics per question type]({chart_ref})", ""]
    failing = [r for r in report.results if r.failures]
    lines += [f"## Failing questions ({len(failing)})", ""]
    if not failing:
        lines += ["None.", ""]
    for r in failing:
        lines += [
            f"### `{r.id}` ({r.type})",
            "",
            f"- **Question:** {_md_escape(r.question)}",
            f"- **Expected:** {_md_escape(r.expected) or '-'}",
            f"- **Answered{' (abstained)' if r.abstained else ''}:** {_md_escape(r.answer) or '-'}",
            f"- **Why it fails:** {_md_escape('; '.join(r.failures))}",
            f"- **Retrieved:** {', '.join(f'`{s}`' for s in r.retrieved[:HIT_K]) or '-'}",
        ]
        for c in r.citations:
            lines.append(f"  - [{c.n}] `{c.source}`: “{_md_escape(_clip(c.quote, 240))}”")
        lines.append("")
    unscored = [r for r in report.results if not r.scored]
    if unscored:
        lines += [f"## Waiting for review, not scored ({len(unscored)})", ""]
        for r in unscored:
            lines += [
                f"- `{r.id}`: {_md_escape(r.question)}",
                f"  - answered{' (abstained)' if r.abstained else ''}: {_md_escape(r.answer) or '-'}",
            ]
        lines.append("")
    return "\n".join(lines)


def write_report(report: EvalReport, path: Path) -> Path:
    """Markdown (chart written next to it as <name>.svg) or, for .html, one self-contained HTML file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    chart = svg_chart(report)
    if path.suffix.lower() in (".html", ".htm"):
        body = render_markdown(report, chart_ref=None)
        path.write_text(
            "<!doctype html>\n<html><head><meta charset='utf-8'><title>citebot evaluation</title></head><body>\n"
            f"{chart}\n<pre>{html.escape(body)}</pre>\n</body></html>\n",
            encoding="utf-8",
        )
        return path
    svg_path = path.with_suffix(".svg")
    svg_path.write_text(chart + "\n", encoding="utf-8")
    path.write_text(render_markdown(report, chart_ref=svg_path.name), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------------
# CLI
# ------------------------------------------------------------------------------------------------
def run_eval_cli(settings: Any, args: Any) -> int:
    """`citebot eval [--questions FILE ...] [--generator NAME] [--json] [--report PATH]`."""
    from rag.engine import build_engine

    paths = list(getattr(args, "questions", None) or []) or [default_questions_path()]
    questions = load_questions(paths)
    if not questions:
        raise ConfigError(f"no questions in {', '.join(map(str, paths))}")
    engine = build_engine(settings)
    chunks = chunk_texts(settings)
    if not chunks:
        raise ConfigError("the index is empty: run `citebot ingest seeds/` first")
    as_json = bool(getattr(args, "json", False))
    tty = sys.stderr.isatty()

    def progress(i: int, n: int, result: QuestionResult) -> None:
        mark = "ok" if not result.failures else "FAIL"
        if tty:
            print(f"\r[{i}/{n}] {result.id} {mark}".ljust(70), end="" if i < n else "\n", file=sys.stderr, flush=True)
        elif not as_json:
            print(f"[{i}/{n}] {result.id} {mark}", file=sys.stderr, flush=True)

    report = evaluate(engine, questions, chunks=chunks, progress=progress)
    if as_json:
        print(report.model_dump_json(indent=2))
    else:
        print(format_table(report))
    report_path = getattr(args, "report", None)
    if report_path:
        written = write_report(report, report_path)
        print(f"report written to {written}", file=sys.stderr)
    return 1 if report.overall.errors else 0
