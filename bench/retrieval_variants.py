"""Retrieval variants on the dev splits, in one process: which fusion, fields and dense text win.

Every corpus of the split (the seeds, each tests/eval/corpora/<name>/, and any --extra corpus) is
ingested once with the real pipeline; every question's dense and BM25 candidates are computed once
per scheme (bench.retrieval_quality), and each variant only fuses them (rag.fusion, the code answers
use). Variants: BM25-only, BM25F (title and section weighted), vector-only, the stored dense text
(rag.store_format.chunk_embedding_text) against re-embedded alternatives (title+body, the default
before round 3; title+section+body; section+body), RRF / min-max / z-score fusion at two dense weights,
and document aggregation (a document's best chunk, or the sum of its best two), in every combination.

    python -m bench.retrieval_variants --split dev --sort
    python -m bench.retrieval_variants --split dev --corpus seeds --k 5 8 --seats 0 2 4
    python -m bench.retrieval_variants --extra pydocs DOCS_DIR tests/eval/dev_pydocs.yaml

Tune on dev only: the test split is for `citebot bench` to report.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.retrieval_quality import (
    BASELINES,
    EVIDENCE_POOLS,
    CorpusRun,
    CorpusSpec,
    Variant,
    corpus_specs,
    score_variant,
)
from rag.fusion import DocAggregation, FusionMethod

REEMBEDDED = ("title_body", "title_section", "section_body")  # dense texts re-embedded next to "stored"
SECTION_SCHEMES = ("title_section", "section_body")  # the same as title_body / stored when no chunk has a section


def all_variants() -> list[Variant]:
    out = list(BASELINES)
    out.append(Variant("bm25f-only", dense=None, keyword="bm25f"))
    out += [Variant(f"vector-{dense}-only", dense=dense, keyword=None) for dense in REEMBEDDED]
    for method in FusionMethod:
        for dense_weight in (0.6, 1.0):
            for keyword in ("title_body", "bm25f"):
                for dense in ("stored", *REEMBEDDED):
                    for aggregation in DocAggregation:
                        name = f"{method.value} d{dense_weight:g} {keyword}/{dense} {aggregation.value}"
                        out.append(Variant(name, dense, keyword, dense_weight, 1.0, method, aggregation))
    return out


def evidence_variants() -> list[Variant]:
    """Sentence evidence (rag.evidence) on top of the fusion before round 8 (minmax, equal weights, BM25F)."""
    base = dict(dense="stored", keyword="bm25f", method=FusionMethod.minmax)
    grids: list[tuple[str, dict]] = [("before round 8", {})]
    grids += [(f"+sentence {w:g}", {"evidence": (("sentence", w),)}) for w in (0.5, 1.0, 2.0)]
    grids.append(("sentence instead of chunk vector", {"dense": None, "evidence": (("sentence", 1.0),)}))
    grids += [(f"+typed_main {w:g}", {"evidence": (("typed_main", w),)}) for w in (0.25, 0.35, 0.5, 0.75, 1.0)]
    grids += [(f"+typed_all {w:g}", {"evidence": (("typed_all", w),)}) for w in (0.35, 0.5, 0.75)]
    grids += [(f"+typed_bin {w:g}", {"evidence": (("typed_bin", w),)}) for w in (0.1, 0.25, 0.5)]
    grids += [
        (f"+{name} 0.5", {"evidence": ((name, 0.5),)}) for name in ["typed", *(f"typed@{n}" for n in EVIDENCE_POOLS)]
    ]
    grids += [
        (f"+sentence {s:g} +typed_main {t:g}", {"evidence": (("sentence", s), ("typed_main", t))})
        for s in (0.25, 0.5, 1.0)
        for t in (0.25, 0.5, 0.75)
    ]
    grids += [(f"+sentence {s:g} +typed 0.5", {"evidence": (("sentence", s), ("typed", 0.5))}) for s in (0.25, 0.5)]
    grids.append(("section_body vectors", {"dense": "section_body"}))
    grids.append(
        ("section_body vectors +typed 0.5", {"dense": "section_body", "evidence": (("typed_section_body", 0.5),)})
    )
    return [Variant(f"ev {name}", **{**base, **extra}) for name, extra in grids]


def evaluate(
    runs: Sequence[CorpusRun], variants: Sequence[Variant], ks: Sequence[int], seats: Sequence[int]
) -> list[dict]:
    """One row per (variant, k, seats): each corpus's Score, and the worst corpus's hit@1 and MRR."""
    dense = sorted({v.dense for v in variants if v.dense})
    keyword = sorted({v.keyword for v in variants if v.keyword})
    with_evidence = any(v.evidence for v in variants)
    cases = {run.spec.name: run.cases(dense, keyword, with_evidence=with_evidence) for run in runs}
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
    parser.add_argument("--candidates", type=int, help="from each retriever before fusion (default: rag.retrieval's)")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/citebot-retrieval-quality"))
    parser.add_argument("--sort", action="store_true", help="best worst-corpus hit@1, then MRR, first")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    parser.add_argument("--evidence", action="store_true", help="the sentence-evidence grid (rag.evidence) instead")
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
    runs = [CorpusRun(spec, args.work_dir, embedder, candidates=args.candidates, log=_log) for spec in specs]
    variants = evidence_variants() if args.evidence else all_variants()
    if not any(run.has_sections for run in runs):
        variants = [v for v in variants if v.dense not in SECTION_SCHEMES]  # same text as "stored" then
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
