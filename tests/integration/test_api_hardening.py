"""Regression tests of issue 16 on real servers: the key is checked before the body is read (401
before 413/415/422), `top_k: 20.0` is the integer 20, and slow or half-sent requests are closed
after the read deadlines (raw sockets against uvicorn served exactly as `citebot serve` does).

Times are printed, never asserted: the generous socket timeouts only tell "closed by the server"
apart from "held open".
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from rag.api import create_app
from tests.support.http import UvicornThread, derive

QUESTION = "How many Chinese were killed in the Karachi airport bombing?"
KEY = "hardening-key-one"
HEADER_TIMEOUT_S = 1.0
BODY_TIMEOUT_S = 1.5
HELD_S = 30.0  # a socket still open after this long was not closed by the server


def _json_error(resp: httpx.Response, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["error"] == code and body["message"]
    assert "Traceback" not in resp.text
    return body


@pytest.fixture(scope="module")
def open_api(seeded_settings, engine) -> Iterator[str]:
    settings = derive(
        seeded_settings,
        rate_limit_per_minute=0,
        http_header_timeout_s=HEADER_TIMEOUT_S,
        http_body_timeout_s=BODY_TIMEOUT_S,
    )
    with UvicornThread(create_app(settings, engine=engine), settings=settings) as server:
        yield server.base_url


@pytest.fixture(scope="module")
def secured_api(seeded_settings, engine) -> Iterator[str]:
    settings = derive(seeded_settings, api_keys=KEY, rate_limit_per_minute=0)
    with UvicornThread(create_app(settings, engine=engine), settings=settings) as server:
        yield server.base_url


# -- item 10: an integral float is an integer ---------------------------------------------------------
def test_top_k_as_an_integral_float_is_the_integer(open_api):
    with httpx.Client(base_url=open_api, timeout=60) as client:
        as_float = client.post(
            "/ask",
            content=b'{"question": "%s", "top_k": 3.0}' % QUESTION.encode(),
            headers={"Content-Type": "application/json"},
        )
        as_int = client.post("/ask", json={"question": QUESTION, "top_k": 3})
        assert as_float.status_code == 200, as_float.text
        assert as_int.status_code == 200
        drop = {"timings_ms", "request_id"}
        assert {k: v for k, v in as_float.json().items() if k not in drop} == {
            k: v for k, v in as_int.json().items() if k not in drop
        }
        assert len(as_float.json()["sources"]) <= 3
        for bad in (b"20.5", b"3.000001", b"0.0", b"51.0", b"true", b'"3"'):
            resp = client.post(
                "/ask",
                content=b'{"question": "%s", "top_k": %s}' % (QUESTION.encode(), bad),
                headers={"Content-Type": "application/json"},
            )
            body = _json_error(resp, 422, "invalid_request")
            assert "top_k" in body["message"], bad


def test_openapi_still_calls_top_k_an_integer(open_api):
    schema = httpx.get(f"{open_api}/openapi.json").json()
    top_k = schema["components"]["schemas"]["AskRequest"]["properties"]["top_k"]
    assert {"type": "integer", "minimum": 1, "maximum": 50} in top_k["anyOf"]


# -- item 8: the key before the body ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b"{not json", {"Content-Type": "application/json"}),
        (b'{"question": 5}', {"Content-Type": "application/json"}),
        (b'{"question": "x", "top_k": 2.5}', {"Content-Type": "application/json"}),
        (b"question=x", {"Content-Type": "application/x-www-form-urlencoded"}),
        (json.dumps({"question": "x" * 70_000}).encode(), {"Content-Type": "application/json"}),
        (b'{"question": "hi"}', {"Content-Type": "application/json", "Authorization": "Bearer wrong"}),
    ],
    ids=["bad-json", "bad-schema", "bad-top-k", "not-json", "too-large", "wrong-key"],
)
def test_unauthenticated_requests_get_401_whatever_the_body(secured_api, content, headers):
    resp = httpx.post(f"{secured_api}/ask", content=content, headers=headers, timeout=30)
    _json_error(resp, 401, "unauthorized")
    assert resp.headers["www-authenticate"] == "Bearer"
    assert resp.headers["x-request-id"]


def test_unauthenticated_request_is_refused_before_its_body_is_sent(secured_api):
    """Headers announcing 10 MB, no body at all: the 401 comes back at once, the body is never awaited."""
    port = int(secured_api.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=HELD_S) as sock:
        sock.sendall(
            b"POST /ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 10000000\r\n\r\n"
        )
        head = _read_response(sock)
    assert head.startswith(b"HTTP/1.1 401"), head[:200]
    assert b'"unauthorized"' in head


def test_authenticated_requests_still_get_their_own_errors(secured_api):
    auth = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    with httpx.Client(base_url=secured_api, timeout=60) as client:
        _json_error(client.post("/ask", content=b"{not json", headers=auth), 422, "invalid_request")
        big = json.dumps({"question": "x" * 70_000}).encode()
        _json_error(client.post("/ask", content=big, headers=auth), 413, "payload_too_large")
        _json_error(
            client.post("/ask", content=b"q=x", headers={**auth, "Content-Type": "text/plain"}),
            415,
            "unsupported_media_type",
        )
        assert client.post("/ask", json={"question": QUESTION, "top_k": 2.0}, headers=auth).status_code == 200
        # open routes stay open, and an unknown route is a 404 rather than a 401
        assert client.get("/healthz").status_code == 200
        assert client.get("/no-such-route").status_code == 404
        assert client.get("/documents").status_code == 401
        metrics = client.get("/metrics").text
        assert 'citebot_http_requests_total{method="GET",route="/documents",status="401"}' in metrics
        assert 'route="unmatched",status="401"' not in metrics


# -- item 4: read deadlines -----------------------------------------------------------------------------
def _port(base_url: str) -> int:
    return int(base_url.rsplit(":", 1)[1])


def _read_response(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (or HELD_S passes)."""
    sock.settimeout(HELD_S)
    data = b""
    deadline = time.monotonic() + HELD_S
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        if not chunk:
            return data
        data += chunk
        if data.startswith(b"HTTP/1.1 401") and b"\r\n\r\n" in data and data.rstrip().endswith(b"}"):
            return data
    raise AssertionError(f"the server held the connection open for {HELD_S} s: {data[:200]!r}")


