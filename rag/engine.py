"""Engine.ask(question, history) -> Answer: one instance per process, shared by every front end.

The engine is given its parts (rag.service builds them): the store, the embedder, the retriever,
the generator and the fallback generator that answers when the first one fails (the extractive
reader behind an LLM). It analyses the question, retrieves passages, runs the generator (rag.generation)
and turns the verified draft into an Answer.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

from rag import nlp
from rag.errors import IndexMissingError, QuestionError
from rag.evidence import Asked
from rag.generation import GenerationRun, Outcome, timed
from rag.passages import Generator, Passage
from rag.question import Query, analyse
from rag.schemas import Answer, ChunkText, Citation, DocumentInfo, Provenance, Source, Turn
from rag.settings import Settings, UnverifiedClaims

if TYPE_CHECKING:
    from rag.embedding import Embedder
    from rag.retrieval import HybridRetriever
    from rag.store import ChromaStore

log = logging.getLogger(__name__)

NOT_FOUND = "I could not find this in the documents."
NOT_A_QUESTION = "I can only answer questions about the articles; I found no question about them in your message."
UNVERIFIED_HEADING = "Not verified (no passage states this):"
MAX_HISTORY_TURNS = 6


class Engine:
    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        store: ChromaStore,
        retriever: HybridRetriever,
        generator: Generator,
        fallback: Generator | None = None,
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.store = store
        self.retriever = retriever
        self.generator = generator
        self.fallback = fallback

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
        self,
        question: str,
        history: list[Turn] | None = None,
        top_k: int | None = None,
        request_id: str | None = None,
        analysed: Query | None = None,
    ) -> Answer:
        """`analysed`: rag.question.analyse(question, history) when computed elsewhere (a cold `citebot ask`
        parses the question in a child process, rag.forked_parse); used only when it is of this question."""
        answer: Answer | None = None
        for item in self._run(question, history, top_k, request_id, streaming=False, analysed=analysed):
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
        self,
        question: str,
        history: list[Turn] | None,
        top_k: int | None,
        request_id: str | None,
        streaming: bool,
        analysed: Query | None = None,
    ) -> Iterator[str | Answer]:
        timings: dict[str, float] = {}
        started = time.perf_counter()
        # One budget: the request's timeout, less what the extractive fallback needs if the LLM fails.
        budget = self.settings.request_timeout_s
        deadline = time.monotonic() + budget - min(self.settings.fallback_reserve_s, budget / 2)
        question = self.validate_question(question)
        history = (history or [])[-MAX_HISTORY_TURNS:]
        query = analysed if analysed is not None and analysed.original == question else analyse(question, history)
        k = top_k or self.settings.top_k
        run = self._retrieve(question, query, history, k, deadline, timings, started)
        with timed(timings, "generate_ms"):
            if not query.text:
                outcome = Outcome.abstained(self.generator.name)
            else:
                outcome = yield from run.answer(self.generator, self.fallback, streaming)
        timings["total_ms"] = round((time.perf_counter() - started) * 1000, 2)
        answer = self._answer(query, outcome, run.passages, timings, request_id)
        if streaming:
            # the deltas always add up to the final answer's text: what was shown is never taken back
            shown = outcome.shown
            if answer.answer.startswith(shown) and len(answer.answer) > len(shown):
                yield answer.answer[len(shown) :]
            elif not answer.answer.startswith(shown):  # pragma: no cover - a bug, not a state
                log.error("streamed text is not a prefix of the final answer (request %s)", request_id)
        yield answer

    def _retrieve(
        self,
        question: str,
        query: Query,
        history: list[Turn],
        k: int,
        deadline: float,
        timings: dict[str, float],
        started: float,
    ) -> GenerationRun:
        search_text = f"{query.context} {query.text}".strip()
        snapshot = self.retriever.snapshot()
        if not snapshot.chunks:
            raise IndexMissingError("nothing is indexed yet: run `citebot ingest seeds/` first")
        with timed(timings, "embed_ms"):
            vector = self.embedder.embed_query(search_text) if search_text else None
        with timed(timings, "retrieve_ms"):
            asked = Asked.of(query)
            passages = self.retriever.retrieve(search_text, k, query_vector=vector, asked=asked) if search_text else []
        # a follow-up's own words pick its answer sentence; the conversation's topic only picked the passages
        own_vector = self.embedder.embed_query(query.text) if query.context and query.text else vector
        return GenerationRun(
            question, query, own_vector, passages, history, deadline, timings, started, self.settings.min_support
        )

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
                llm_model=self.generator.model,
                prompt_version=self.generator.prompt_version,
                index_fingerprint=self.retriever.snapshot().fingerprint,
                degraded_reason=outcome.reason,
                nlp_model=nlp.model_name(),
            ),
            citation_repairs=checked.repairs if checked else 0,
            claims_removed=checked.claims_removed if checked else 0,
            request_id=request_id or uuid.uuid4().hex[:16],
        )


def build_engine(settings: Settings | None = None) -> Engine:
    """The engine of `settings`, built by the composition root (kept here for callers of rag.engine)."""
    from rag.service import build_engine as build

    return build(settings)
