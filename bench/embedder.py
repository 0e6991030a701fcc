"""The embedding floor and the CLI: what the MiniLM embedder costs per option, and what `citebot ask` costs.

Embedder numbers are CPU seconds (the process's, all threads: `time.process_time`), so that other
processes on the same cores distort them less than wall time; each option is measured `repeats`
times, round-robin, and reported as median with its spread (min-max). Every option is compared to
today's configuration (`rag.embedding.TODAY`) measured in the same run, and its vectors are checked
against today's (minimum cosine over every text).

CLI numbers are wall seconds of a fresh `citebot ask` process (a cold shell): in-process against
the index, and through a running `citebot serve` (CITEBOT_URL). Only 127.0.0.1 traffic.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from rag.embedding import DEFAULT_OPTIONS, TODAY, RuntimeOptions
from rag.settings import Settings, settings_env

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
CHUNK_PIECES = 230  # the ingest's chunk size in word pieces
CLI_QUESTION = "Who claimed the Karachi airport attack?"


def options_to_measure(quick: bool) -> dict[str, RuntimeOptions]:
    """Today's configuration first (the baseline of every ratio), then one change at a time."""
    options = {
        "today": TODAY,
        "default": DEFAULT_OPTIONS,
        "threads=1": replace(TODAY, intra_op_threads=1),
        "no-spinning": replace(TODAY, spinning=False),
        "graph=disable": replace(TODAY, graph_optimization="disable"),
        "graph=basic": replace(TODAY, graph_optimization="basic"),
        "graph=extended": replace(TODAY, graph_optimization="extended"),
        "parallel-execution": replace(TODAY, parallel_execution=True, inter_op_threads=2),
        "no-arena-no-pattern": replace(TODAY, mem_arena=False, mem_pattern=False),
        "batch=1": replace(TODAY, batch_size=1),
        "batch=4": replace(TODAY, batch_size=4),
        "batch=16": replace(TODAY, batch_size=16),
        "batch=32": replace(TODAY, batch_size=32),
        "budget=1024": replace(TODAY, batch_tokens=1024),
        "budget=2048": replace(TODAY, batch_tokens=2048),
        "budget=4096": replace(TODAY, batch_tokens=4096),
        "no-spinning+graph=basic": replace(TODAY, spinning=False, graph_optimization="basic"),
        "no-spinning+budget=1024": replace(TODAY, spinning=False, batch_tokens=1024),
        "no-spinning+budget=2048": replace(TODAY, spinning=False, batch_tokens=2048),
        "threads=1+budget=1024": replace(TODAY, intra_op_threads=1, batch_tokens=1024),
    }
    if quick:
        keep = ("today", "default", "threads=1", "no-spinning", "graph=disable", "budget=1024")
        options = {k: v for k, v in options.items() if k in keep}
    return options


