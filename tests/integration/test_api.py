"""The HTTP service on a real uvicorn server (127.0.0.1, free port), called with httpx.

The app serves the session's real Engine over the ingested seeds; nothing of ours is replaced.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator

import httpx
import pytest

from rag.api import create_app
from rag.schemas import Answer, DocumentInfo
from rag.service import build_app
from tests.support.http import UvicornThread, derive

QUESTION = "How many Chinese were killed in the Karachi airport bombing?"
UNANSWERABLE = "What is the recipe for banana bread with walnuts?"
HEX16 = re.compile(r"^[0-9a-f]{16}$")


def _serve(settings, engine, **overrides) -> UvicornThread:
    return UvicornThread(create_app(derive(settings, **overrides), engine=engine)).start()


@pytest.fixture(scope="module")
def api(seeded_settings, engine) -> Iterator[httpx.Client]:
    server = _serve(seeded_settings, engine, rate_limit_per_minute=0)
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        yield client
    server.stop()


def _assert_error(resp: httpx.Response, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert body["error"] == code
    assert body["message"] and "Traceback" not in resp.text and 'File "' not in resp.text
    assert body["request_id"] == resp.headers["x-request-id"]
    return body


def _sse_events(text: str) -> list[tuple[str, dict]]:
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        events.append((fields["event"], json.loads(fields["data"])))
    return events


# -- /ask --------------------------------------------------------------------------------------------
def test_ask_returns_the_answer_schema_with_citations(api, engine):
    resp = api.post("/ask", json={"question": QUESTION})

    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/json"
    answer = Answer.model_validate(resp.json())
    assert "two" in answer.answer.lower() and not answer.abstained
    assert answer.citations and all(f"[{c.n}]" in answer.answer for c in answer.citations)
    assert answer.sources and answer.mode == "extractive" and answer.degraded is False
    assert {"embed_ms", "retrieve_ms", "generate_ms", "total_ms"} <= answer.timings_ms.keys()
    assert answer.request_id == resp.headers["x-request-id"]
    direct = engine.ask(QUESTION)  # the same engine in-process gives the same answer
    assert answer.answer == direct.answer
    assert [c.chunk_id for c in answer.citations] == [c.chunk_id for c in direct.citations]


def test_ask_accepts_top_k_and_history(api):
    resp = api.post(
        "/ask",
        json={
            "question": "Who were they?",
            "top_k": 2,
            "history": [
                {"role": "user", "content": "Were Chinese people killed in the Karachi airport bombing?"},
                {"role": "assistant", "content": "Yes, two Chinese nationals were killed [1]."},
            ],
        },
    )
    assert resp.status_code == 200, resp.text
    answer = Answer.model_validate(resp.json())
    assert len(answer.sources) <= 2


def test_unanswerable_question_abstains(api):
    answer = Answer.model_validate(api.post("/ask", json={"question": UNANSWERABLE}).json())
    assert answer.abstained and answer.citations == []


def test_request_id_is_echoed_or_generated(api):
    sent = api.post("/ask", json={"question": QUESTION}, headers={"X-Request-ID": "client-req.42"})
    assert sent.headers["x-request-id"] == "client-req.42"
    assert sent.json()["request_id"] == "client-req.42"

    generated = api.get("/healthz")
    assert HEX16.match(generated.headers["x-request-id"])

    unsafe = api.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces" + "x" * 200})
    assert HEX16.match(unsafe.headers["x-request-id"])

    error = api.post("/ask", json={"question": ""}, headers={"X-Request-ID": "err-7"})
    assert _assert_error(error, 422, "invalid_request")["request_id"] == "err-7"


def test_stream_sends_deltas_then_one_final_answer(api):
    with api.stream(
        "POST", "/ask", json={"question": QUESTION}, headers={"Accept": "text/event-stream", "X-Request-ID": "sse-1"}
    ) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        assert resp.headers["x-request-id"] == "sse-1"
        events = _sse_events(resp.read().decode())

    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "answer" and kinds.count("answer") == 1
    assert kinds[:-1] and set(kinds[:-1]) == {"delta"}
    final = Answer.model_validate(events[-1][1])
    assert "".join(data["text"] for kind, data in events if kind == "delta") == final.answer
    assert final.citations and final.request_id == "sse-1"
    plain = Answer.model_validate(api.post("/ask", json={"question": QUESTION}).json())
    assert final.answer == plain.answer


def test_stream_of_an_invalid_question_is_a_plain_422(api):
    resp = api.post("/ask", json={"question": "  "}, headers={"Accept": "text/event-stream"})
    _assert_error(resp, 422, "invalid_request")


# -- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "payload,fragment",
    [
        ({"question": ""}, "question"),
        ({"question": "   \n\t  "}, "empty"),
        ({"question": "x" * 2001}, "2000"),
        ({"question": " " * 10 + "x" * 2001}, "2000"),
        ({"question": 42}, "question"),
        ({"question": None}, "question"),
        ({"question": ["a"]}, "question"),
        ({}, "question"),
        ({"question": QUESTION, "top_k": "5"}, "top_k"),
        ({"question": QUESTION, "top_k": 2.5}, "top_k"),
        ({"question": QUESTION, "top_k": True}, "top_k"),
        ({"question": QUESTION, "top_k": 0}, "top_k"),
        ({"question": QUESTION, "top_k": 51}, "top_k"),
        ({"question": QUESTION, "history": "earlier"}, "history"),
        ({"question": QUESTION, "history": [{"role": "system", "content": "x"}]}, "history"),
        ({"question": QUESTION, "history": [{"role": "user", "content": 5}]}, "history"),
        ({"question": QUESTION, "history": [{"role": "user", "content": "x", "name": "bob"}]}, "history"),
        ({"question": QUESTION, "temperature": 0.2}, "temperature"),
    ],
)
def test_invalid_bodies_get_422_with_a_clear_message(api, payload, fragment):
    body = _assert_error(api.post("/ask", json=payload), 422, "invalid_request")
    assert fragment in body["message"] or fragment in json.dumps(body.get("details"))


@pytest.mark.parametrize("raw", [b"{not json", b"", b"[1, 2]", b'"just a string"', b"\xff\xfe\x00"])
def test_malformed_json_gets_422(api, raw):
    _assert_error(api.post("/ask", content=raw, headers={"Content-Type": "application/json"}), 422, "invalid_request")


def test_2000_character_question_is_accepted(api):
    question = ("Who was killed at Karachi airport? " * 80)[:2000]
    assert api.post("/ask", json={"question": question}).status_code == 200


def test_body_over_64_kb_gets_413(api):
    big = json.dumps({"question": "x" * (64 * 1024)}).encode()
    _assert_error(api.post("/ask", content=big, headers={"Content-Type": "application/json"}), 413, "payload_too_large")

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer encoding
        for _ in range(70):
            yield b" " * 1024

    chunked = api.post("/ask", content=chunks(), headers={"Content-Type": "application/json"})
    _assert_error(chunked, 413, "payload_too_large")
    assert api.post("/ask", json={"question": QUESTION}).status_code == 200  # the server is fine afterwards


@pytest.mark.parametrize(
    "headers,content",
    [
        ({"Content-Type": "text/plain"}, b"How many were killed?"),
        ({"Content-Type": "application/x-www-form-urlencoded"}, b"question=How+many"),
        ({"Content-Type": "multipart/form-data; boundary=x"}, b"--x\r\n\r\nq\r\n--x--"),
        ({}, json.dumps({"question": QUESTION}).encode()),
    ],
)
def test_non_json_gets_415(api, headers, content):
    body = _assert_error(api.post("/ask", content=content, headers=headers), 415, "unsupported_media_type")
    assert "application/json" in body["message"]


def test_json_with_charset_is_accepted(api):
    resp = api.post(
        "/ask",
        content=json.dumps({"question": QUESTION}).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert resp.status_code == 200


def test_unknown_route_and_wrong_method_are_json(api):
    _assert_error(api.get("/nowhere"), 404, "not_found")
    _assert_error(api.get("/ask"), 405, "method_not_allowed")
    _assert_error(api.put("/documents"), 405, "method_not_allowed")


# -- operations ------------------------------------------------------------------------------------
def test_healthz_readyz_and_documents(api):
    assert api.get("/healthz").json() == {"status": "ok"}

    ready = api.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["ready"] and body["index_reachable"] and body["model_loaded"]
    assert body["documents"] == 5 and body["chunks"] >= 5
    assert body["embedding_model"] and body["generator"] == "extractive"

    docs = [DocumentInfo.model_validate(d) for d in api.get("/documents").json()]
    assert len(docs) == 5
    assert sum(d.chunks for d in docs) == body["chunks"]
    assert all(d.source.endswith(".txt") and d.title and d.ingested_at for d in docs)


def test_metrics_count_requests_stages_and_abstentions(api):
    def sample(text: str, name: str) -> float:
        match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
        return float(match.group(1)) if match else 0.0

    before = api.get("/metrics").text
    api.post("/ask", json={"question": QUESTION})
    api.post("/ask", json={"question": UNANSWERABLE})
    api.post("/ask", json={"question": ""})
    resp = api.get("/metrics")

    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    after = resp.text
    ok = 'citebot_http_requests_total{method="POST",route="/ask",status="200"}'
    bad = 'citebot_http_requests_total{method="POST",route="/ask",status="422"}'
    assert sample(after, ok) - sample(before, ok) == 2
    assert sample(after, bad) - sample(before, bad) == 1
    assert sample(after, "citebot_abstentions_total") - sample(before, "citebot_abstentions_total") == 1
    assert "citebot_degraded_answers_total" in after
    for stage in ("embed", "retrieve", "generate", "verify", "total"):
        assert f'citebot_stage_duration_seconds_count{{stage="{stage}"}}' in after
    assert 'citebot_http_request_duration_seconds_bucket{le="0.05",route="/ask"}' in after


def test_openapi_docs_have_request_and_response_examples(api):
    assert "swagger" in api.get("/docs").text.lower()
    spec = api.get("/openapi.json").json()
    ask = spec["paths"]["/ask"]["post"]
    examples = ask["requestBody"]["content"]["application/json"]["examples"]
    assert examples["simple"]["value"]["question"]
    responses = ask["responses"]
    assert responses["200"]["content"]["application/json"]["example"]["citations"]
    assert "text/event-stream" in responses["200"]["content"]
    for status in ("401", "413", "415", "422", "429", "503", "504"):
        assert responses[status]["content"]["application/json"]["example"]["error"]
    assert {"/healthz", "/readyz", "/documents", "/metrics"} <= spec["paths"].keys()


def test_cors_is_off_unless_configured(api, seeded_settings, engine):
    preflight = {"Origin": "https://example.org", "Access-Control-Request-Method": "POST"}
    assert "access-control-allow-origin" not in api.options("/ask", headers=preflight).headers
    assert "access-control-allow-origin" not in api.get("/healthz", headers={"Origin": "https://example.org"}).headers

    server = _serve(seeded_settings, engine, cors_origins=["https://example.org"])
    try:
        with httpx.Client(base_url=server.base_url) as client:
            resp = client.options("/ask", headers=preflight)
            assert resp.headers["access-control-allow-origin"] == "https://example.org"
            other = client.options("/ask", headers={**preflight, "Origin": "https://evil.example"})
            assert "access-control-allow-origin" not in other.headers
    finally:
        server.stop()


# -- access ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def secured(seeded_settings, engine) -> Iterator[str]:
    server = _serve(seeded_settings, engine, api_keys="key-one-secret,key-two-secret", rate_limit_per_minute=3)
    yield server.base_url
    server.stop()


def test_api_keys_guard_ask_and_documents_but_not_health(secured):
    with httpx.Client(base_url=secured) as client:
        for resp in (
            client.post("/ask", json={"question": QUESTION}),
            client.post("/ask", json={"question": QUESTION}, headers={"Authorization": "Bearer wrong"}),
            client.post("/ask", json={"question": QUESTION}, headers={"Authorization": "key-one-secret"}),
            client.post("/ask", json={"question": QUESTION}, headers={"Authorization": "Basic key-one-secret"}),
            client.post("/ask", json={"question": QUESTION}, headers={"Authorization": "Bearer key-one-secre"}),
            client.get("/documents"),
        ):
            body = _assert_error(resp, 401, "unauthorized")
            assert resp.headers["www-authenticate"] == "Bearer"
            assert "secret" not in body["message"]
        # health, readiness and metrics stay open
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200
        assert client.get("/metrics").status_code == 200
        assert client.get("/documents", headers={"Authorization": "Bearer key-two-secret"}).status_code == 200


def test_rate_limit_per_key_answers_429_with_retry_after(secured):
    one = {"Authorization": "Bearer key-one-secret"}
    two = {"Authorization": "Bearer key-two-secret"}
    with httpx.Client(base_url=secured, timeout=30) as client:
        statuses = [client.post("/ask", json={"question": QUESTION}, headers=one).status_code for _ in range(3)]
        assert statuses == [200, 200, 200]
        limited = client.post("/ask", json={"question": QUESTION}, headers=one)
        body = _assert_error(limited, 429, "rate_limited")
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert "retry after" in body["message"]
        # another key has its own budget; unauthenticated calls are still 401, not 429
        assert client.post("/ask", json={"question": QUESTION}, headers=two).status_code == 200
        assert client.post("/ask", json={"question": QUESTION}).status_code == 401
        assert client.get("/healthz").status_code == 200
        assert "citebot_rate_limited_total 1.0" in client.get("/metrics").text


def test_rate_limit_per_ip_without_keys(seeded_settings, engine):
    server = _serve(seeded_settings, engine, rate_limit_per_minute=2)
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            codes = [client.post("/ask", json={"question": QUESTION}).status_code for _ in range(3)]
            assert codes == [200, 200, 429]
    finally:
        server.stop()


# -- logs ------------------------------------------------------------------------------------------
def _access_lines(caplog) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "citebot.access"]


def test_one_structured_log_line_per_request(api, caplog):
    caplog.set_level(logging.INFO, logger="citebot.access")
    api.post("/ask", json={"question": QUESTION}, headers={"X-Request-ID": "log-1"})
    api.post("/ask", json={"question": ""}, headers={"X-Request-ID": "log-2"})

    lines = {line["request_id"]: line for line in _access_lines(caplog)}
    ok, bad = lines["log-1"], lines["log-2"]
    assert ok["status"] == 200 and ok["route"] == "/ask" and ok["generator"] == "extractive"
    assert {"embed_ms", "retrieve_ms", "generate_ms", "total_ms"} <= ok["timings_ms"].keys()
    assert ok["duration_ms"] > 0 and ok["question"] == QUESTION
    assert bad["status"] == 422
    assert len([line for line in _access_lines(caplog) if line["request_id"] == "log-1"]) == 1


def test_no_question_text_or_keys_in_logs_when_disabled(seeded_settings, engine, caplog):
    caplog.set_level(logging.DEBUG)
    server = _serve(seeded_settings, engine, log_questions=False, api_keys="sk-very-secret-key-9")
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            resp = client.post(
                "/ask", json={"question": QUESTION}, headers={"Authorization": "Bearer sk-very-secret-key-9"}
            )
            assert resp.status_code == 200
            client.post("/ask", json={"question": QUESTION}, headers={"Authorization": "Bearer sk-wrong-key"})
    finally:
        server.stop()
    text = "\n".join(r.getMessage() for r in caplog.records)
    lines = _access_lines(caplog)
    assert [line["status"] for line in lines] == [200, 401]
    assert lines[0]["question_chars"] == len(QUESTION) and "question" not in lines[0]
    assert "Karachi airport bombing" not in text
    assert "sk-very-secret-key-9" not in text and "sk-wrong-key" not in text


def test_empty_index_is_not_ready_and_ask_says_what_to_do(settings_factory):
    settings = settings_factory(rate_limit_per_minute=0)  # nothing ingested into this data dir
    with UvicornThread(build_app(settings)) as server, httpx.Client(base_url=server.base_url, timeout=30) as client:
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["ready"] is False and "citebot ingest" in ready.json()["message"]
        body = _assert_error(client.post("/ask", json={"question": QUESTION}), 503, "unavailable")
        assert "citebot ingest" in body["message"]
        assert client.get("/documents").json() == []
