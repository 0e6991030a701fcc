"""Retrieval quality: many fusion variants scored over the same stored chunks and vectors, in one process.

Each corpus is ingested once into a scratch data dir (the real ingest pipeline), then every question
is embedded once and its dense and BM25 candidate lists are computed once per field scheme; each
variant only fuses and ranks those lists (rag.fusion, the code answers use). Metrics over questions
whose gold documents answer them: hit@1 (a gold document's passage ranked first), MRR (of the first
gold passage among the k passages kept) and facts@k (every key-fact group found in the kept passages'
text: whether the generator is handed the answer at all).

The variant grid and its command line are in bench/retrieval_variants.py:

    python -m bench.retrieval_variants --split dev            # every variant on every dev split

Tune on `dev` only; `test` is for reporting (`citebot bench` prints the test split for the
default, the previous default and the two baselines).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import bm25s
import numpy as np

from rag.fusion import DocAggregation, FusionConfig, FusionMethod, Ranking, rank_passages
from rag.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT / "tests" / "eval"
QUESTION_SUFFIXES = (".yaml", ".yml", ".jsonl", ".json")


@dataclass(frozen=True)
class CorpusSpec:
    name: str
    docs: Path
    questions: Path


def corpus_specs(split: str, eval_dir: Path = EVAL, seeds: Path = ROOT / "seeds") -> list[CorpusSpec]:
    """The seeds and every tests/eval/corpora/<name>/ holding questions_<split>.yaml (missing files skipped)."""
    seeds_questions = eval_dir / ("questions.yaml" if split == "dev" else f"questions_{split}.yaml")
    specs = [CorpusSpec("seeds", seeds, seeds_questions)] if seeds_questions.is_file() else []
    corpora = eval_dir / "corpora"
    for folder in sorted(p for p in corpora.iterdir() if p.is_dir()) if corpora.is_dir() else []:
        questions = folder / f"questions_{split}.yaml"
        if questions.is_file():
            docs = next((folder / sub for sub in ("pages", "docs") if (folder / sub).is_dir()), folder)
            specs.append(CorpusSpec(folder.name, docs, questions))
    return specs


# ------------------------------------------------------------------------------------------------
# Variants
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Variant:
    """How candidates are made (dense text, keyword fields) and fused."""

    name: str
    # "stored" (what ingest embedded: rag.store_format.chunk_embedding_text), or re-embedded here: "body",
    # "title_body" (the title prepended: what ingest embedded before round 3), "title_section", "section_body"
    dense: str | None = "stored"  # None = off
    keyword: str | None = "title_body"  # "title_body" (today), "body", "bm25f"; None = off
    dense_weight: float = 1.0
    keyword_weight: float = 1.0
    method: FusionMethod = FusionMethod.rrf
    aggregation: DocAggregation = DocAggregation.max
    # sentence evidence fused as more lists (rag.evidence): ("sentence" | "typed", weight)
    evidence: tuple[tuple[str, float], ...] = ()

    def config(self, seats: int) -> FusionConfig:
        return FusionConfig(method=self.method, aggregation=self.aggregation, seats=seats)


BASELINES = (
    Variant("bm25-only", dense=None),
    Variant("vector-only", keyword=None),
)


# What rag.retrieval does by default (FusionConfig(), its weights, BM25F, typed sentence evidence), what it
# did before the typed evidence (round 8), and before issue 12.
def _default() -> Variant:
    from rag.retrieval import TYPED_WEIGHT

    return Variant(
        f"citebot default: minmax d1 bm25f/stored max +typed {TYPED_WEIGHT:g}",
        keyword="bm25f",
        method=FusionMethod.minmax,
        evidence=(("typed", TYPED_WEIGHT),),
    )


DEFAULT = _default()
BEFORE_TYPED = Variant("before round 8: minmax d1 bm25f/stored max", keyword="bm25f", method=FusionMethod.minmax)
PREVIOUS = Variant(
    "before round 3: zscore d1 title_body/title_body max", dense="title_body", method=FusionMethod.zscore
)


# ------------------------------------------------------------------------------------------------
# Field texts
# ------------------------------------------------------------------------------------------------
EVIDENCE_POOLS = (8, 12, 20)  # typed evidence over only this many leading fused chunks (its cost)
TITLE_REPEAT = 3  # BM25F-like: title and section tokens count this many times (repetition = field weight)


def keyword_terms(scheme: str, title: str, section: str, body: str) -> list[str]:
    from rag.retrieval import keyword_terms as content_terms  # BM25's tokens: hyphenated words split too

    if scheme == "body":
        return content_terms(body)
    if scheme == "title_body":
        return content_terms(f"{title}\n{body}")
    if scheme == "bm25f":
        head = content_terms(f"{title}\n{section}")
        return head * TITLE_REPEAT + content_terms(body)
    raise ValueError(f"unknown keyword scheme {scheme!r}")


def dense_text(scheme: str, title: str, section: str, body: str) -> str:
    if scheme == "body":
        return body
    if scheme == "title_body":  # llama-index's MetadataMode.EMBED text with the title as the only metadata
        return f"{title}\n\n{body}" if title else body
    if scheme == "title_section":
        return "\n\n".join(part for part in (title, section, body) if part)
    if scheme == "section_body":
        return "\n\n".join(part for part in (section, body) if part)
    raise ValueError(f"unknown dense scheme {scheme!r}")


# ------------------------------------------------------------------------------------------------
# One corpus, its candidates per question
# ------------------------------------------------------------------------------------------------
@dataclass
class Case:
    id: str
    gold: list[str]
    key_facts: list[list[str]]
    dense: dict[str, Ranking] = field(default_factory=dict)
    keyword: dict[str, Ranking] = field(default_factory=dict)
    evidence: dict[str, Ranking] = field(default_factory=dict)  # "sentence", "typed": over the candidates


class CorpusRun:
    """A corpus ingested once, its chunks and field texts, and every question's candidate lists."""

    def __init__(self, spec: CorpusSpec, work_dir: Path, embedder, candidates: int | None = None, log=None) -> None:
        from ingest.pipeline import ingest_paths
        from rag.errors import IndexMismatchError
        from rag.retrieval import CANDIDATES, HybridRetriever
        from rag.store import ChromaStore

        self.spec = spec
        self.embedder = embedder
        self.candidates = CANDIDATES if candidates is None else candidates  # what rag.retrieval uses
        self.log = log or (lambda message: None)
        settings = Settings(_env_file=None, data_dir=work_dir / spec.name)
        t0 = time.perf_counter()
        try:
            ingest_paths(settings, [spec.docs], progress=False, embedder=embedder)
        except IndexMismatchError:  # a scratch index left by an older citebot: rebuild it
            ingest_paths(settings, [spec.docs], progress=False, embedder=embedder, reindex=True)
        self.ingest_s = time.perf_counter() - t0
        self.store = ChromaStore(settings)
        self.retriever = HybridRetriever(self.store, embedder, settings.data_dir, refresh_s=0)
        self.chunks = self.retriever.snapshot().chunks
        self.ids = [c.chunk_id for c in self.chunks]
        self.source = {c.chunk_id: str(c.metadata.get("source", "")) for c in self.chunks}
        self.text = {c.chunk_id: c.text for c in self.chunks}
        self.fields = [
            (str(c.metadata.get("title", "")), str(c.metadata.get("section", "") or ""), c.text) for c in self.chunks
        ]
        self.has_sections = any(section for _, section, _ in self.fields)
        self._bm25: dict[str, bm25s.BM25] = {}
        self._vectors: dict[str, np.ndarray] = {}
        self._sentences: dict[str, list] = {}
        self.log(f"{spec.name}: {len(self.chunks)} chunks, sections {'yes' if self.has_sections else 'no'}")

    def doc_of(self, chunk_id: str) -> str:
        return self.source[chunk_id]

    def bm25(self, scheme: str) -> bm25s.BM25:
        if scheme not in self._bm25:
            model = bm25s.BM25()
            model.index([keyword_terms(scheme, *f) for f in self.fields], show_progress=False)
            self._bm25[scheme] = model
        return self._bm25[scheme]

    def vectors(self, scheme: str) -> np.ndarray:
        if scheme not in self._vectors:
            t0 = time.perf_counter()
            texts = [dense_text(scheme, *f) for f in self.fields]
            self._vectors[scheme] = np.asarray(self.embedder.embed_documents(texts), dtype=np.float32)
            self.log(
                f"{self.spec.name}: re-embedded {len(texts)} chunks as {scheme} in {time.perf_counter() - t0:.0f}s"
            )
        return self._vectors[scheme]

    def sentences_of(self, chunk_ids: Iterable[str]) -> list:
        """The stored sentences of these chunks (all read from the store once, then kept)."""
        if not self._sentences and self.ids:
            for lo in range(0, len(self.ids), 200):
                for sentence in self.store.sentences_for(self.ids[lo : lo + 200]):
                    self._sentences.setdefault(sentence.chunk_id, []).append(sentence)
        return [s for c in chunk_ids for s in sorted(self._sentences.get(c, []), key=lambda s: s.index)]

    def evidence(self, case: Case, query, vector: np.ndarray) -> None:
        """Sentence evidence (rag.evidence) over every candidate, and typed evidence over leading pools.

        "typed" is what rag.retrieval adds: every part's answer types, over the TYPED_POOL leading chunks of
        the stored-vector + BM25F fusion; "typed@N" other pools; "typed_all" / "typed_main" every candidate
        with every part's / the main question's types; "typed_bin" a flat bonus; "sentence" the best
        sentence's cosine (max-sim).
        """
        from rag import evidence
        from rag.fusion import leading
        from rag.retrieval import TYPED_POOL

        candidates = list(dict.fromkeys(i for r in (*case.dense.values(), *case.keyword.values()) for i in r.ids))
        sentences = self.sentences_of(candidates)
        cosines = evidence.sentence_cosines(sentences, vector)
        asked = evidence.Asked.of(query)
        scored = {
            "sentence": evidence.best_sentence(sentences, cosines),
            "typed_main": evidence.typed_sentence(sentences, cosines, query.types, asked.terms),
            "typed_all": evidence.typed_sentence(sentences, cosines, asked.types, asked.terms),
        }
        scored["typed_bin"] = dict.fromkeys(scored["typed_main"], 1.0)
        base = [r for r in (case.dense.get("stored"), case.keyword.get("bm25f")) if r is not None]
        for pool in sorted({TYPED_POOL, *EVIDENCE_POOLS}):
            kept = set(leading(base, FusionMethod.minmax, pool))
            name = "typed" if pool == TYPED_POOL else f"typed@{pool}"
            scored[name] = {c: s for c, s in scored["typed_all"].items() if c in kept}
        if "section_body" in case.dense and "bm25f" in case.keyword:  # the pool of section-prepended vectors
            kept = set(leading([case.dense["section_body"], case.keyword["bm25f"]], FusionMethod.minmax, TYPED_POOL))
            scored["typed_section_body"] = {c: s for c, s in scored["typed_all"].items() if c in kept}
        for name, scores in scored.items():
            case.evidence[name] = Ranking.of(sorted(scores.items(), key=lambda kv: (-kv[1], kv[0])))

    def cases(
        self,
        dense_schemes: Iterable[str],
        keyword_schemes: Iterable[str],
        questions: Path | None = None,
        with_evidence: bool = False,
    ) -> list[Case]:
        """Candidate lists of every retrieval question (of the corpus's file, or `questions`)."""
        from rag.question import analyse
        from rag.retrieval import keyword_terms

        out = []
        k = min(self.candidates, len(self.chunks))
        dense_schemes, keyword_schemes = list(dense_schemes), list(keyword_schemes)
        for question in retrieval_questions(questions or self.spec.questions):
            analysed = analyse(question["question"])
            query = analysed.text
            vector = self.embedder.embed_query(query)
            case = Case(question["id"], question["sources"], question["key_facts"])
            for scheme in dense_schemes:
                if scheme == "stored":
                    hits = self.store.query(vector, k)
                    case.dense[scheme] = Ranking.of((h.chunk_id, h.score) for h in hits)
                else:
                    scores = self.vectors(scheme) @ vector
                    top = np.argsort(-scores)[:k]
                    case.dense[scheme] = Ranking.of((self.ids[i], float(scores[i])) for i in top)
            terms = keyword_terms(query)
            for scheme in keyword_schemes:
                if not terms:
                    case.keyword[scheme] = Ranking.of([])
                    continue
                docs, scores = self.bm25(scheme).retrieve([terms], k=k, show_progress=False)
                case.keyword[scheme] = Ranking.of(
                    (self.ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0]) if s > 0
                )
            if with_evidence:
                self.evidence(case, analysed, vector)
            out.append(case)
        return out


