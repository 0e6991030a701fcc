"""Concurrency and fuzzing against a real uvicorn server: 200 requests from 16 clients give the same
answers as sequential calls; schema-driven fuzzing (schemathesis) never gets a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode

from rag.api import create_app
from tests.support.http import UvicornThread, derive

QUESTIONS = [
    "How many Chinese were killed in the Karachi airport bombing?",
    "Who claimed responsibility for the Karachi airport attack?",
    "What did China's Ministry of State Security say after the attack?",
    "What is the Majeed Brigade?",
    "What did Beijing ask Pakistan to allow?",
    "Which working group discussed CPEC safety?",
    "What is the recipe for banana bread?",
    "What joint security plan did China urge?",
]


@pytest.fixture(scope="module")
def server(seeded_settings, engine) -> Iterator[UvicornThread]:
    with UvicornThread(create_app(derive(seeded_settings, rate_limit_per_minute=0), engine=engine)) as srv:
        yield srv


def _comparable(body: dict) -> dict:
    """The answer without what legitimately differs per call (timings, request id)."""
    return {k: v for k, v in body.items() if k not in {"timings_ms", "request_id"}}


def test_200_requests_from_16_clients_match_sequential_answers(server):
    with httpx.Client(base_url=server.base_url, timeout=60) as client:
        sequential = {}
        for q in QUESTIONS:
            resp = client.post("/ask", json={"question": q})
            assert resp.status_code == 200
            sequential[q] = _comparable(resp.json())
    assert any(not body["abstained"] for body in sequential.values())

    jobs = [QUESTIONS[i % len(QUESTIONS)] for i in range(200)]
    clients = [httpx.Client(base_url=server.base_url, timeout=60) for _ in range(16)]

    def run(i: int) -> tuple[str, int, dict]:
        q = jobs[i]
        resp = clients[i % 16].post("/ask", json={"question": q}, headers={"X-Request-ID": f"load-{i}"})
        assert resp.headers["x-request-id"] == f"load-{i}"
        return q, resp.status_code, resp.json()

    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            results = list(pool.map(run, range(200)))
    finally:
        for c in clients:
            c.close()

    assert [status for _, status, _ in results] == [200] * 200
    mismatches = [q for q, _, body in results if _comparable(body) != sequential[q]]
    assert mismatches == []
    assert sorted(body["request_id"] for _, _, body in results) == sorted(f"load-{i}" for i in range(200))


def test_fuzzed_requests_never_get_a_server_error(server):
    """Positive and negative cases generated from /openapi.json (schemathesis strategies driven by
    hypothesis, bounded): any 4xx is fine, a 5xx or a stack trace never is."""
    api_schema = schemathesis.openapi.from_url(f"{server.base_url}/openapi.json")
    cases = st.one_of(
        api_schema.as_strategy(generation_mode=GenerationMode.POSITIVE),
        api_schema.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )
    seen: dict[tuple[str, str], int] = {}

    @given(case=cases)
    @settings(max_examples=180, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
    def fuzz(case) -> None:
        response = case.call(base_url=server.base_url, timeout=30)
        seen[(case.method, case.path)] = seen.get((case.method, case.path), 0) + 1
        assert response.status_code < 500, f"{case.method} {case.path} -> {response.status_code}: {response.text[:300]}"
        case.validate_response(response, checks=[not_a_server_error])
        assert response.headers.get("x-request-id")
        assert "Traceback" not in response.text

    fuzz()
    assert ("POST", "/ask") in seen and seen[("POST", "/ask")] >= 10
    assert seen.get(("POST", "/feedback"), 0) >= 5 and seen.get(("GET", "/passages/{chunk_id}"), 0) >= 5, seen
