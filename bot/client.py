"""The Slack Web API client the bot posts with (retries on connection errors and Slack's 429s)."""

from __future__ import annotations

from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from rag.errors import ConfigError
from rag.settings import Settings

MAX_SLACK_RETRIES = 3


def make_web_client(settings: Settings) -> AsyncWebClient:
    if settings.slack_bot_token is None or not settings.slack_bot_token.get_secret_value():
        raise ConfigError(
            "The Slack bot needs a bot token: set SLACK_BOT_TOKEN (xoxb-…, from OAuth & Permissions of your Slack app)."
        )
    base_url = settings.slack_api_url if settings.slack_api_url.endswith("/") else settings.slack_api_url + "/"
    return AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=base_url,
        timeout=15,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=1),
            AsyncRateLimitErrorRetryHandler(max_retry_count=MAX_SLACK_RETRIES),
        ],
    )