def _closed_by_server(sock: socket.socket) -> tuple[bytes, float]:
    start = time.monotonic()
    data = _read_response(sock)
    return data, time.monotonic() - start


def test_half_sent_headers_are_closed_with_408(open_api, caplog):
    caplog.set_level(logging.INFO)
    socks = []
    start = time.monotonic()
    for _ in range(50):
        sock = socket.create_connection(("127.0.0.1", _port(open_api)), timeout=HELD_S)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        socks.append(sock)
    answers = []
    for sock in socks:
        data, _ = _closed_by_server(sock)
        answers.append(data)
        sock.close()
    elapsed = time.monotonic() - start
    print(f"\n50 half-sent requests all closed {elapsed:.2f} s after the first (header deadline {HEADER_TIMEOUT_S} s)")
    assert all(a.startswith(b"HTTP/1.1 408") for a in answers), answers[0][:200]
    assert all(b'"request_timeout"' in a for a in answers)
    timeouts = [json.loads(r.getMessage()) for r in caplog.records if r.name == "citebot.serve"]
    assert sum(t["event"] == "read_timeout" and t["phase"] == "head" for t in timeouts) >= 50
    # the server is healthy afterwards
    assert httpx.get(f"{open_api}/healthz").status_code == 200


def test_trickled_headers_do_not_extend_the_deadline(open_api):
    sock = socket.create_connection(("127.0.0.1", _port(open_api)), timeout=HELD_S)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    start = time.monotonic()
    closed = False
    sock.settimeout(0.2)
    while time.monotonic() - start < HELD_S:
        try:
            sock.sendall(b"X")  # one byte of a header every 0.2 s, never finishing it
            chunk = sock.recv(4096)
        except TimeoutError:
            continue
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
        if not chunk or chunk.startswith(b"HTTP/1.1 408"):
            closed = True
            break
    sock.close()
    print(f"\ntrickling client closed after {time.monotonic() - start:.2f} s")
    assert closed


def test_a_connection_that_sends_nothing_is_closed(open_api):
    with socket.create_connection(("127.0.0.1", _port(open_api)), timeout=HELD_S) as sock:
        data, waited = _closed_by_server(sock)
    print(f"\nsilent connection closed after {waited:.2f} s")
    assert data == b""  # nothing was asked, so nothing is answered: just closed


def test_a_body_that_never_finishes_gets_408_and_no_traceback(open_api, caplog):
    caplog.set_level(logging.INFO)
    with socket.create_connection(("127.0.0.1", _port(open_api)), timeout=HELD_S) as sock:
        sock.sendall(
            b"POST /ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b'Content-Length: 200\r\n\r\n{"question": "How'
        )
        data, waited = _closed_by_server(sock)
    print(f"\nhalf-sent body closed after {waited:.2f} s (body deadline {BODY_TIMEOUT_S} s)")
    assert data.startswith(b"HTTP/1.1 408"), data[:200]
    time.sleep(0.5)  # let the app notice the disconnect and finish its side
    access = [json.loads(r.getMessage()) for r in caplog.records if r.name == "citebot.access"]
    assert [line["status"] for line in access if line["path"] == "/ask"] == [408]
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_kept_alive_connection_is_timed_again_for_its_next_request(open_api):
    with socket.create_connection(("127.0.0.1", _port(open_api)), timeout=HELD_S) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        sock.settimeout(HELD_S)
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200"), first[:200]
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # the next request, half-sent
        data, waited = _closed_by_server(sock)
    assert data.startswith(b"HTTP/1.1 408"), data[:200]


def test_complete_requests_are_not_cut(open_api):
    """Answering takes as long as it takes (request_timeout_s bounds it, not the read deadlines);
    a kept-alive client that pauses less than the keep-alive timeout is served again."""
    with httpx.Client(base_url=open_api, timeout=60) as client:
        for _ in range(3):
            resp = client.post("/ask", json={"question": QUESTION}, headers={"Accept": "text/event-stream"})
            assert resp.status_code == 200 and "event: answer" in resp.text
            time.sleep(HEADER_TIMEOUT_S * 1.5)  # longer than the header deadline, shorter than keep-alive (5 s)
            assert client.get("/healthz").status_code == 200