def retrieval_questions(path: Path) -> list[dict]:
    """Questions whose gold sources answer them (not unanswerable, not injection, with key facts).

    Read leniently (only the fields retrieval needs), so question sets using newer question types
    than rag.evaluation knows still score.
    """
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    items = data.get("questions", []) if isinstance(data, dict) else data
    out = []
    for item in items or []:
        facts = [[g] if isinstance(g, str) else list(g) for g in item.get("key_facts") or []]
        abstain = item.get("expect_abstain")
        abstain = item.get("type") == "unanswerable" if abstain is None else abstain
        if abstain or item.get("type") == "injection" or item.get("needs_review") or not facts:
            continue
        if item.get("sources"):
            out.append({"id": item["id"], "question": item["question"], "sources": item["sources"], "key_facts": facts})
    return out


# ------------------------------------------------------------------------------------------------
# Scoring
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Score:
    n: int
    hit_at_1: float
    mrr: float
    facts_at_k: float

    def as_dict(self) -> dict:
        return {"n": self.n, "hit@1": round(self.hit_at_1, 3), "mrr": round(self.mrr, 3), "facts@k": self.facts_at_k}


def score_variant(run: CorpusRun, cases: Sequence[Case], variant: Variant, k: int, seats: int) -> Score:
    from rag.evaluation import missing_facts, same_document

    hits, reciprocal, facts = 0.0, 0.0, 0.0
    for case in cases:
        rankings = []
        if variant.dense is not None:
            base = case.dense[variant.dense]
            rankings.append(Ranking(base.ids, base.scores, variant.dense_weight))
        if variant.keyword is not None:
            base = case.keyword[variant.keyword]
            rankings.append(Ranking(base.ids, base.scores, variant.keyword_weight))
        for name, weight in variant.evidence:
            base = case.evidence[name]
            rankings.append(Ranking(base.ids, base.scores, weight))
        passages = [c for c, _ in rank_passages(rankings, run.doc_of, k, variant.config(seats))]
        rank = next(
            (i for i, c in enumerate(passages, 1) if any(same_document(run.doc_of(c), g) for g in case.gold)), None
        )
        hits += rank == 1
        reciprocal += 1.0 / rank if rank else 0.0
        facts += not missing_facts(case.key_facts, "\n".join(run.text[c] for c in passages))
    n = max(len(cases), 1)
    return Score(len(cases), hits / n, reciprocal / n, round(facts / n, 3))


