"""Retrieval quality: many fusion variants scored over the same stored chunks and vectors, in one process.

Each corpus is ingested once into a scratch data dir (the real ingest pipeline), then every question
is embedded once and its dense and BM25 candidate lists are computed once per field scheme; each
variant only fuses and ranks those lists (rag.fusion, the code answers use). Metrics over questions
whose gold documents answer them: hit@1 (a gold document's passage ranked first), MRR (of the first
gold passage among the k passages kept) and facts@k (every key-fact group found in the kept passages'
text: whether the generator is handed the answer at all).

    python -m bench.retrieval_quality --split dev            # every variant on every dev split
    python -m bench.retrieval_quality --split dev --corpus seeds --k 5 8 --seats 0 2 4

Tune on `dev` only; `test` is for reporting (`citebot bench` prints the test split for the
default and the two baselines).
"""

from __future__ import annotations

import argparse
import json
import sys
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
    dense: str | None = "stored"  # "stored" (what ingest embedded), "body", "title_section"; None = off
    keyword: str | None = "title_body"  # "title_body" (today), "body", "bm25f"; None = off
    dense_weight: float = 1.0
    keyword_weight: float = 1.0
    method: FusionMethod = FusionMethod.rrf
    aggregation: DocAggregation = DocAggregation.max

    def config(self, seats: int) -> FusionConfig:
        return FusionConfig(method=self.method, aggregation=self.aggregation, seats=seats)


BASELINES = (
    Variant("bm25-only", dense=None),
    Variant("vector-only", keyword=None),
)
# What rag.retrieval does by default (FusionConfig() and its weights), and what it did before issue 12.
DEFAULT = Variant("citebot default: zscore d1 title_body/stored max", method=FusionMethod.zscore)
PREVIOUS = Variant("before issue 12: rrf d0.6 title_body/stored max", dense_weight=0.6)


def all_variants() -> list[Variant]:
    out = list(BASELINES)
    out += [Variant("bm25f-only", dense=None, keyword="bm25f"), Variant("vector-body-only", dense="body", keyword=None)]
    out.append(Variant("vector-title+section-only", dense="title_section", keyword=None))
    for method in FusionMethod:
        for dense_weight in (0.6, 1.0):
            for keyword in ("title_body", "bm25f"):
                for dense in ("stored", "body", "title_section"):
                    for aggregation in DocAggregation:
                        name = f"{method.value} d{dense_weight:g} {keyword}/{dense} {aggregation.value}"
                        out.append(Variant(name, dense, keyword, dense_weight, 1.0, method, aggregation))
    return out


# ------------------------------------------------------------------------------------------------
# Field texts
# ------------------------------------------------------------------------------------------------
TITLE_REPEAT = 3  # BM25F-like: title and section tokens count this many times (repetition = field weight)


def keyword_terms(scheme: str, title: str, section: str, body: str) -> list[str]:
    from rag.text import content_terms

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
    if scheme == "title_section":
        return "\n\n".join(part for part in (title, section, body) if part)
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


class CorpusRun:
    """A corpus ingested once, its chunks and field texts, and every question's candidate lists."""

    def __init__(self, spec: CorpusSpec, work_dir: Path, embedder, candidates: int = 20, log=None) -> None:
        from ingest.pipeline import ingest_paths
        from rag.retrieval import HybridRetriever
        from rag.store import ChromaStore

        self.spec = spec
        self.embedder = embedder
        self.candidates = candidates
        self.log = log or (lambda message: None)
        settings = Settings(_env_file=None, data_dir=work_dir / spec.name)
        t0 = time.perf_counter()
        ingest_paths(settings, [spec.docs], progress=False, embedder=embedder)
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

    def cases(
        self, dense_schemes: Iterable[str], keyword_schemes: Iterable[str], questions: Path | None = None
    ) -> list[Case]:
        """Candidate lists of every retrieval question (of the corpus's file, or `questions`)."""
        from rag.question import analyse
        from rag.text import content_terms

        out = []
        k = min(self.candidates, len(self.chunks))
        dense_schemes, keyword_schemes = list(dense_schemes), list(keyword_schemes)
        for question in retrieval_questions(questions or self.spec.questions):
            query = analyse(question["question"]).text
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
            terms = content_terms(query)
            for scheme in keyword_schemes:
                if not terms:
                    case.keyword[scheme] = Ranking.of([])
                    continue
                docs, scores = self.bm25(scheme).retrieve([terms], k=k, show_progress=False)
                case.keyword[scheme] = Ranking.of(
                    (self.ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0]) if s > 0
                )
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
        passages = [c for c, _ in rank_passages(rankings, run.doc_of, k, variant.config(seats))]
        rank = next(
            (i for i, c in enumerate(passages, 1) if any(same_document(run.doc_of(c), g) for g in case.gold)), None
        )
        hits += rank == 1
        reciprocal += 1.0 / rank if rank else 0.0
        facts += not missing_facts(case.key_facts, "\n".join(run.text[c] for c in passages))
    n = max(len(cases), 1)
    return Score(len(cases), hits / n, reciprocal / n, round(facts / n, 3))


