"""A small, real HTTP server on 127.0.0.1 that speaks the OpenAI protocol, for tests.

It stands in for OpenAI's cloud (or vLLM / Ollama / llama.cpp) at the protocol level, so the code
under test runs unchanged: the official `openai` client, llama-index's OpenAI LLM and embeddings.

Endpoints
    POST /v1/chat/completions   JSON, or Server-Sent Events when `"stream": true`
                                (`data: {chunk}` lines, then `data: [DONE]`)
    POST /v1/embeddings         deterministic hashed bag-of-words vectors, L2-normalised
    GET  /v1/models             the models it pretends to serve

Usage
    from tests.support.openai_server import OpenAIServer, Reply, Error, Hang, Malformed

    with OpenAIServer() as srv:
        settings = settings_factory(generator="openai", openai_base_url=srv.base_url,
                                    openai_api_key="test-key")
        srv.script(Error(429, retry_after=0.2), Reply("Paris is the capital [1].\\n\\nQUOTES:\\n[1] \\"...\\""))
        ...                                      # run the code under test
        srv.requests                             # every request, in order (Recorded objects)
        srv.chat_requests[-1].body["messages"]   # what the client sent

Behaviour
    * `srv.script(*steps, endpoint="chat")` queues steps; each request to that endpoint ("chat" or
      "embeddings") consumes one. Steps:
        Reply(text)              answer with this text (streamed in small chunks when asked to stream);
                                 `text` may be a function of the request body (see `passages_of`);
                                 `hang_after_chunks=k, hang_s=s` stalls a stream after k chunks;
                                 `chunk_delay_s` waits between chunks (a slow model);
                                 `break_after_chunks=k` drops the connection after k chunks
        Error(status, retry_after=None, message=...)   an OpenAI-style error body, with Retry-After
        Hang(seconds)            accept the request and say nothing for `seconds`, then close
        Malformed(body)          HTTP 200, `content-type: application/json`, a body that is not JSON
                                 (for a stream: one `data:` line that is not JSON)
    * With the queue empty, chat answers with `srv.default_answer` when set, else automatically: the
      first sentence of passage [1] in the last user message, cited inline as `[1: "quote"]`; or
      `NOT_FOUND` when the message holds no numbered passages. Embeddings always answer from the text.
    * `srv.embedding_dims` maps model name -> vector size (a `dimensions` request field wins).
    * Every request is recorded with its arrival time (`Recorded.at`, time.monotonic()) so tests can
      check backoff between retries.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np


@dataclass
class Reply:
    text: str | Callable[[dict[str, Any]], str]  # or a function of the request body
    chunk_chars: int = 12
    hang_after_chunks: int | None = None
    hang_s: float = 0.0
    finish_reason: str = "stop"
    chunk_delay_s: float = 0.0
    break_after_chunks: int | None = None


@dataclass
class Error:
    status: int
    retry_after: float | None = None
    message: str = "scripted failure"


@dataclass
class Hang:
    seconds: float


@dataclass
class Malformed:
    body: str = '{"id": "chatcmpl-broken", "choices": [{"message": '


Step = Reply | Error | Hang | Malformed


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any  # parsed JSON, or the raw text when it was not JSON
    at: float = field(default_factory=time.monotonic)


PASSAGE_RE = re.compile(r'^<passage n="(\d+)"[^>\n]*>\n(.*?)\n</passage>', re.M | re.S)


def passages_of(body: dict[str, Any]) -> dict[int, str]:
    """{n: text} of the numbered passages in a chat request's last user message."""
    messages = body.get("messages") or []
    user = next((m for m in reversed(messages) if m.get("role") == "user"), None)
    content = user.get("content") if user else ""
    if isinstance(content, list):  # content parts
        content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return {int(m.group(1)): m.group(2).strip() for m in PASSAGE_RE.finditer(content or "")}


def first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s+", text.strip(), maxsplit=1)[0].strip()


def auto_answer(messages: list[dict[str, Any]]) -> str:
    """A well-behaved model: the first sentence of passage [1] as the claim, cited with it as the quote."""
    passages = passages_of({"messages": messages})
    if 1 not in passages:
        return "NOT_FOUND"
    first = first_sentence(passages[1])
    return f'{first.rstrip(".!?")} [1: "{first}"].'