def score_retriever(run: CorpusRun, k: int) -> Score:
    """The real HybridRetriever.retrieve over the same questions (checks the DEFAULT variant is what runs)."""
    from rag.evaluation import missing_facts, same_document
    from rag.evidence import Asked
    from rag.question import analyse

    questions = retrieval_questions(run.spec.questions)
    hits, reciprocal, facts = 0.0, 0.0, 0.0
    for question in questions:
        query = analyse(question["question"])
        passages = run.retriever.retrieve(query.text, k, asked=Asked.of(query))
        rank = next(
            (i for i, p in enumerate(passages, 1) if any(same_document(p.source, g) for g in question["sources"])),
            None,
        )
        hits += rank == 1
        reciprocal += 1.0 / rank if rank else 0.0
        facts += not missing_facts(question["key_facts"], "\n".join(p.text for p in passages))
    n = max(len(questions), 1)
    return Score(len(questions), hits / n, reciprocal / n, round(facts / n, 3))


def bench_quality(split: str, work_dir: Path, embedder, k: int = 8, log=None) -> dict:
    """For `citebot bench`: per corpus of `split`, the default next to the baselines, from one process."""
    from rag.fusion import seats_for

    out: dict = {}
    specs = corpus_specs(split)
    names = {s.name for s in specs}
    if "seeds" not in names:
        out["seeds"] = {"skipped": f"no seeds question file for the {split} split in this checkout"}
    for spec in specs:
        run = CorpusRun(spec, work_dir, embedder, log=log)
        variants = [DEFAULT, BEFORE_TYPED, PREVIOUS, *BASELINES]
        cases = run.cases({"stored", "title_body"}, {"title_body", "bm25f"}, with_evidence=True)
        row = {v.name: score_variant(run, cases, v, k, seats_for(k)).as_dict() for v in variants}
        row["HybridRetriever.retrieve"] = score_retriever(run, k).as_dict()
        out[spec.name] = row
    return out
