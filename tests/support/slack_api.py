"""A small local server that plays Slack for the bot's tests, at the protocol level.

- Web API (`/api/<method>`): records every call (method, arguments, headers, status, time), keeps the
  channel messages the bot posts so that `conversations.replies` returns a real thread, and can answer
  the next N calls of a method with HTTP 429 + Retry-After (Slack's rate-limit response).
- response_url (`/response/<token>`): what slash commands and buttons reply to.
- Socket Mode (`apps.connections.open` + a WebSocket at `/socket`): sends envelopes, records acks.

Plus helpers that build and sign requests exactly as Slack does (v0 HMAC-SHA256 over `v0:ts:body`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from aiohttp import WSMsgType, web

from tests.support.servers import free_port

BOT_USER_ID = "UCITEBOT1"
BOT_ID = "BCITEBOT1"
TEAM_ID = "T0FAKE001"
APP_ID = "A0CITEBOT"
BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"
SIGNING_SECRET = "test-signing-secret-0123456789abcdef"


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    status: int
    at: float = field(default_factory=time.perf_counter)
    response: dict[str, Any] = field(default_factory=dict)

    def blocks(self) -> list[dict]:
        raw = self.args.get("blocks") or []
        return json.loads(raw) if isinstance(raw, str) else raw


class FakeSlack:
    def __init__(self) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.api_url = f"{self.base}/api/"
        self.calls: list[Call] = []
        self.messages: dict[str, list[dict]] = {}
        self.socket_acks: list[dict] = []
        self._fail: dict[str, list[int]] = {}  # method -> [remaining, retry_after]
        self._cond = threading.Condition()
        self._ts = itertools.count(1)
        self._ts_base = int(time.time())
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._sockets: list[web.WebSocketResponse] = []
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> FakeSlack:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True, name="fake-slack")
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake Slack server did not start")
        return self

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{token}", self._response_url)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        loop.run_until_complete(self._runner.setup())
        loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
        ready.set()
        loop.run_forever()
        loop.run_until_complete(self._runner.cleanup())
        loop.close()

    def stop(self) -> None:
        if self._loop is not None:

            async def close_sockets() -> None:
                for ws in list(self._sockets):
                    await ws.close()

            asyncio.run_coroutine_threadsafe(close_sockets(), self._loop).result(5)
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    # ------------------------------------------------------------------ test controls
    def next_ts(self) -> str:
        return f"{self._ts_base}.{next(self._ts):06d}"

    def fail_next(self, method: str, times: int = 1, retry_after: int = 0) -> None:
        """Answer the next `times` calls of `method` with 429 Too Many Requests."""
        with self._cond:
            self._fail[method] = [times, retry_after]

    def add_message(self, channel: str, message: dict) -> None:
        with self._cond:
            self.messages.setdefault(channel, []).append(dict(message))

    def reset(self) -> None:
        with self._cond:
            self.calls.clear()
            self.socket_acks.clear()
            self._fail.clear()

    def calls_to(self, method: str, *, ok_only: bool = True) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if c.method == method and (c.status == 200 or not ok_only)]

    def wait_for(self, predicate, timeout: float = 60.0, what: str = "a call") -> Any:
        """Wait until predicate(calls) is truthy; return its value."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = predicate(list(self.calls))
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    methods = [(c.method, c.status) for c in self.calls]
                    raise TimeoutError(f"timed out waiting for {what}; calls so far: {methods}")
                self._cond.wait(remaining)

    def wait_call(self, method: str, timeout: float = 60.0, **match: Any) -> Call:
        def pred(calls: list[Call]) -> Call | None:
            for call in calls:
                if (
                    call.method == method
                    and call.status == 200
                    and all(call.args.get(k) == v for k, v in match.items())
                ):
                    return call
            return None

        return self.wait_for(pred, timeout, what=f"{method} {match}")

    def send_socket(self, envelope: dict) -> None:
        """Send a Socket Mode envelope to every connected client."""
        assert self._loop is not None

        async def send() -> None:
            for ws in list(self._sockets):
                await ws.send_str(json.dumps(envelope))

        asyncio.run_coroutine_threadsafe(send(), self._loop).result(5)

    def wait_socket_connected(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not self._sockets:
            if time.monotonic() > deadline:
                raise TimeoutError("no Socket Mode client connected")
            time.sleep(0.05)

    # ------------------------------------------------------------------ handlers
    def _record(self, method: str, args: dict, request: web.Request, status: int, response: dict | None = None) -> None:
        with self._cond:
            self.calls.append(Call(method, args, dict(request.headers), status, response=response or {}))
            self._cond.notify_all()

    async def _read_args(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            raw = await request.read()
            ctype = request.headers.get("Content-Type", "")
            if "json" in ctype:
                args.update(json.loads(raw or b"{}"))
            elif raw:
                args.update(dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True)))
        return args

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._read_args(request)
        with self._cond:
            fail = self._fail.get(method)
            if fail and fail[0] > 0:
                fail[0] -= 1
                retry_after = fail[1]
            else:
                retry_after = None
        if retry_after is not None:
            self._record(method, args, request, 429)
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": str(retry_after)}
            )
        if request.headers.get("Authorization") not in (f"Bearer {BOT_TOKEN}", f"Bearer {APP_TOKEN}"):
            self._record(method, args, request, 200)
            return web.json_response({"ok": False, "error": "invalid_auth"})
        body = self._handle(method, args)
        self._record(method, args, request, 200, body)
        return web.json_response(body)

    def _handle(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://fake.slack.test/",
                "team": "Fake Team",
                "user": "citebot",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
                "is_enterprise_install": False,
            }
        if method == "chat.postMessage":
            channel = args.get("channel", "")
            ts = self.next_ts()
            message = {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "text": args.get("text", ""), "ts": ts}
            if args.get("thread_ts"):
                message["thread_ts"] = args["thread_ts"]
            self.add_message(channel, message)
            return {"ok": True, "channel": channel, "ts": ts, "message": message}
        if method == "chat.update":
            with self._cond:
                for message in self.messages.get(args.get("channel", ""), []):
                    if message["ts"] == args.get("ts"):
                        message["text"] = args.get("text", "")
                        break
                else:
                    return {"ok": False, "error": "message_not_found"}
            return {"ok": True, "channel": args.get("channel"), "ts": args.get("ts"), "text": args.get("text", "")}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self.next_ts()}
        if method == "conversations.replies":
            thread = args.get("ts")
            with self._cond:
                msgs = [
                    dict(m)
                    for m in self.messages.get(args.get("channel", ""), [])
                    if m["ts"] == thread or m.get("thread_ts") == thread
                ]
            msgs.sort(key=lambda m: float(m["ts"]))
            return {"ok": True, "messages": msgs, "has_more": False}
        if method == "views.publish":
            view = args.get("view")
            return {"ok": True, "view": json.loads(view) if isinstance(view, str) else view}
        if method == "apps.connections.open":
            return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket"}
        return {"ok": True}

    async def _response_url(self, request: web.Request) -> web.Response:
        args = await self._read_args(request)
        args["_token"] = request.match_info["token"]
        self._record("response_url", args, request, 200)
        return web.Response(text="ok")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1, "connection_info": {"app_id": APP_ID}}))
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    data = json.loads(msg.data)
                    with self._cond:
                        self.socket_acks.append(data)
                        self._cond.notify_all()
        finally:
            self._sockets.remove(ws)
        return ws


