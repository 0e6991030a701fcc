"""Engine.ask(question, history) -> Answer: one instance per process, shared by every front end."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from rag import nlp
from rag.citations import SentenceStream, Verified, verify
from rag.embedding import Embedder, build_embedder
from rag.errors import GeneratorError, IndexMissingError, QuestionError
from rag.extractive import ExtractiveGenerator
from rag.fusion import DocAggregation, FusionConfig, FusionMethod
from rag.passages import Draft, Generator, Passage
from rag.question import Query, analyse
from rag.rerank import build_reranker
from rag.retrieval import HybridRetriever
from rag.schemas import Answer, ChunkText, Citation, DocumentInfo, Provenance, Source, Turn
from rag.settings import GeneratorKind, Settings, UnverifiedClaims
from rag.store import ChromaStore

log = logging.getLogger(__name__)

NOT_FOUND = "I could not find this in the articles."
NOT_A_QUESTION = "I can only answer questions about the articles; I found no question about them in your message."
UNVERIFIED_HEADING = "Not verified (no passage states this):"
MAX_HISTORY_TURNS = 6
MIN_RESTART_S = 2.0  # a stream that broke off is restarted only with at least this much of the budget left


class Engine:
    def __init__(
        self, settings: Settings, embedder: Embedder, store: ChromaStore, generator: Generator | None = None
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.store = store
        fusion = FusionConfig(
            method=FusionMethod(settings.retrieval_fusion),
            aggregation=DocAggregation(settings.retrieval_doc_aggregation),
        )
        self.retriever = HybridRetriever(
            store,
            embedder,
            settings.data_dir,
            refresh_s=settings.index_refresh_s,
            fusion=fusion,
            reranker=build_reranker(settings),
            rerank_candidates=settings.rerank_candidates,
        )
        self.extractive = ExtractiveGenerator(
            embedder,
            store.sentences_for,
            idf=lambda term: self.retriever.snapshot().idf(term),
        )
        self.generator: Generator = generator or self.extractive

    # -- public API -----------------------------------------------------------------------------
    def validate_question(self, question: str) -> str:
        if not isinstance(question, str) or not question.strip():
            raise QuestionError("the question is empty: ask something about the articles")
        question = question.strip()
        if len(question) > self.settings.max_question_chars:
            raise QuestionError(
                f"the question is {len(question)} characters long; the limit is {self.settings.max_question_chars}"
            )
        return question

    def ask(
        self, question: str, history: list[Turn] | None = None, top_k: int | None = None, request_id: str | None = None
    ) -> Answer:
        answer: Answer | None = None
        for item in self._run(question, history, top_k, request_id, streaming=False):
            if isinstance(item, Answer):
                answer = item
        assert answer is not None
        return answer

    def ask_stream(
        self, question: str, history: list[Turn] | None = None, top_k: int | None = None, request_id: str | None = None
    ) -> Iterator[str | Answer]:
        """Text deltas as the answer is produced, then the verified Answer (which is authoritative)."""
        yield from self._run(question, history, top_k, request_id, streaming=True)

    def delete_document(self, doc_id: str) -> int:
        """Remove one document from the index (chunks, sentences, file entry); 0 when there is none."""
        removed = self.store.delete_document(doc_id)
        if removed:
            self.store.mark_changed()
            self.retriever.invalidate()
        return removed

    def documents(self) -> list[DocumentInfo]:
        docs: dict[str, DocumentInfo] = {}
        for chunk in self.store.all_chunks(include_text=False):
            meta = chunk.metadata
            doc_id = str(meta.get("doc_id", ""))
            if doc_id not in docs:
                docs[doc_id] = DocumentInfo(
                    doc_id=doc_id,
                    source=str(meta.get("source", "")),
                    title=str(meta.get("title", "")),
                    chunks=0,
                    ingested_at=meta.get("ingested_at") or None,
                    publisher=meta.get("publisher") or None,
                    date=meta.get("date") or None,
                )
            docs[doc_id].chunks += 1
        return sorted(docs.values(), key=lambda d: d.source)

    def chunks(self, chunk_ids: list[str]) -> list[ChunkText]:
        """The stored passages with these ids (the text a citation quotes); unknown ids are left out."""
        out = []
        for chunk in self.store.chunks_by_id(chunk_ids):
            meta = chunk.metadata
            out.append(
                ChunkText(
                    chunk_id=chunk.chunk_id,
                    doc_id=str(meta.get("doc_id", "")),
                    source=str(meta.get("source", "")),
                    title=str(meta.get("title", "")),
                    section=meta.get("section") or None,
                    text=chunk.text,
                )
            )
        return out

    def status(self) -> dict:
        snapshot = self.retriever.snapshot()
        self.store.check_model(self.embedder.name, self.embedder.dim)
        documents = {c.metadata.get("doc_id") for c in snapshot.chunks}
        return {
            "ready": bool(snapshot.chunks),
            "documents": len(documents),
            "chunks": len(snapshot.chunks),
            "embedding_model": self.embedder.name,
            "generator": self.generator.name,
            "index_fingerprint": snapshot.fingerprint,
        }

    # -- the pipeline ---------------------------------------------------------------------------
    def _run(
        self, question: str, history: list[Turn] | None, top_k: int | None, request_id: str | None, streaming: bool
    ) -> Iterator[str | Answer]:
        timings: dict[str, float] = {}
        started = time.perf_counter()
        # One budget: the request's timeout, less what the extractive fallback needs if the LLM fails.
        budget = self.settings.request_timeout_s
        deadline = time.monotonic() + budget - min(self.settings.fallback_reserve_s, budget / 2)
        question = self.validate_question(question)
        history = (history or [])[-MAX_HISTORY_TURNS:]
        k = top_k or self.settings.top_k
        query = analyse(question, history)
        search_text = f"{query.context} {query.text}".strip()
        snapshot = self.retriever.snapshot()
        if not snapshot.chunks:
            raise IndexMissingError("nothing is indexed yet: run `citebot ingest seeds/` first")
        with _timed(timings, "embed_ms"):
            vector = self.embedder.embed_query(search_text) if search_text else None
        with _timed(timings, "retrieve_ms"):
            passages = self.retriever.retrieve(search_text, k, query_vector=vector) if search_text else []
        # a follow-up's own words pick its answer sentence; the conversation's topic only picked the passages
        own_vector = self.embedder.embed_query(query.text) if query.context and query.text else vector

        def extractive() -> Outcome:
            draft = self.extractive.generate(question, passages, history, query=query, query_vector=own_vector)
            with _timed(timings, "verify_ms"):
                checked = None if draft.abstained else verify(draft, passages)
            return Outcome(draft, checked, self.extractive.name)

        shown = ""
        with _timed(timings, "generate_ms"):
            if not query.text:
                outcome = Outcome(Draft(text="", abstained=True), None, self.generator.name)
            elif self.generator is self.extractive:
                outcome = extractive()
            else:
                llm = self._llm_stream if streaming else self._llm_batch
                outcome = yield from llm(question, passages, history, deadline, timings, started)
                shown = outcome.shown
                if outcome.fallback_reason:
                    log.warning(
                        "generator %s not used, answering extractively: %s",
                        self.generator.name,
                        outcome.fallback_reason,
                    )
                    reason = outcome.fallback_reason
                    outcome = extractive()
                    outcome.mode, outcome.degraded, outcome.reason = f"{self.extractive.name} (fallback)", True, reason
        timings["total_ms"] = round((time.perf_counter() - started) * 1000, 2)
        answer = self._answer(query, outcome, passages, timings, request_id)
        if streaming:
            # the deltas always add up to the final answer's text: what was shown is never taken back
            if answer.answer.startswith(shown) and len(answer.answer) > len(shown):
                yield answer.answer[len(shown) :]
            elif not answer.answer.startswith(shown):  # pragma: no cover - a bug, not a state
                log.error("streamed text is not a prefix of the final answer (request %s)", request_id)
        yield answer

    def _llm_batch(
        self,
        question: str,
        passages: list[Passage],
        history: list[Turn],
        deadline: float,
        timings: dict[str, float],
        started: float,
    ) -> Iterator[str]:
        if not passages:
            return Outcome(Draft(text="", abstained=True), None, self.generator.name)
        try:
            draft = self.generator.generate(question, passages, history, deadline=deadline)
        except GeneratorError as exc:
            return Outcome.fallback(str(exc))
        if draft.abstained:
            return Outcome(draft, None, self.generator.name)
        with _timed(timings, "verify_ms"):
            checked = verify(draft, passages)
        too_little = self._too_little(checked)
        if too_little:
            return Outcome.fallback(too_little)
        return Outcome(draft, checked, self.generator.name)
        yield  # a generator like _llm_stream, so both are called the same way

    def _llm_stream(
        self,
        question: str,
        passages: list[Passage],
        history: list[Turn],
        deadline: float,
        timings: dict[str, float],
        started: float,
    ) -> Iterator[str]:
        """Stream verified sentences only, each with its final numbering, as soon as it is complete."""
        from rag.llm import answer_part, parse_llm_output  # only the LLM path needs them

        if not passages:
            return Outcome(Draft(text="", abstained=True), None, self.generator.name)
        restarted = False
        while True:
            stream = SentenceStream(passages, self.settings.min_support)
            raw = ""
            try:
                for delta in self.generator.stream(question, passages, history, deadline=deadline):
                    if not raw:
                        timings["first_token_ms"] = _since(started)
                    raw += delta
                    for text in stream.feed(answer_part(raw)):
                        timings.setdefault("first_sentence_ms", _since(started))
                        yield text
                break
            except GeneratorError as exc:
                if stream.shown:  # keep the verified sentences already shown; say why the rest is missing
                    log.warning("generator %s stream broke off after verified text: %s", self.generator.name, exc)
                    yield from stream.release()
                    checked = stream.verifier.result()
                    return Outcome(
                        parse_llm_output(raw),
                        checked,
                        self.generator.name,
                        degraded=True,
                        reason=f"the model's answer broke off; only its verified sentences are shown: {exc}",
                        shown=stream.shown,
                    )
                if raw and not restarted and deadline - time.monotonic() > MIN_RESTART_S:
                    log.warning(
                        "generator %s stream broke off before a verified sentence; retrying: %s",
                        self.generator.name,
                        exc,
                    )
                    restarted = True
                    continue
                return Outcome.fallback(str(exc))
        draft = parse_llm_output(raw)
        if draft.abstained and not stream.shown:
            return Outcome(draft, None, self.generator.name)
        with _timed(timings, "verify_ms"):
            stream.finish(answer_part(raw), draft.quotes)
        checked = stream.verifier.result()
        too_little = self._too_little(checked)
        if too_little and not stream.shown:
            return Outcome.fallback(too_little)
        # sentences held back while support was low: once any text is shown, verified text is never retracted
        yield from stream.release()
        timings.setdefault("first_sentence_ms", _since(started))
        return Outcome(draft, checked, self.generator.name, shown=stream.shown)

    def _too_little(self, checked: Verified) -> str | None:
        """Why a verified LLM answer is not good enough to give (None when it is)."""
        if checked.kept == 0:
            return f"none of the LLM answer's {checked.claims} claims had a citation whose quote states it"
        if checked.support < self.settings.min_support:
            return (
                f"only {checked.kept} of the LLM answer's {checked.claims} claims were verified (support "
                f"{checked.support:.2f}, below CITEBOT_MIN_SUPPORT={self.settings.min_support:g})"
            )
        return None

    def _answer(
        self,
        query: Query,
        outcome: Outcome,
        passages: list[Passage],
        timings: dict[str, float],
        request_id: str | None,
    ) -> Answer:
        checked = outcome.checked
        citations: list[Citation] = checked.citations if checked else []
        abstained = outcome.draft.abstained or not citations
        if abstained:
            text, citations, support = (NOT_A_QUESTION if not query.text else NOT_FOUND), [], 0.0
        else:
            text, support = checked.text, checked.support
            if checked.removed and self.settings.unverified_claims == UnverifiedClaims.show:
                text += f"\n\n{UNVERIFIED_HEADING} " + " ".join(f"“{claim}”" for claim in checked.removed)
        return Answer(
            answer=text,
            short_answer=None if abstained else outcome.draft.short_answer,
            citations=citations,
            sources=[
                Source(
                    doc_id=p.doc_id,
                    source=p.source,
                    title=p.title,
                    chunk_id=p.chunk_id,
                    score=p.score,
                    section=(p.metadata or {}).get("section") or None,
                )
                for p in passages
            ],
            abstained=abstained,
            support=support,
            mode=outcome.mode,
            degraded=outcome.degraded,
            timings_ms=timings,
            provenance=Provenance(
                embedding_model=self.embedder.name,
                generator=self.generator.name,
                llm_model=getattr(self.generator, "model", None),
                prompt_version=getattr(self.generator, "prompt_version", None),
                index_fingerprint=self.retriever.snapshot().fingerprint,
                degraded_reason=outcome.reason,
                nlp_model=nlp.model_name(),
            ),
            citation_repairs=checked.repairs if checked else 0,
            claims_removed=checked.claims_removed if checked else 0,
            request_id=request_id or uuid.uuid4().hex[:16],
        )


@dataclass
class Outcome:
    """What a generator path produced: the draft, its verification, and how it came about."""

    draft: Draft
    checked: Verified | None
    mode: str
    degraded: bool = False
    reason: str | None = None  # why the answer is degraded
    shown: str = ""  # text already streamed to the user
    fallback_reason: str | None = None  # set: answer extractively instead, for this reason

    @classmethod
    def fallback(cls, reason: str) -> Outcome:
        return cls(Draft(text="", abstained=True), None, "", fallback_reason=reason)


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


@contextmanager
def _timed(timings: dict[str, float], key: str):
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[key] = round((time.perf_counter() - start) * 1000, 2)


def build_generator(settings: Settings) -> Generator | None:
    """The configured LLM generator, or None for the extractive default."""
    if settings.generator is GeneratorKind.openai:
        from rag.llm import OpenAIGenerator

        return OpenAIGenerator(settings)
    return None


def build_engine(settings: Settings | None = None) -> Engine:
    settings = settings or Settings()
    embedder = build_embedder(settings)
    store = ChromaStore(settings)
    store.check_model(embedder.name, embedder.dim)  # an index built with another model is refused up front
    return Engine(settings, embedder, store, generator=build_generator(settings))
