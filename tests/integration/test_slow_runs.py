"""The long runs of issue 16 (`make test-slow`): fuzz, load, slowloris and a Chroma kill -9 under
load, each against real servers, each printing its counts. Nothing here asserts a duration.
"""

from __future__ import annotations

import shutil
import socket
import statistics
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode

from rag.api import create_app
from tests.support.http import ServeProcess, UvicornThread, derive
from tests.support.servers import ChromaServer, free_port

pytestmark = pytest.mark.slow

QUESTIONS = [
    "How many Chinese were killed in the Karachi airport bombing?",
    "Who claimed responsibility for the Karachi airport attack?",
    "What is the recipe for banana bread?",
    "What joint security plan did China urge?",
]
FUZZ_CASES = 1_200
LOAD_REQUESTS = 2_000
LOAD_CLIENTS = 16
SLOWLORIS_CONNECTIONS = 600


@pytest.fixture(scope="module")
def served(seeded_settings, engine) -> Iterator[UvicornThread]:
    cfg = derive(seeded_settings, rate_limit_per_minute=0, http_header_timeout_s=2.0, http_body_timeout_s=2.0)
    with UvicornThread(create_app(cfg, engine=engine), settings=cfg) as server:
        yield server


def test_fuzz_over_a_thousand_cases_never_gets_a_server_error(served):
    api_schema = schemathesis.openapi.from_url(f"{served.base_url}/openapi.json")
    cases = st.one_of(
        api_schema.as_strategy(generation_mode=GenerationMode.POSITIVE),
        api_schema.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )
    statuses: Counter[int] = Counter()
    per_route: Counter[str] = Counter()

    @given(case=cases)
    @settings(
        max_examples=FUZZ_CASES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None
    )
    def fuzz(case) -> None:
        response = case.call(base_url=served.base_url, timeout=30)
        statuses[response.status_code] += 1
        per_route[f"{case.method} {case.path}"] += 1
        assert response.status_code < 500, f"{case.method} {case.path} -> {response.status_code}: {response.text[:300]}"
        case.validate_response(response, checks=[not_a_server_error])
        assert "Traceback" not in response.text

    fuzz()
    total = sum(statuses.values())
    print(f"\nfuzz: {total} cases, statuses {dict(sorted(statuses.items()))}, routes {dict(per_route)}")
    assert total >= 1_000
    assert not [s for s in statuses if s >= 500]


def test_load_of_two_thousand_asks_from_16_clients_has_no_errors(served):
    clients = [httpx.Client(base_url=served.base_url, timeout=60) for _ in range(LOAD_CLIENTS)]
    latencies: list[float] = []
    lock = threading.Lock()

    def one(i: int) -> int:
        start = time.perf_counter()
        resp = clients[i % LOAD_CLIENTS].post("/ask", json={"question": QUESTIONS[i % len(QUESTIONS)]})
        with lock:
            latencies.append(time.perf_counter() - start)
        return resp.status_code

    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(max_workers=LOAD_CLIENTS) as pool:
            statuses = Counter(pool.map(one, range(LOAD_REQUESTS)))
    finally:
        for c in clients:
            c.close()
    wall = time.perf_counter() - started
    ordered = sorted(latencies)
    print(
        f"\nload: {LOAD_REQUESTS} /ask at c={LOAD_CLIENTS}: statuses {dict(statuses)}, {LOAD_REQUESTS / wall:.1f} req/s, "
        f"p50 {statistics.median(ordered) * 1000:.0f} ms, p95 {ordered[int(len(ordered) * 0.95)] * 1000:.0f} ms"
    )
    assert statuses == Counter({200: LOAD_REQUESTS})


def test_600_slowloris_connections_are_all_closed(served):
    socks = []
    for _ in range(SLOWLORIS_CONNECTIONS):
        sock = socket.create_connection(("127.0.0.1", served.port), timeout=60)
        sock.sendall(b"POST /ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-A: ")
        socks.append(sock)
    opened = time.monotonic()
    closed = timed_408 = 0
    for sock in socks:
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
            closed += 1
            timed_408 += data.startswith(b"HTTP/1.1 408")
        except TimeoutError:
            pass
        finally:
            sock.close()
    print(
        f"\nslowloris: {SLOWLORIS_CONNECTIONS} half-sent requests, {closed} closed by the server ({timed_408} with 408) "
        f"{time.monotonic() - opened:.1f} s after the last was opened"
    )
    assert closed == timed_408 == SLOWLORIS_CONNECTIONS
    assert httpx.post(f"{served.base_url}/ask", json={"question": QUESTIONS[0]}, timeout=60).status_code == 200


def test_chroma_kill_9_under_load_gives_clean_503s_and_recovers(seeded_dir: Path, seeded_settings, tmp_path: Path):
    data_dir = tmp_path / "data"
    shutil.copytree(seeded_dir, data_dir)
    chroma = ChromaServer(data_dir / "chroma", port=free_port()).start()
    cfg = derive(
        seeded_settings, data_dir=data_dir, chroma_host="127.0.0.1", chroma_port=chroma.port, rate_limit_per_minute=0
    )
    statuses: Counter[int] = Counter()
    bodies_ok = True
    stop = threading.Event()

    def hammer(client: httpx.Client) -> None:
        nonlocal bodies_ok
        i = 0
        while not stop.is_set():
            resp = client.post("/ask", json={"question": QUESTIONS[i % len(QUESTIONS)]})
            statuses[resp.status_code] += 1
            if resp.status_code != 200:
                body = resp.json()
                bodies_ok &= body.get("error") == "unavailable" and "Traceback" not in resp.text
            i += 1

    try:
        with ServeProcess(cfg, tmp_path / "serve.log") as api:
            clients = [httpx.Client(base_url=api.base_url, timeout=60) for _ in range(4)]
            threads = [threading.Thread(target=hammer, args=(c,), daemon=True) for c in clients]
            for t in threads:
                t.start()
            time.sleep(3)
            chroma.proc.kill()  # kill -9, mid-load
            chroma.proc.wait()
            chroma.proc = None
            time.sleep(3)
            restarted = time.monotonic()
            chroma.start()
            recovered = None
            while time.monotonic() - restarted < 60:
                if httpx.post(f"{api.base_url}/ask", json={"question": QUESTIONS[0]}, timeout=30).status_code == 200:
                    recovered = time.monotonic() - restarted
                    break
                time.sleep(0.1)
            time.sleep(2)
            stop.set()
            for t in threads:
                t.join(60)
            for c in clients:
                c.close()
    finally:
        chroma.stop()
    log = (tmp_path / "serve.log").read_text()
    print(
        f"\nchroma kill -9 under load: statuses {dict(statuses)}, recovery "
        f"{'none' if recovered is None else f'{recovered:.1f} s'} after restart"
    )
    assert recovered is not None
    assert set(statuses) <= {200, 503} and statuses[503] > 0 and statuses[200] > 0
    assert bodies_ok and "Traceback" not in log