# ---------------------------------------------------------------------- requests as Slack sends them
def sign(body: str, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


_event_ids = itertools.count(1)


def event_envelope(event: dict, event_id: str | None = None) -> dict:
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_event_ids):08d}{int(time.time() * 1000) % 100000:05d}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True, "enterprise_id": None}],
        "is_ext_shared_channel": False,
    }


def event_request(
    event: dict,
    event_id: str | None = None,
    retry_num: int | None = None,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
) -> tuple[str, dict[str, str], dict]:
    envelope = event_envelope(event, event_id)
    body = json.dumps(envelope)
    headers = {"Content-Type": "application/json", **sign(body, secret, timestamp)}
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    return body, headers, envelope


def command_request(
    text: str, *, user: str, channel: str, response_url: str, command: str = "/ask", secret: str = SIGNING_SECRET
) -> tuple[str, dict[str, str]]:
    body = urlencode(
        {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "team_domain": "fake",
            "channel_id": channel,
            "channel_name": "general",
            "user_id": user,
            "user_name": "tester",
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": f"{int(time.time())}.trigger",
        }
    )
    return body, {"Content-Type": "application/x-www-form-urlencoded", **sign(body, secret)}


def action_request(
    action_id: str,
    value: str,
    *,
    user: str,
    channel: str,
    message_ts: str,
    response_url: str,
    thread_ts: str | None = None,
    is_ephemeral: bool = False,
    secret: str = SIGNING_SECRET,
) -> tuple[str, dict[str, str]]:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "tester", "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "token": "legacy-verification-token",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": is_ephemeral},
        "trigger_id": f"{int(time.time())}.trigger",
        "team": {"id": TEAM_ID, "domain": "fake"},
        "channel": {"id": channel, "name": "general"},
        "message": {
            "type": "message",
            "ts": message_ts,
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            **({"thread_ts": thread_ts} if thread_ts else {}),
        },
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": f"citebot_feedback:{value}",
                "value": value,
                "type": "button",
                "action_ts": str(time.time()),
            }
        ],
    }
    body = urlencode({"payload": json.dumps(payload)})
    return body, {"Content-Type": "application/x-www-form-urlencoded", **sign(body, secret)}


def block_texts(blocks: list[dict]) -> list[str]:
    """Every text in a list of blocks, in order."""
    out: list[str] = []
    for block in blocks:
        if isinstance(block.get("text"), dict):
            out.append(block["text"].get("text", ""))
        for element in block.get("elements", []) or []:
            if isinstance(element, dict):
                if isinstance(element.get("text"), dict):
                    out.append(element["text"].get("text", ""))
                elif isinstance(element.get("text"), str):
                    out.append(element["text"])
    return out
