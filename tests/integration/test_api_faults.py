"""Faults behind the HTTP service: a real Chroma server stopped and restarted, and an LLM provider
(a local OpenAI-protocol server) that fails, rate-limits or hangs."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rag.schemas import Answer
from rag.service import build_app
from tests.support.http import ServeProcess, UvicornThread, derive
from tests.support.openai_server import Error, Hang, OpenAIServer, Reply
from tests.support.servers import ChromaServer, free_port

QUESTION = "How many Chinese were killed in the Karachi airport bombing?"


def _ask(client: httpx.Client, **headers: str) -> httpx.Response:
    return client.post("/ask", json={"question": QUESTION}, headers=headers)


def _poll_until(fn, timeout: float = 30.0, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        result = fn()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


# -- Chroma server down and back ---------------------------------------------------------------------
def test_chroma_down_gives_503_and_the_service_recovers_without_restart(seeded_dir: Path, seeded_settings, tmp_path):
    data_dir = tmp_path / "data"
    shutil.copytree(seeded_dir, data_dir)  # the seeded index, served by a real `chroma run`
    chroma = ChromaServer(data_dir / "chroma", port=free_port())
    settings = derive(
        seeded_settings, data_dir=data_dir, chroma_host="127.0.0.1", chroma_port=chroma.port, rate_limit_per_minute=0
    )
    # `citebot serve` starts while Chroma is still down: alive, not ready, 503 on /ask
    with ServeProcess(settings, tmp_path / "serve.log") as api, httpx.Client(base_url=api.base_url, timeout=30) as c:
        try:
            assert c.get("/healthz").status_code == 200
            ready = c.get("/readyz")
            assert ready.status_code == 503 and ready.json()["ready"] is False
            assert f"127.0.0.1:{chroma.port}" in ready.json()["message"]
            down = _ask(c, **{"X-Request-ID": "down-1"})
            assert down.status_code == 503, down.text
            assert down.json()["error"] == "unavailable" and down.json()["request_id"] == "down-1"
            assert "not reachable" in down.json()["message"] and "Traceback" not in down.text

            chroma.start()
            up = _poll_until(lambda: (r := _ask(c)).status_code == 200 and r)
            assert up, "the service did not recover after Chroma started"
            assert not Answer.model_validate(up.json()).abstained
            assert c.get("/readyz").json()["documents"] == 5

            chroma.stop()  # an outage while serving
            down = _ask(c)
            assert down.status_code == 503 and "not reachable" in down.json()["message"]
            assert c.get("/readyz").status_code == 503
            assert c.get("/healthz").status_code == 200
            stream = c.post("/ask", json={"question": QUESTION}, headers={"Accept": "text/event-stream"})
            assert stream.status_code == 503 and stream.json()["error"] == "unavailable"

            chroma.start()  # back on the same port: no restart of the API
            assert _poll_until(lambda: _ask(c).status_code == 200), "no recovery after the outage"
            assert c.get("/readyz").status_code == 200
            metrics = c.get("/metrics").text
            assert 'citebot_http_requests_total{method="POST",route="/ask",status="503"}' in metrics
        finally:
            chroma.stop()
    log = (tmp_path / "serve.log").read_text()
    assert '"status": 503' in log and "Traceback" not in log


# -- LLM provider faults -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def provider() -> Iterator[OpenAIServer]:
    with OpenAIServer() as server:
        yield server


@pytest.fixture(scope="module")
def llm_api(seeded_settings, provider) -> Iterator[httpx.Client]:
    settings = derive(
        seeded_settings,
        generator="openai",
        openai_base_url=provider.base_url,
        openai_api_key="sk-test-provider-key",
        openai_timeout_s=0.5,
        openai_max_retries=2,
        rate_limit_per_minute=0,
    )
    with UvicornThread(build_app(settings)) as server, httpx.Client(base_url=server.base_url, timeout=60) as client:
        yield client


@pytest.fixture
def srv(provider: OpenAIServer) -> OpenAIServer:
    provider.reset()
    return provider


def test_llm_answers_when_the_provider_is_fine(llm_api, srv):
    resp = _ask(llm_api)
    assert resp.status_code == 200
    answer = Answer.model_validate(resp.json())
    assert answer.mode == "openai" and not answer.degraded and answer.citations
    assert len(srv.chat_requests) == 1


def test_provider_500s_are_retried_then_answered_extractively_as_degraded(llm_api, srv):
    srv.script(Error(500), Error(500), Error(500))
    before = llm_api.get("/metrics").text
    resp = _ask(llm_api)

    assert resp.status_code == 200, resp.text
    answer = Answer.model_validate(resp.json())
    assert answer.degraded is True and "fallback" in answer.mode
    assert answer.citations and not answer.abstained
    assert len(srv.chat_requests) == 3  # one call + two bounded retries
    assert "citebot_degraded_answers_total 0.0" in before
    assert "citebot_degraded_answers_total 1.0" in llm_api.get("/metrics").text


def test_provider_429_is_retried_after_retry_after(llm_api, srv):
    srv.script(Error(429, retry_after=0.3))
    answer = Answer.model_validate(_ask(llm_api).json())
    assert answer.mode == "openai" and not answer.degraded
    first, second = srv.chat_requests
    assert second.at - first.at >= 0.25


def test_slow_provider_times_out_and_degrades(llm_api, srv):
    srv.script(Hang(3), Hang(3), Hang(3))
    started = time.monotonic()
    answer = Answer.model_validate(_ask(llm_api).json())
    assert answer.degraded and answer.citations
    assert time.monotonic() - started < 10


def test_stream_from_the_llm_then_degraded_stream(llm_api, srv):
    from tests.support.openai_server import auto_answer

    srv.script(Reply(lambda body: auto_answer(body["messages"]), chunk_chars=6))
    with llm_api.stream("POST", "/ask", json={"question": QUESTION}, headers={"Accept": "text/event-stream"}) as r:
        events = _events(r.read().decode())
    deltas = [data["text"] for kind, data in events if kind == "delta"]
    final = Answer.model_validate(events[-1][1])
    assert deltas and events[-1][0] == "answer" and final.mode == "openai"
    assert "".join(deltas) == final.answer and final.answer.endswith("[1]")

    srv.script(Error(503), Error(503), Error(503))
    with llm_api.stream("POST", "/ask", json={"question": QUESTION}, headers={"Accept": "text/event-stream"}) as r:
        events = _events(r.read().decode())
    final = Answer.model_validate(events[-1][1])
    assert events[-1][0] == "answer" and final.degraded and final.citations


def _events(text: str) -> list[tuple[str, dict]]:
    out = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        out.append((fields["event"], json.loads(fields["data"])))
    return out


def test_per_request_timeout_bounds_every_call(seeded_settings, provider):
    """A hung provider uses up its share of the request's budget, then the extractive answer is given
    (degraded, with the reason): within request_timeout_s, never a 504, streamed or not."""
    provider.reset()
    settings = derive(
        seeded_settings,
        generator="openai",
        openai_base_url=provider.base_url,
        openai_api_key="sk-test-provider-key",
        openai_timeout_s=30,
        openai_max_retries=0,
        request_timeout_s=2.0,
        rate_limit_per_minute=0,
    )
    with UvicornThread(build_app(settings)) as server, httpx.Client(base_url=server.base_url, timeout=30) as client:
        provider.script(Hang(6))
        started = time.monotonic()
        resp = _ask(client, **{"X-Request-ID": "slow-1"})
        elapsed = time.monotonic() - started
        assert resp.status_code == 200, resp.text
        answer = Answer.model_validate(resp.json())
        assert answer.degraded and answer.citations and answer.request_id == "slow-1"
        assert "did not answer" in answer.provenance.degraded_reason
        assert elapsed < 2.0
        assert "citebot_request_timeouts_total 0.0" in client.get("/metrics").text

        provider.script(Hang(6))
        started = time.monotonic()
        with client.stream("POST", "/ask", json={"question": QUESTION}, headers={"Accept": "text/event-stream"}) as r:
            status = r.status_code
            events = _events(r.read().decode())
        assert status == 200 and events[-1][0] == "answer"
        assert time.monotonic() - started < 2.0
        final = Answer.model_validate(events[-1][1])
        assert final.degraded and "".join(d["text"] for k, d in events if k == "delta") == final.answer
        assert client.get("/healthz").status_code == 200