def evaluate(
    runs: Sequence[CorpusRun], variants: Sequence[Variant], ks: Sequence[int], seats: Sequence[int]
) -> list[dict]:
    """One row per (variant, k, seats): each corpus's Score, and the worst corpus's hit@1 and MRR."""
    dense = sorted({v.dense for v in variants if v.dense})
    keyword = sorted({v.keyword for v in variants if v.keyword})
    cases = {run.spec.name: run.cases(dense, keyword) for run in runs}
    rows = []
    for variant in variants:
        for k in ks:
            for seat in seats:
                scores = {run.spec.name: score_variant(run, cases[run.spec.name], variant, k, seat) for run in runs}
                rows.append(
                    {
                        "variant": variant.name,
                        "k": k,
                        "seats": seat,
                        "corpora": {name: s.as_dict() for name, s in scores.items()},
                        "min_hit@1": round(min(s.hit_at_1 for s in scores.values()), 3),
                        "min_mrr": round(min(s.mrr for s in scores.values()), 3),
                    }
                )
    return rows


def score_retriever(run: CorpusRun, k: int) -> Score:
    """The real HybridRetriever.retrieve over the same questions (checks the DEFAULT variant is what runs)."""
    from rag.evaluation import missing_facts, same_document
    from rag.question import analyse

    questions = retrieval_questions(run.spec.questions)
    hits, reciprocal, facts = 0.0, 0.0, 0.0
    for question in questions:
        passages = run.retriever.retrieve(analyse(question["question"]).text, k)
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
        variants = [DEFAULT, PREVIOUS, *BASELINES]
        cases = run.cases({"stored"}, {"title_body"})
        row = {v.name: score_variant(run, cases, v, k, seats_for(k)).as_dict() for v in variants}
        row["HybridRetriever.retrieve"] = score_retriever(run, k).as_dict()
        out[spec.name] = row
    return out


def format_rows(rows: Sequence[dict], top: int | None = None) -> str:
    if not rows:
        return "(no rows)"
    names = list(rows[0]["corpora"])
    header = ["variant", "k", "seats"] + [f"{n} {m}" for n in names for m in ("hit@1", "MRR", "facts@k")]
    lines = [" | ".join(header), " | ".join("---" for _ in header)]
    for row in rows[:top] if top else rows:
        cells = [row["variant"], str(row["k"]), str(row["seats"])]
        for name in names:
            s = row["corpora"][name]
            cells += [f"{s['hit@1']:.3f}", f"{s['mrr']:.3f}", f"{s['facts@k']:.3f}"]
        lines.append(" | ".join(cells))
    return "\n".join(lines)


def _log(message: str) -> None:
    print(f"retrieval-quality: {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="dev", choices=["dev", "test"])
    parser.add_argument("--corpus", action="append", help="only these corpora (names)")
    parser.add_argument("--k", type=int, nargs="+", default=[8])
    parser.add_argument("--seats", type=int, nargs="+", default=[4])
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/citebot-retrieval-quality"))
    parser.add_argument("--sort", action="store_true", help="best worst-corpus hit@1, then MRR, first")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    parser.add_argument("--variants", nargs="*", help="only variants whose name contains one of these")
    parser.add_argument(
        "--extra", nargs=3, action="append", default=[], metavar=("NAME", "DOCS", "QUESTIONS"), help="one more corpus"
    )
    args = parser.parse_args(argv)
    from rag.embedding import MiniLMEmbedder

    specs = [s for s in corpus_specs(args.split) if not args.corpus or s.name in args.corpus]
    specs += [CorpusSpec(name, Path(docs), Path(questions)) for name, docs, questions in args.extra]
    if not specs:
        print(f"no corpus has a {args.split} question file", file=sys.stderr)
        return 1
    embedder = MiniLMEmbedder()
    runs = [CorpusRun(spec, args.work_dir, embedder, log=_log) for spec in specs]
    variants = all_variants()
    if not any(run.has_sections for run in runs):
        variants = [v for v in variants if v.dense != "title_section"]  # same text as "stored" then
    if args.variants:
        variants = [v for v in variants if any(part in v.name for part in args.variants)]
    rows = evaluate(runs, variants, args.k, args.seats)
    if args.sort:
        rows.sort(key=lambda r: (-r["min_hit@1"], -r["min_mrr"]))
    print(format_rows(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
