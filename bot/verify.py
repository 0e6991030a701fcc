"""Checks of a Slack HTTP request before Bolt sees it, and a log filter for Bolt's own logger.

Bolt (1.30) parses the body before it verifies the signature, and `int()`s the timestamp header:
a body that is not JSON, or a timestamp like `abc`, raised inside Bolt and came back as an
unauthenticated 500 with a traceback in the log. Here the order is the safe one: timestamp and
signature first (401, nothing parsed, nothing logged of the body), then the body (400).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slack_bolt.request.internals import parse_body

MAX_CLOCK_SKEW_S = 5 * 60  # Slack's own rule: refuse requests older (or newer) than five minutes


@dataclass(frozen=True)
class Rejection:
    status: int
    code: str
    message: str


def _unauthorized(message: str) -> Rejection:
    return Rejection(401, "unauthorized", message)


class SlackRequestCheck:
    def __init__(self, signing_secret: str) -> None:
        self._secret = signing_secret.encode()

    def check(self, body: bytes, headers: Mapping[str, str], now: float | None = None) -> Rejection | None:
        """None when the request is signed by Slack and its body is one Bolt can read."""
        timestamp = headers.get("x-slack-request-timestamp", "").strip()
        signature = headers.get("x-slack-signature", "").strip()
        if not timestamp or not signature:
            return _unauthorized("missing X-Slack-Request-Timestamp or X-Slack-Signature: not a request from Slack")
        if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
            return _unauthorized("X-Slack-Request-Timestamp is not a Unix time in seconds")
        if abs((time.time() if now is None else now) - int(timestamp)) > MAX_CLOCK_SKEW_S:
            return _unauthorized("the request is more than five minutes old (or the server clock is off)")
        if not self._signed(body, timestamp, signature):
            return _unauthorized("invalid Slack signature: check SLACK_SIGNING_SECRET")
        return _check_body(body, headers.get("content-type"))

    def _signed(self, body: bytes, timestamp: str, signature: str) -> bool:
        """Slack's v0 scheme, over the raw bytes (slack_sdk's verifier decodes them as UTF-8 first,
        which raises on a body that is not)."""
        base = b"v0:" + timestamp.encode("ascii") + b":" + body
        expected = "v0=" + hmac.new(self._secret, base, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


def _check_body(body: bytes, content_type: str | None) -> Rejection | None:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return Rejection(400, "bad_request", "the body is not UTF-8 text")
    media = content_type.split(";", 1)[0].strip() if content_type else None
    try:
        parsed: Any = parse_body(text, media)  # exactly how Bolt will read it
    except ValueError:  # json.JSONDecodeError included
        return Rejection(400, "bad_request", "the body is neither JSON nor a form with a JSON `payload`")
    if not isinstance(parsed, dict):
        return Rejection(400, "bad_request", "the body must be a JSON object")
    return None


class NoRequestBodies(logging.Filter):
    """Keeps request bodies out of Bolt's log lines: Bolt logs the whole body of every request whose
    signature fails (64 KB each, at INFO), which would hold users' messages even with
    CITEBOT_LOG_QUESTIONS off."""

    MARK = "Invalid request signature detected"

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith(self.MARK):
            record.msg = "slack.invalid_signature (request body not logged)"
            record.args = ()
        return True
