"""Sentence-level evidence for ranking chunks: how well a chunk's best sentence answers the question.

A chunk vector averages every sentence of the chunk, and BM25 rewards the chunk that repeats the
question's words; on news articles several documents tell the same story, and the one that answers
holds one sentence close to the question. Two scores per chunk, from the sentences stored at ingest
(their MiniLM vectors and spaCy entities, rag.store_records.StoredSentence):

- `best_sentence`: the highest cosine of any of the chunk's sentences with the question (max-sim);
- `typed_sentence`: the same, over sentences holding a candidate answer, an entity of a type the question
  asks for (rag.question `types`) that is not one of the question's own words, in a sentence that shares
  at least one content term with the question.

Pure functions over stored sentences; used by rag.retrieval and bench.retrieval_quality. Never imports
the reader.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rag.nlp import stored_entities
from rag.store_records import StoredSentence
from rag.text import content_terms

if TYPE_CHECKING:
    from rag.question import Query


@dataclass(frozen=True)
class Asked:
    """What the question asks for (rag.question's `types` and `terms`), handed to the retriever by the engine."""

    types: frozenset[str] = frozenset()  # OntoNotes labels of the expected answer; empty = untyped
    terms: frozenset[str] = frozenset()  # the question's content terms (rag.text.content_terms)

    @classmethod
    def of(cls, query: Query) -> Asked:
        """A multi-part question ("who claimed it, and how many died?") asks for every part's types."""
        return cls(query.types.union(*(part.types for part in query.parts)), frozenset(query.terms))


def sentence_cosines(sentences: Sequence[StoredSentence], query_vector: np.ndarray) -> np.ndarray:
    """Cosine of each sentence's stored vector with the (unit) query vector."""
    if not sentences:
        return np.zeros(0, dtype=np.float32)
    matrix = np.stack([s.embedding for s in sentences])
    norms = np.linalg.norm(matrix, axis=1) * (float(np.linalg.norm(query_vector)) or 1.0)
    return (matrix @ query_vector) / np.where(norms > 0, norms, 1.0)


def best_sentence(sentences: Sequence[StoredSentence], cosines: Sequence[float]) -> dict[str, float]:
    """Each chunk's best sentence cosine (chunks without sentences are absent)."""
    out: dict[str, float] = {}
    for sentence, cosine in zip(sentences, cosines):
        out[sentence.chunk_id] = max(out.get(sentence.chunk_id, -1.0), float(cosine))
    return out


def typed_sentence(
    sentences: Sequence[StoredSentence],
    cosines: Sequence[float],
    types: Iterable[str],
    question_terms: Iterable[str],
    min_shared: int = 1,
) -> dict[str, float]:
    """Each chunk's best cosine among sentences holding a new entity of an asked-for type; {} when untyped."""
    types, terms = frozenset(types), frozenset(question_terms)
    if not types or not terms:
        return {}
    out: dict[str, float] = {}
    for sentence, cosine in zip(sentences, cosines):
        if sentence.chunk_id in out and out[sentence.chunk_id] >= cosine:
            continue
        if holds_candidate(sentence, types, terms, min_shared):
            out[sentence.chunk_id] = float(cosine)
    return out


def holds_candidate(
    sentence: StoredSentence, types: frozenset[str], terms: frozenset[str], min_shared: int = 1
) -> bool:
    """The sentence names an entity of `types` that the question does not, and shares `min_shared` of its terms.

    Sentences without stored entities are not parsed here, so retrieval stays cheap; the entities are
    looked at first, since stemming the whole sentence is the costly part.
    """
    ents = stored_entities(sentence.text, sentence.meta, types)
    if not any(not set(content_terms(e.text)) <= terms for e in ents):
        return False
    return len(terms & set(content_terms(sentence.text))) >= min_shared