def legacy_answer(messages: list[dict[str, Any]]) -> str:
    """The same answer in the version-1 format: [n] markers, then a QUOTES block."""
    passages = passages_of({"messages": messages})
    if 1 not in passages:
        return "NOT_FOUND"
    first = first_sentence(passages[1])
    return f'{first.rstrip(".!?")} [1].\n\nQUOTES:\n[1] "{first}"'


def hashed_embedding(text: str, dim: int) -> list[float]:
    """Deterministic bag-of-words vector: texts that share words get similar vectors."""
    vec = np.zeros(dim, dtype=np.float64)
    for word in re.findall(r"\w+", text.lower()):
        digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
        index = int.from_bytes(digest[:4], "little") % dim
        vec[index] += 1.0 if digest[4] & 1 else -1.0
    if not vec.any():
        vec[0] = 1.0
    return (vec / np.linalg.norm(vec)).tolist()


class OpenAIServer:
    """See the module docstring. Start with `with OpenAIServer() as srv:` or `.start()` / `.stop()`."""

    def __init__(self, models: tuple[str, ...] = ("gpt-4.1-mini", "local-model", "text-embedding-3-small")) -> None:
        self.models = list(models)
        self.embedding_dims: dict[str, int] = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072}
        self.default_embedding_dim = 256
        self.default_answer: str | None = None
        self.requests: list[Recorded] = []
        self._queues: dict[str, deque[Step]] = {"chat": deque(), "embeddings": deque()}
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> OpenAIServer:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-openai", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._closing.set()  # releases hanging handlers
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # -- scripting ---------------------------------------------------------------------------
    def script(self, *steps: Step, endpoint: str = "chat") -> None:
        with self._lock:
            self._queues[endpoint].extend(steps)

    def pending(self, endpoint: str = "chat") -> int:
        with self._lock:
            return len(self._queues[endpoint])

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            for queue in self._queues.values():
                queue.clear()
            self.default_answer = None

    def _next(self, endpoint: str) -> Step | None:
        with self._lock:
            queue = self._queues[endpoint]
            return queue.popleft() if queue else None

    @property
    def chat_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    @property
    def embedding_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/embeddings")]

    def _record(self, rec: Recorded) -> None:
        with self._lock:
            self.requests.append(rec)