def seed_workload() -> tuple[list[str], list[str]]:
    """Chunks of ~230 word pieces cut from the seed articles (as the ingest cuts them), and their sentences."""
    from tokenizers import Tokenizer

    from rag.text import split_sentences

    tokenizer = Tokenizer.from_file(str(ROOT / "rag" / "resources" / "minilm_tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    chunks: list[str] = []
    for file in sorted(SEEDS.glob("*.txt")):
        text = file.read_text(encoding="utf-8")
        offsets = tokenizer.encode(text, add_special_tokens=False).offsets
        for start in range(0, len(offsets), CHUNK_PIECES):
            window = offsets[start : start + CHUNK_PIECES]
            chunks.append(text[window[0][0] : window[-1][1]])
    sentences = [chunk[lo:hi] for chunk in chunks for lo, hi in split_sentences(chunk)]
    return chunks, sentences


@dataclass
class _Runs:
    load_cpu: list[float]
    chunk_cpu: list[float]
    chunk_wall: list[float]
    mixed_cpu: list[float]
    vectors: np.ndarray | None = None


def bench_embedder(quick: bool = False, repeats: int | None = None, only: list[str] | None = None) -> dict:
    from rag.embedding import MiniLMEmbedder

    chunks, sentences = seed_workload()
    mixed = chunks + sentences  # what one ingest call embeds today: a group's chunks and their sentences
    options = options_to_measure(quick)
    if only:
        options = {k: v for k, v in options.items() if k == "today" or k in only}
    repeats = repeats or (1 if quick else 3)
    counter = MiniLMEmbedder(options=TODAY)
    chunk_pieces = sum(counter.count_tokens(t) for t in chunks)
    mixed_pieces = chunk_pieces + sum(counter.count_tokens(t) for t in sentences)
    runs = {name: _Runs([], [], [], []) for name in options}
    for _ in range(repeats):
        for name, opts in options.items():  # round-robin: a noisy minute hits every option alike
            cpu = time.process_time()
            embedder = MiniLMEmbedder(options=opts)
            runs[name].load_cpu.append(time.process_time() - cpu)
            embedder.embed_documents(chunks[:2])  # first run allocates; not part of the floor
            cpu, wall = time.process_time(), time.perf_counter()
            vectors = embedder.embed_documents(chunks)
            runs[name].chunk_cpu.append(time.process_time() - cpu)
            runs[name].chunk_wall.append(time.perf_counter() - wall)
            cpu = time.process_time()
            vectors_mixed = embedder.embed_documents(mixed)
            runs[name].mixed_cpu.append(time.process_time() - cpu)
            runs[name].vectors = np.concatenate([vectors, vectors_mixed])
    base = runs["today"]
    base_cpu = statistics.median(base.chunk_cpu)
    table = {}
    for name, r in runs.items():
        cpu = statistics.median(r.chunk_cpu)
        table[name] = {
            "chunks_per_s": round(len(chunks) / statistics.median(r.chunk_wall), 2),
            "cpu_s_per_1k_pieces": round(1000 * cpu / chunk_pieces, 4),
            "cpu_spread": [
                round(1000 * min(r.chunk_cpu) / chunk_pieces, 4),
                round(1000 * max(r.chunk_cpu) / chunk_pieces, 4),
            ],
            "mixed_cpu_s_per_1k_pieces": round(1000 * statistics.median(r.mixed_cpu) / mixed_pieces, 4),
            "load_cpu_ms": round(1000 * statistics.median(r.load_cpu), 1),
            "cpu_ratio_vs_today": round(cpu / base_cpu, 3),
            "min_cosine_vs_today": round(float(np.min(np.sum(r.vectors * base.vectors, axis=1))), 6),
        }
    return {
        "embedder_workload": {
            "chunks": len(chunks),
            "chunk_pieces": chunk_pieces,
            "sentences": len(sentences),
            "mixed_pieces": mixed_pieces,
            "repeats": repeats,
        },
        "embedder_options": table,
    }


# -- the CLI ---------------------------------------------------------------------------------------


def _citebot() -> str:
    return str(Path(sys.executable).parent / "citebot")


def _cli_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CITEBOT_", "OPENAI_", "SLACK_"))}
    env.update(settings_env(settings), ANONYMIZED_TELEMETRY="False", **extra)
    return env


def _ask_wall(env: dict[str, str], repeats: int) -> list[float]:
    return [_ask_once(env)[0] for _ in range(repeats)]


def _ask_once(env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds (the process and its children) of one cold `citebot ask`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([_citebot(), "ask", CLI_QUESTION], env=env, capture_output=True, text=True, timeout=120)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"citebot ask failed: {proc.stderr.strip()[-500:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def bench_cli_parse(settings: Settings, repeats: int = 10) -> dict:
    """Cold `citebot ask`, the question parsed in a forked child (default) against in-process
    (CITEBOT_ASK_PARSE_IN_CHILD=false, the baseline), alternating so that both see the same load."""
    runs: dict[str, list[tuple[float, float]]] = {"child": [], "in_process": []}
    loads = []
    for _ in range(repeats):
        for name, flag in (("child", "true"), ("in_process", "false")):
            runs[name].append(_ask_once(_cli_env(settings, CITEBOT_ASK_PARSE_IN_CHILD=flag)))
        loads.append(os.getloadavg()[0])
    out: dict = {"cli_ask_runs": repeats, "cli_ask_load_avg": round(statistics.median(loads), 1)}
    for name, rows in runs.items():
        out[f"cli_ask_{name}_wall_s"] = _summary([wall for wall, _ in rows])
        out[f"cli_ask_{name}_cpu_s"] = round(statistics.median(cpu for _, cpu in rows), 2)
    return out


def bench_cli(settings: Settings, quick: bool = False) -> dict:
    """Wall seconds of `citebot ask` from a fresh process: in-process, then through a running `citebot serve`."""
    import socket
    import tempfile

    from bench.http_load import _rss_mb, _start_server, _stop

    repeats = 2 if quick else 5
    parse = bench_cli_parse(settings, repeats=2 if quick else 10)
    in_process = _ask_wall(_cli_env(settings), repeats)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="citebot-bench-cli-") as logs:
        t0 = time.perf_counter()
        server = _start_server(settings, settings.data_dir, port, Path(logs) / "serve.log")
        serve_ready_s = time.perf_counter() - t0
        try:
            env = _cli_env(settings, CITEBOT_URL=f"http://127.0.0.1:{port}")
            via_server = _ask_wall(env, repeats)
            serve_rss_mb = _rss_mb(server.pid)  # after start-up and a few answers: model, index, spaCy loaded
        finally:
            _stop(server)
    return {
        **parse,
        "cli_ask_wall_s": _summary(in_process),
        "cli_ask_via_server_wall_s": _summary(via_server),
        "cli_ask_speedup_via_server": round(statistics.median(in_process) / statistics.median(via_server), 2),
        "serve_ready_s": round(serve_ready_s, 2),
        "serve_rss_after_load_mb": serve_rss_mb,
    }


def _summary(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3), "max": round(max(values), 3)}


def run(settings: Settings, quick: bool = False) -> dict:
    """The CLI's wall time (against `settings`' seeded index) and the embedder's options, one line each."""
    out: dict = bench_cli(settings, quick)
    embedder = bench_embedder(quick)
    out["embedder_workload"] = embedder["embedder_workload"]
    for name, row in embedder["embedder_options"].items():
        out[f"embedder {name}"] = row
    return out


if __name__ == "__main__":  # pragma: no cover
    import json

    names = [a for a in sys.argv[1:] if not a.startswith("--")]
    print(json.dumps(bench_embedder(quick="--quick" in sys.argv, repeats=5 if names else None, only=names), indent=2))
