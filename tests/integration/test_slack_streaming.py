"""A streaming generator (the openai generator against tests/support/openai_server.py): the bot posts
the placeholder, shows the text as it streams at most once a second, then the verified answer."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from pydantic import SecretStr

from rag.settings import GeneratorKind
from tests.integration.test_slack_http import UvicornThread, mention, wait_answer
from tests.support.openai_server import auto_answer
from tests.support.servers import free_port, wait_http
from tests.support.slack_api import BOT_TOKEN, SIGNING_SECRET, FakeSlack, event_request


@pytest.fixture
def fake_slack():
    server = FakeSlack().start()
    yield server
    server.stop()


def several_sentences(body: dict) -> str:
    """A five-sentence answer, each sentence cited inline with itself as the quote (all verifiable)."""
    from rag.text import split_sentences
    from tests.support.openai_server import passages_of

    out = []
    for n, text in sorted(passages_of(body).items())[:5]:
        sentence = next((text[lo:hi] for lo, hi in split_sentences(text) if len(text[lo:hi].split()) >= 6), None)
        if sentence:
            out.append(f'{sentence.rstrip(".")} [{n}: "{sentence}"].')
    return " ".join(out)


class SlowStreamingLLM:
    """An OpenAI-protocol chat server that streams its answer slowly: `chunk_chars` characters every
    `delay_s` seconds (the shared tests/support/openai_server.py streams everything at once)."""

    def __init__(self, chunk_chars: int = 24, delay_s: float = 0.1) -> None:
        self.chunk_chars, self.delay_s = chunk_chars, delay_s
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
                outer.requests.append(body)
                text = several_sentences(body) if body.get("stream") else auto_answer(body.get("messages", []))
                base = {
                    "id": "chatcmpl-slow",
                    "object": "chat.completion.chunk",
                    "created": int(time.time()),
                    "model": body.get("model", "m"),
                }
                if not body.get("stream"):
                    payload = {
                        **base,
                        "object": "chat.completion",
                        "choices": [
                            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                        ],
                    }
                    data = json.dumps(payload).encode()
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.end_headers()

                def send(delta: dict, finish: str | None = None) -> None:
                    chunk = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()

                send({"role": "assistant", "content": ""})
                for i in range(0, len(text), outer.chunk_chars):
                    send({"content": text[i : i + outer.chunk_chars]})
                    time.sleep(outer.delay_s)
                send({}, "stop")
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> SlowStreamingLLM:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def llm():
    with SlowStreamingLLM() as server:
        yield server


@pytest.fixture
def streaming_app(seeded_settings, fake_slack, llm, tmp_path):
    from rag.engine import build_engine
    from rag.service import build_app

    engine_settings = seeded_settings.model_copy(
        update={
            "generator": GeneratorKind.openai,
            "openai_base_url": llm.base_url,
            "openai_api_key": SecretStr("sk-test"),
            "openai_timeout_s": 10.0,
            "openai_max_retries": 0,
        }
    )
    engine = build_engine(engine_settings)
    settings = engine_settings.model_copy(
        update={
            "data_dir": tmp_path,
            "slack_bot_token": SecretStr(BOT_TOKEN),
            "slack_signing_secret": SecretStr(SIGNING_SECRET),
            "slack_api_url": fake_slack.api_url,
        }
    )
    port = free_port()
    server = UvicornThread(build_app(settings=settings, engine=engine), port)
    server.start()
    wait_http(f"http://127.0.0.1:{port}/healthz", timeout=60)
    yield f"http://127.0.0.1:{port}"
    server.stop()


def test_streamed_answer_updates_at_most_once_a_second(streaming_app, fake_slack, llm):
    """The model streams 24 characters every 0.1 s (five sentences, about 6 s): the bot shows the
    verified sentences as they complete, at most once a second, then the verified answer and its sources."""
    event = mention(fake_slack, "CSTREAM01", "Which airport was the Karachi attack near?", user="USTREAM01")
    body, headers, _ = event_request(event)
    with httpx.Client(base_url=streaming_app, timeout=30) as http:
        assert http.post("/slack/events", content=body, headers=headers).status_code == 200
    placeholder, final = wait_answer(fake_slack, "CSTREAM01", event["ts"])
    assert llm.requests and llm.requests[0].get("stream") is True
    ph_ts = placeholder.response["ts"]
    updates = [c for c in fake_slack.calls_to("chat.update") if c.args.get("ts") == ph_ts]
    partial = [c for c in updates if "Still writing" in json.dumps(c.blocks())]
    assert updates[-1] is final and final not in partial
    assert len(partial) >= 2, [c.args.get("text") for c in updates]
    # throttled: the first progress update at least a second after the placeholder, then >= 1 s apart
    times = [placeholder.at] + [c.at for c in partial]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert all(gap >= 0.95 for gap in gaps), gaps
    # each progress update shows more of the same text, which the final answer completes
    shown = [c.args["text"] for c in partial]
    assert all(b.startswith(a) and len(b) > len(a) for a, b in zip(shown, shown[1:], strict=False))
    assert final.args["text"].startswith(shown[0][:20])
    assert any(b.get("type") == "actions" for b in final.blocks())
    print(f"\n[slack] streaming: {len(partial)} progress updates, gaps {[round(g, 2) for g in gaps]} s")
