"""Engine.ask(question, history) -> Answer: one instance per process, shared by every front end."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from rag import nlp
from rag.citations import verify
from rag.embedding import Embedder, build_embedder
from rag.errors import GeneratorError, IndexMissingError, QuestionError
from rag.extractive import ExtractiveGenerator
from rag.passages import Draft, Generator, Passage
from rag.question import Query, analyse
from rag.retrieval import HybridRetriever
from rag.schemas import Answer, Citation, DocumentInfo, Provenance, Source, Turn
from rag.settings import GeneratorKind, Settings
from rag.store import ChromaStore

log = logging.getLogger(__name__)

NOT_FOUND = "I could not find this in the articles."
NOT_A_QUESTION = "I can only answer questions about the articles; I found no question about them in your message."
MAX_HISTORY_TURNS = 6


class Engine:
    def __init__(
        self, settings: Settings, embedder: Embedder, store: ChromaStore, generator: Generator | None = None
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.store = store
        self.retriever = HybridRetriever(store, embedder, settings.data_dir, refresh_s=settings.index_refresh_s)
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
        mode, degraded = self.generator.name, False
        stream_state = {"streamed": False}
        with _timed(timings, "generate_ms"):
            if not query.text:
                draft = Draft(text="", abstained=True)
            elif self.generator is self.extractive:
                draft = self.extractive.generate(question, passages, history, query=query, query_vector=own_vector)
            else:
                try:
                    draft = yield from self._generate_llm(question, passages, history, streaming, stream_state)
                except GeneratorError as exc:
                    log.warning("generator %s failed, answering extractively: %s", self.generator.name, exc)
                    mode, degraded = f"{self.extractive.name} (fallback)", True
                    draft = self.extractive.generate(question, passages, history, query=query, query_vector=own_vector)
        with _timed(timings, "verify_ms"):
            checked = verify(draft, passages) if not draft.abstained else None
        if checked is not None and not checked.citations and not degraded and self.generator is not self.extractive:
            # An LLM answer with no verifiable citation (a truncated stream, a model ignoring the format)
            # breaks the contract: answer extractively rather than abstain or show uncited claims.
            log.warning("generator %s gave no verifiable citation; answering extractively", self.generator.name)
            mode, degraded = f"{self.extractive.name} (fallback)", True
            draft = self.extractive.generate(question, passages, history, query=query, query_vector=own_vector)
            checked = verify(draft, passages) if not draft.abstained else None
        timings["total_ms"] = round((time.perf_counter() - started) * 1000, 2)
        answer = self._answer(query, draft, checked, passages, mode, degraded, timings, request_id)
        if streaming and (self.generator is self.extractive or (degraded and not stream_state["streamed"])):
            # A fallback after a partial LLM stream sends no more text: the final Answer event is authoritative.
            yield answer.answer
        yield answer

    def _generate_llm(
        self, question: str, passages: list[Passage], history: list[Turn], streaming: bool, state: dict
    ) -> Iterator[str]:
        if not passages:
            return Draft(text="", abstained=True)
        if not streaming:
            return self.generator.generate(question, passages, history)
        from rag.llm import QuotesBlockFilter, parse_llm_output  # only the LLM path needs them

        raw, visible = "", QuotesBlockFilter()
        for delta in self.generator.stream(question, passages, history):
            raw += delta
            shown = visible.feed(delta)
            if shown:
                state["streamed"] = True
                yield shown
        rest = visible.flush()
        if rest:
            yield rest
        return parse_llm_output(raw)

    def _answer(
        self,
        query: Query,
        draft: Draft,
        checked,
        passages: list[Passage],
        mode: str,
        degraded: bool,
        timings: dict[str, float],
        request_id: str | None,
    ) -> Answer:
        citations: list[Citation] = checked.citations if checked else []
        abstained = draft.abstained or not citations
        if abstained:
            text, citations, support = (NOT_A_QUESTION if not query.text else NOT_FOUND), [], 0.0
        else:
            text, support = checked.text, checked.support
        return Answer(
            answer=text,
            short_answer=None if abstained else draft.short_answer,
            citations=citations,
            sources=[
                Source(doc_id=p.doc_id, source=p.source, title=p.title, chunk_id=p.chunk_id, score=p.score)
                for p in passages
            ],
            abstained=abstained,
            support=support,
            mode=mode,
            degraded=degraded,
            timings_ms=timings,
            provenance=Provenance(
                embedding_model=self.embedder.name,
                generator=self.generator.name,
                llm_model=getattr(self.generator, "model", None),
                prompt_version=getattr(self.generator, "prompt_version", None),
                index_fingerprint=self.retriever.snapshot().fingerprint,
                nlp_model=nlp.model_name(),
            ),
            citation_repairs=checked.repairs if checked else 0,
            request_id=request_id or uuid.uuid4().hex[:16],
        )


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
