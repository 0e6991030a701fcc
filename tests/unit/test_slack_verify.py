"""bot.verify: Slack request checks (order: timestamp, signature, then body) and the log filter
that keeps request bodies out of Bolt's own log lines."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time

import pytest
from slack_bolt.middleware.request_verification.async_request_verification import AsyncRequestVerification
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.verify import NoRequestBodies, SlackRequestCheck

SECRET = "unit-signing-secret"


def signed(body: bytes, secret: str = SECRET, ts: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if ts is None else ts)
    digest = hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"x-slack-request-timestamp": stamp, "x-slack-signature": f"v0={digest}", "content-type": "application/json"}


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b'{"type": "event_callback"}', lambda: signed(b'{"type": "event_callback"}'), None),
        (
            b"token=x&command=%2Fask&text=hi",
            lambda: {**signed(b"token=x&command=%2Fask&text=hi"), "content-type": "application/x-www-form-urlencoded"},
            None,
        ),
        (b"{bad", lambda: signed(b"{bad"), 400),
        (b"[]", lambda: signed(b"[]"), 400),
        (b"{}", lambda: signed(b"{}", secret="other"), 401),
        (b"{}", lambda: signed(b"{}", ts=int(time.time()) - 301), 401),
        (b"{}", lambda: {**signed(b"{}"), "x-slack-request-timestamp": "12ab"}, 401),
        (b"{}", lambda: {"content-type": "application/json"}, 401),
        (b"\xff", lambda: signed(b"\xff"), 400),
        (b"\xff", lambda: signed(b"\xff", secret="other"), 401),
    ],  # headers are built when the test runs: a signature is only fresh for 5 minutes
)
def test_check(body, headers, status):
    rejection = SlackRequestCheck(SECRET).check(body, headers())
    assert (rejection.status if rejection else None) == status
    if rejection:
        assert rejection.message and rejection.code in {"unauthorized", "bad_request"}


def test_bolts_invalid_signature_log_line_loses_the_body(caplog):
    """Bolt's own verification middleware, with a base logger carrying the filter (as bot.slack sets it up)."""
    base = logging.getLogger("test.citebot.slack.bolt")
    base.addFilter(NoRequestBodies())
    middleware = AsyncRequestVerification(SECRET, base_logger=base)
    body = '{"event": {"text": "PRIVATE-TEXT ' + "x" * 60_000 + '"}}'
    request = AsyncBoltRequest(
        body=body, headers={"x-slack-request-timestamp": str(int(time.time())), "x-slack-signature": "v0=bad"}
    )

    async def next_() -> BoltResponse:
        raise AssertionError("an invalid signature must not reach the listeners")

    caplog.set_level(logging.DEBUG)
    response = asyncio.run(middleware.async_process(req=request, resp=BoltResponse(status=200), next=next_))
    assert response.status == 401
    messages = [r.getMessage() for r in caplog.records]
    assert any("invalid_signature" in m for m in messages)
    assert not any("PRIVATE-TEXT" in m for m in messages)
