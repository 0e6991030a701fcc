"""HTTP load on POST /ask: `citebot serve` in a subprocess, a small asyncio HTTP/1.1 keep-alive load
generator here (cheap per request, so it steals little CPU from the server on a 2-core machine).

Reports req/s, p50/p95/p99 and errors at each concurrency, `http_overhead_ms` = HTTP p50 at
concurrency 1 minus in-process `Engine.ask` p50 over the same questions in the same run, and the
server's RSS before and after a soak of many requests.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from rag.settings import settings_env

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "tests" / "eval" / "questions.yaml"
FALLBACK_QUESTIONS = [
    "How many Chinese were killed in the Karachi airport bombing?",
    "Who claimed responsibility for the Karachi airport attack?",
    "What did Beijing ask Pakistan to allow?",
    "What is the Majeed Brigade?",
]


def _questions(limit: int = 24) -> list[str]:
    try:
        import yaml

        data = yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))
        found = [q["question"] for q in data["questions"] if isinstance(q.get("question"), str)]
        return found[:limit] or FALLBACK_QUESTIONS
    except (OSError, KeyError, TypeError, ImportError):
        return FALLBACK_QUESTIONS


def _pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 2) if values else float("nan")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


# -- the load generator ------------------------------------------------------------------------------


def _request_bytes(port: int, question: str, accept_sse: bool = False) -> bytes:
    body = json.dumps({"question": question}).encode()
    head = (
        f"POST /ask HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Accept: {'text/event-stream' if accept_sse else 'application/json'}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = None
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if length is not None:
        return status, await reader.readexactly(length)
    if chunked:
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                return status, body
            body += chunk[:-2]
    return status, await reader.read()


async def _client(
    port: int, requests: list[bytes], stop_at: float | None, count: int | None, out: dict[str, list]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = 0
    try:
        while (stop_at is None or time.perf_counter() < stop_at) and (count is None or i < count):
            payload = requests[i % len(requests)]
            i += 1
            t0 = time.perf_counter()
            try:
                writer.write(payload)
                status, body = await _read_response(reader)
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                out["errors"].append(type(exc).__name__)
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            elapsed = (time.perf_counter() - t0) * 1000
            if status != 200:
                out["errors"].append(str(status))
            else:
                out["latencies"].append(elapsed)
                if "bodies" in out:
                    out["bodies"].append((elapsed, body))
    finally:
        writer.close()


async def _load(
    port: int,
    requests: list[bytes],
    concurrency: int,
    seconds: float | None = None,
    total: int | None = None,
    keep_bodies: bool = False,
) -> dict[str, Any]:
    out: dict[str, list] = {"latencies": [], "errors": []}
    if keep_bodies:
        out["bodies"] = []
    stop_at = time.perf_counter() + seconds if seconds else None
    per_client = None if total is None else -(-total // concurrency)
    # each client starts on a different question so the mix is the same at every concurrency
    started = time.perf_counter()
    await asyncio.gather(
        *(
            _client(port, requests[k % len(requests) :] + requests[: k % len(requests)], stop_at, per_client, out)
            for k in range(concurrency)
        )
    )
    wall = time.perf_counter() - started
    lat = out["latencies"]
    result = {
        "concurrency": concurrency,
        "requests": len(lat) + len(out["errors"]),
        "seconds": round(wall, 2),
        "req_per_s": round(len(lat) / wall, 1) if wall else 0.0,
        "p50_ms": _pct(lat, 50),
        "p95_ms": _pct(lat, 95),
        "p99_ms": _pct(lat, 99),
        "errors": len(out["errors"]),
    }
    if out["errors"]:
        result["error_kinds"] = sorted(set(out["errors"]))[:5]
    if keep_bodies:
        result["_bodies"] = out["bodies"]
    return result


# -- the benchmark -----------------------------------------------------------------------------------


def _paired(engine: Any, port: int, questions: list[str], rounds: int) -> dict[str, float]:
    """Alternate in-process `Engine.ask` and one HTTP request for the same question, so that both
    see the same machine load (the box is shared); return both p50s."""
    local: list[float] = []
    remote: list[float] = []
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        stream = sock.makefile("rb")
        for _ in range(rounds):
            for q in questions:
                payload = _request_bytes(port, q)
                t0 = time.perf_counter()
                engine.ask(q)
                local.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                sock.sendall(payload)
                status, _ = _read_blocking(stream)
                remote.append((time.perf_counter() - t0) * 1000)
                if status != 200:
                    raise RuntimeError(f"/ask answered {status} during the paired measurement")
    return {
        "paired_requests": len(remote),
        "in_process_ask_p50_ms": _pct(local, 50),
        "in_process_ask_p95_ms": _pct(local, 95),
        "paired_http_p50_ms": _pct(remote, 50),
        "paired_http_p95_ms": _pct(remote, 95),
    }


def _read_blocking(stream: Any) -> tuple[int, bytes]:
    status = int(stream.readline().split(b" ", 2)[1])
    length = 0
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    return status, stream.read(length)


def _start_server(settings: Any, data_dir: Path, port: int, log_path: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CITEBOT_", "OPENAI_", "SLACK_"))}
    env.update(settings_env(settings))
    env.update(
        {
            "CITEBOT_DATA_DIR": str(data_dir),
            "CITEBOT_RATE_LIMIT_PER_MINUTE": "0",
            "CITEBOT_API_KEYS": "",
            "CITEBOT_LOG_QUESTIONS": "false",
            "ANONYMIZED_TELEMETRY": "False",
        }
    )
    cmd = [sys.executable, "-m", "rag.cli", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    proc = subprocess.Popen(cmd, stdout=log_path.open("ab"), stderr=subprocess.STDOUT, env=env, cwd=str(ROOT))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"citebot serve exited with {proc.returncode}; see {log_path}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    return proc
        except OSError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise TimeoutError(f"citebot serve did not become ready; see {log_path}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_http_bench(settings: Any, engine: Any, quick: bool) -> dict[str, Any]:
    """HTTP load at concurrency 1, 8 and 32 on a `citebot serve` subprocess over a copy of the index."""
    seconds = 3.0 if quick else 10.0
    soak_requests = 1000 if quick else 10_000
    questions = _questions()
    results: dict[str, Any] = {"cpu_count": os.cpu_count(), "seconds_per_level": seconds}

    with tempfile.TemporaryDirectory(prefix="citebot-http-bench-") as tmp_name:
        tmp = Path(tmp_name)
        data_dir = tmp / "data"
        shutil.copytree(settings.data_dir, data_dir)  # the server gets its own copy: no shared SQLite
        port = _free_port()
        proc = _start_server(settings, data_dir, port, tmp / "serve.log")
        results["rss_at_start_mb"] = _rss_mb(proc.pid)
        try:
            requests = [_request_bytes(port, q) for q in questions]
            asyncio.run(_load(port, requests, 4, total=len(questions) * 4))  # warm-up
            for q in questions:
                engine.ask(q)
            paired = _paired(engine, port, questions, rounds=5 if quick else 10)
            results.update(paired)
            for level in (1, 8, 32):
                run = asyncio.run(_load(port, requests, level, seconds=seconds, keep_bodies=level == 1))
                if level == 1:
                    bodies = run.pop("_bodies")
                    server_side = [lat - json.loads(b)["timings_ms"]["total_ms"] for lat, b in bodies]
                    results["http_minus_engine_total_p50_ms"] = _pct(server_side, 50)
                results[f"c{level}"] = run
            c1 = results["c1"]
            results["http_p50_ms_c1"] = c1["p50_ms"]
            results["http_overhead_ms"] = round(paired["paired_http_p50_ms"] - paired["in_process_ask_p50_ms"], 2)
            rss_before = _rss_mb(proc.pid)
            soak = asyncio.run(_load(port, requests, 8, total=soak_requests))
            rss_after = _rss_mb(proc.pid)
            results["soak"] = {
                "requests": soak["requests"],
                "errors": soak["errors"],
                "req_per_s": soak["req_per_s"],
                "rss_before_mb": rss_before,
                "rss_after_mb": rss_after,
                "rss_growth_mb": round(rss_after - rss_before, 1),
            }
        finally:
            _stop(proc)
    results["targets"] = {
        "c8_req_per_s>=50": results["c8"]["req_per_s"] >= 50 and results["c8"]["errors"] == 0,
        "http_overhead_ms<=3": results["http_overhead_ms"] <= 3,
    }
    return results


if __name__ == "__main__":  # pragma: no cover - `python -m bench.http_load [--quick]` on the configured index
    from rag.engine import build_engine
    from rag.settings import Settings

    s = Settings()
    print(json.dumps(run_http_bench(s, build_engine(s), "--quick" in sys.argv), indent=2))