def _make_handler(server: OpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # one request per connection; streams end when the socket closes

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        # -- plumbing ----------------------------------------------------------------------
        def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def _send_raw_json(self, text: str) -> None:
            body = text.encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _error(self, step: Error) -> None:
            headers = {"x-should-retry": "true"} if step.status >= 500 or step.status == 429 else {}
            if step.retry_after is not None:
                headers["retry-after"] = f"{step.retry_after:g}"
            kind = "rate_limit_exceeded" if step.status == 429 else "server_error"
            payload = {"error": {"message": step.message, "type": kind, "code": kind, "param": None}}
            self._send_json(step.status, payload, headers)

        def _hang(self, seconds: float) -> None:
            server._closing.wait(seconds)
            self.close_connection = True

        def _read_body(self) -> Any:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length).decode("utf-8", "replace") if length else ""
            try:
                return json.loads(raw) if raw else None
            except json.JSONDecodeError:
                return raw

        # -- routes ------------------------------------------------------------------------
        def do_GET(self) -> None:
            server._record(Recorded("GET", self.path, dict(self.headers), None))
            if self.path.rstrip("/").endswith("/models"):
                data = [{"id": m, "object": "model", "created": 0, "owned_by": "citebot-tests"} for m in server.models]
                self._send_json(200, {"object": "list", "data": data})
            else:
                self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})

        def do_POST(self) -> None:
            body = self._read_body()
            server._record(Recorded("POST", self.path, dict(self.headers), body))
            if not isinstance(body, dict):
                self._send_json(
                    400, {"error": {"message": "body must be a JSON object", "type": "invalid_request_error"}}
                )
                return
            if self.path.endswith("/chat/completions"):
                self._chat(body)
            elif self.path.endswith("/embeddings"):
                self._embeddings(body)
            else:
                self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})

        def _chat(self, body: dict[str, Any]) -> None:
            step = server._next("chat")
            if isinstance(step, Error):
                return self._error(step)
            if isinstance(step, Hang):
                return self._hang(step.seconds)
            stream = bool(body.get("stream"))
            if isinstance(step, Malformed):
                if stream:
                    return self._stream_lines([f"data: {step.body}\n\n"], model=body.get("model", ""))
                return self._send_raw_json(step.body)
            if step is None:
                step = Reply(server.default_answer or auto_answer(body.get("messages") or []))
            model = body.get("model", "")
            if callable(step.text):
                step = replace(step, text=step.text(body))
            if not stream:
                return self._send_json(200, _completion(step.text, model, step.finish_reason))
            self._stream(step, model, include_usage=bool((body.get("stream_options") or {}).get("include_usage")))

        def _stream(self, step: Reply, model: str, include_usage: bool) -> None:
            pieces = [step.text[i : i + step.chunk_chars] for i in range(0, len(step.text), step.chunk_chars)] or [""]
            lines = [_sse(_chunk(model, {"role": "assistant", "content": ""}, None))]
            lines += [_sse(_chunk(model, {"content": piece}, None)) for piece in pieces]
            lines.append(_sse(_chunk(model, {}, step.finish_reason)))
            if include_usage:
                usage = _chunk(model, None, None)
                usage["choices"] = []
                usage["usage"] = {
                    "prompt_tokens": 10,
                    "completion_tokens": len(pieces),
                    "total_tokens": 10 + len(pieces),
                }
                lines.append(_sse(usage))
            lines.append("data: [DONE]\n\n")
            hang_at = None if step.hang_after_chunks is None else step.hang_after_chunks + 1  # +1: role chunk
            break_at = None if step.break_after_chunks is None else step.break_after_chunks + 1
            self._stream_lines(
                lines, model=model, hang_at=hang_at, hang_s=step.hang_s, delay_s=step.chunk_delay_s, break_at=break_at
            )

        def _stream_lines(
            self,
            lines: list[str],
            model: str,
            hang_at: int | None = None,
            hang_s: float = 0.0,
            delay_s: float = 0.0,
            break_at: int | None = None,
        ) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("cache-control", "no-cache")
            self.end_headers()
            try:
                for index, line in enumerate(lines):
                    if hang_at is not None and index == hang_at:
                        self._hang(hang_s)
                        return
                    if break_at is not None and index == break_at:
                        # reset the connection mid-answer (RST, not a clean end of the stream)
                        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        self.connection.close()
                        self.close_connection = True
                        return
                    if delay_s and index and server._closing.wait(delay_s):
                        return
                    self.wfile.write(line.encode())
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                return

        def _embeddings(self, body: dict[str, Any]) -> None:
            step = server._next("embeddings")
            if isinstance(step, Error):
                return self._error(step)
            if isinstance(step, Hang):
                return self._hang(step.seconds)
            if isinstance(step, Malformed):
                return self._send_raw_json(step.body)
            model = body.get("model", "")
            dim = int(body.get("dimensions") or server.embedding_dims.get(model, server.default_embedding_dim))
            inputs = body.get("input")
            texts = [inputs] if isinstance(inputs, str) else list(inputs or [])
            data = []
            for i, text in enumerate(texts):
                if not isinstance(text, str):  # token arrays: embed their string form
                    text = " ".join(map(str, text))
                vector = hashed_embedding(text, dim)
                if body.get("encoding_format") == "base64":
                    import base64

                    vector = base64.b64encode(np.asarray(vector, dtype=np.float32).tobytes()).decode()
                data.append({"object": "embedding", "index": i, "embedding": vector})
            tokens = sum(len(str(t).split()) for t in texts)
            self._send_json(
                200,
                {
                    "object": "list",
                    "data": data,
                    "model": model,
                    "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
                },
            )

    return Handler


def _completion(text: str, model: str, finish_reason: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": finish_reason,
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": max(1, len(text.split())), "total_tokens": 10},
    }


def _chunk(model: str, delta: dict[str, Any] | None, finish_reason: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish_reason, "logprobs": None}],
    }


def _sse(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload)}\n\n"
