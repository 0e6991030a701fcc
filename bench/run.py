"""`citebot bench`: speed and memory, printed as numbers and ratios against baselines run in the same process.

Nothing here is asserted: benchmarks inform, tests gate. Only 127.0.0.1 traffic (the HTTP part).
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.scale import bench_retrieval_scale
from rag.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
QUESTIONS = ROOT / "tests" / "eval" / "questions.yaml"


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def _questions() -> list[str]:
    import yaml

    data = yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))
    return [q["question"] for q in data["questions"]]


def bench_ask(tmp: Path, repeats: int) -> tuple[dict, object]:
    from ingest.pipeline import ingest_paths
    from rag.engine import build_engine

    settings = Settings(_env_file=None, data_dir=tmp / "seeds-index")
    ingest_paths(settings, [SEEDS], progress=False)
    engine = build_engine(settings)
    questions = _questions()
    ours = _time_calls(engine.ask, questions, repeats)
    baseline = _baseline_ask_ms(engine, questions, repeats)
    result = {
        "ask_questions": len(questions) * repeats,
        "ask_p50_ms": round(_pct(ours, 50), 2),
        "ask_p95_ms": round(_pct(ours, 95), 2),
        "baseline_ask_p50_ms": round(_pct(baseline, 50), 2),
        "baseline_ask_p95_ms": round(_pct(baseline, 95), 2),
        "ask_speedup_vs_baseline": round(_pct(baseline, 50) / _pct(ours, 50), 2),
    }
    return result, engine


def _baseline_ask_ms(engine, questions: list[str], repeats: int) -> list[float]:
    """Plain llama-index: VectorStoreIndex over the same Chroma collection and model + CitationQueryEngine.

    Its LLM is llama-index's MockLLM (no generation cost), so this is a lower bound of the baseline.
    """
    from llama_index.core import VectorStoreIndex
    from llama_index.core.llms import MockLLM
    from llama_index.core.query_engine import CitationQueryEngine

    from rag.embedding import as_llama_embedding

    embed_model = as_llama_embedding(engine.embedder)
    index = VectorStoreIndex.from_vector_store(engine.store.llama_vector_store(), embed_model=embed_model)
    query_engine = CitationQueryEngine.from_args(
        index, llm=MockLLM(max_tokens=64), similarity_top_k=engine.settings.top_k
    )
    return _time_calls(query_engine.query, questions, repeats)


def _time_calls(ask, questions: list[str], repeats: int) -> list[float]:
    """Milliseconds per call over the questions, `repeats` times, after warming caches on five of them."""
    for question in questions[:5]:
        ask(question)
    out = []
    for _ in range(repeats):
        for question in questions:
            t0 = time.perf_counter()
            ask(question)
            out.append((time.perf_counter() - t0) * 1000)
    return out


def bench_llm(tmp: Path, settings: Settings, repeats: int, limit: int | None = None) -> dict:
    """The `openai` generator, streamed as the API and Slack stream it: where the time goes.

    Per question: retrieval (embed + retrieve), the model's first token, the first verified sentence
    shown, and the verified answer (total). Also how much the verifier removed and how often the
    extractive fallback answered.
    """
    from ingest.pipeline import ingest_paths
    from rag.engine import build_engine
    from rag.schemas import Answer

    index = Settings(_env_file=None, data_dir=tmp / "llm-index")
    ingest_paths(index, [SEEDS], progress=False)
    engine = build_engine(settings.model_copy(update={"data_dir": index.data_dir}))
    questions = _questions()[:limit] if limit else _questions()
    rows: list[dict] = []
    for _ in range(repeats):
        for question in questions:
            answer = [item for item in engine.ask_stream(question) if isinstance(item, Answer)][-1]
            t = answer.timings_ms
            rows.append(
                {
                    "retrieval": t.get("embed_ms", 0) + t.get("retrieve_ms", 0),
                    "first_token": t.get("first_token_ms"),
                    "first_sentence": t.get("first_sentence_ms"),
                    "total": t.get("total_ms", 0),
                    "degraded": answer.degraded,
                    "abstained": answer.abstained,
                    "support": answer.support,
                    "removed": answer.claims_removed,
                    "repairs": answer.citation_repairs,
                }
            )

    def pct(key: str, q: float) -> float:
        return round(_pct([r[key] for r in rows if r[key] is not None], q), 2)

    out = {"llm_model": settings.openai_model, "llm_questions": len(rows)}
    for key in ("retrieval", "first_token", "first_sentence", "total"):
        out[f"llm_{key}_p50_ms"], out[f"llm_{key}_p95_ms"] = pct(key, 50), pct(key, 95)
    out["llm_degraded_share"] = round(sum(r["degraded"] for r in rows) / max(len(rows), 1), 3)
    out["llm_abstained_share"] = round(sum(r["abstained"] for r in rows) / max(len(rows), 1), 3)
    answered = [r["support"] for r in rows if not r["abstained"] and not r["degraded"]]
    out["llm_mean_support"] = round(float(np.mean(answered)), 3) if answered else None
    out["llm_claims_removed"] = sum(r["removed"] for r in rows)
    out["llm_citation_repairs"] = sum(r["repairs"] for r in rows)
    return out


def bench_quality(tmp: Path) -> dict:
    """Retrieval hit@1 / MRR on the test splits: the default fusion next to BM25-only and vector-only."""
    from bench.retrieval_quality import bench_quality as run_quality
    from rag.embedding import MiniLMEmbedder

    return run_quality("test", tmp / "quality", MiniLMEmbedder(), log=_log)


def run_bench_cli(settings: Settings, args) -> int:
    quick = bool(getattr(args, "quick", False))
    if getattr(args, "generator", None) == "openai":
        return _run_llm_bench(settings, args, quick)
    results: dict = {"quick": quick, "note": "retrieval_p50_ms_at uses synthetic random embeddings and texts"}
    with tempfile.TemporaryDirectory(prefix="citebot-bench-") as tmp_name:
        tmp = Path(tmp_name)
        _log("ingest of the PostgreSQL pages (CPU s, floor, llama-index baseline, unchanged re-ingest) ...")
        from bench.ingest import bench_corpus_ingest

        results["ingest"] = bench_corpus_ingest(tmp, baseline=not quick)
        _log("ask ...")
        ask, engine = bench_ask(tmp, repeats=1 if quick else 3)
        results.update(ask)
        _log("retrieval at scale ...")
        scale = bench_retrieval_scale(tmp, [1000, 10000] if quick else [1000, 10000, 100000])
        results["retrieval_p50_ms_at"] = {size: v["p50_ms"] for size, v in scale.items()}
        results["retrieval_at"] = scale
        _log("retrieval quality (test splits) ...")
        results["retrieval_quality_test"] = bench_quality(tmp)
        try:
            from bench.http_load import run_http_bench
        except ImportError:
            run_http_bench = None
        if run_http_bench is not None:
            _log("http load ...")
            results["http"] = run_http_bench(engine.settings, engine, quick)
        _log("embedder options and CLI ask ...")
        from bench.embedder import run as run_embedder_bench

        results["embedder_and_cli"] = run_embedder_bench(engine.settings, quick)
    results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    if getattr(args, "json", False):
        print(json.dumps(results, indent=2))
    else:
        _print_table(results)
    return 0


def _run_llm_bench(settings: Settings, args, quick: bool) -> int:
    from rag.settings import GeneratorKind

    if not settings.openai_api_key and not settings.openai_base_url:
        print(
            "bench --generator openai needs OPENAI_API_KEY or OPENAI_BASE_URL (an OpenAI-compatible server)",
            file=sys.stderr,
        )
        return 2
    settings = settings.model_copy(update={"generator": GeneratorKind.openai})
    with tempfile.TemporaryDirectory(prefix="citebot-bench-") as tmp_name:
        _log(f"openai generator ({settings.openai_model}) ...")
        results = {"quick": quick, **bench_llm(Path(tmp_name), settings, repeats=1, limit=10 if quick else None)}
    if getattr(args, "json", False):
        print(json.dumps(results, indent=2))
    else:
        _print_table(results)
    return 0


def _log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def _print_table(results: dict) -> None:
    flat = {k: v for k, v in results.items() if not isinstance(v, dict)}
    width = max(len(k) for k in flat)
    for key, value in flat.items():
        print(f"{key:<{width}}  {value}")
    for key in ("ingest", "retrieval_at", "retrieval_quality_test", "http", "embedder_and_cli"):
        if key in results:
            print(f"{key}:")
            for sub, value in results[key].items():
                print(f"  {sub}: {value}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run_bench_cli(Settings(), type("A", (), {"json": "--json" in sys.argv, "quick": "--quick" in sys.argv})))
