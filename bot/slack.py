"""The Slack bot's listeners: a slack-bolt AsyncApp whose listeners close over the one shared Engine.

Two ways to run it: HTTP mode (bot/http.py, `POST /slack/events` on the service's app, mounted by
rag.service) and Socket Mode (bot/socket.py, `citebot slack`). Answering a question lives in
bot/answering.py, the bridge to the blocking engine in bot/bridge.py.

Every request is acknowledged first and the work happens after the ack (Bolt lazy listeners, run as
asyncio tasks with `process_before_response=False`).

Slack retries an event (same `event_id`, header `X-Slack-Retry-Num`) when it did not see an ack in
3 s. Bolt itself does nothing special with retries: it dispatches them like new events. This module
de-duplicates them by `event_id`, and each user message by `channel:ts` (an `app_mention` and a
`message` event for the same message carry different event ids), in in-process TTL sets.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks
from bot.answering import Answering, Message, respond_safely
from bot.bridge import EngineBridge
from bot.client import make_web_client
from bot.guards import TTLSet
from bot.text import clean_question, thread_turns
from bot.verify import NoRequestBodies
from rag.errors import CitebotError, ConfigError
from rag.feedback import FeedbackStore
from rag.settings import Settings

__all__ = ["CitebotSlack", "clean_question", "create_slack_app", "slack_configured", "thread_turns"]

log = logging.getLogger("citebot.slack")


class CitebotSlack:
    """The listeners and their state (stores, de-duplication, rate limits) for one process."""

    def __init__(self, engine: Any, settings: Settings, *, socket_mode: bool = False) -> None:
        self.settings = settings
        self.store = FeedbackStore.for_settings(settings)
        self.seen_events = TTLSet(ttl_s=3600)
        self.bridge = EngineBridge(engine)
        self.answering = Answering(self.bridge, settings, self.store)
        self._bot_user_id: str | None = None
        self._bot_id: str | None = None

        signing_secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
        if not socket_mode and not signing_secret:
            raise ConfigError(
                "Slack HTTP mode needs SLACK_SIGNING_SECRET (Basic Information > App Credentials of your Slack app)."
            )
        self.client = make_web_client(settings)
        self.app = AsyncApp(
            client=self.client,
            signing_secret=signing_secret or "socket-mode-does-not-sign",
            process_before_response=False,
            request_verification_enabled=not socket_mode,
            logger=_bolt_logger(),
            name="citebot",
        )
        self._register()

    # ---------------------------------------------------------------------------- registration
    def _register(self) -> None:
        app = self.app
        app.use(self._dedupe_retries)
        app.event("app_mention")(ack=_ack, lazy=[self.on_mention])
        app.event("message")(ack=_ack, lazy=[self.on_message])
        app.event("app_home_opened")(ack=_ack, lazy=[self.on_home_opened])
        app.command("/ask")(ack=self.ack_ask, lazy=[self.on_ask])
        app.action(blocks.ACTION_FEEDBACK_UP)(ack=_ack, lazy=[self.on_feedback])
        app.action(blocks.ACTION_FEEDBACK_DOWN)(ack=_ack, lazy=[self.on_feedback])
        app.action(blocks.ACTION_SHARE)(ack=_ack, lazy=[self.on_share])
        app.error(self._on_error)

    async def _dedupe_retries(self, body: dict, next: Callable, logger: logging.Logger) -> BoltResponse | None:
        event_id = body.get("event_id") if isinstance(body, dict) else None
        if event_id and not self.seen_events.add(str(event_id)):
            log.info("slack.retry_ignored event_id=%s", event_id)
            return BoltResponse(status=200, body="")
        return await next()

    async def _on_error(self, error: Exception, body: dict) -> None:
        log.error("slack.listener_error type=%s error=%s", type(error).__name__, error)

    # ---------------------------------------------------------------------------- identity
    async def _identity(self, context: Any) -> tuple[str | None, str | None]:
        bot_user_id = getattr(context, "bot_user_id", None) or self._bot_user_id
        bot_id = getattr(context, "bot_id", None) or self._bot_id
        if not bot_user_id:
            try:
                auth = await self.client.auth_test()
                self._bot_user_id, self._bot_id = auth.get("user_id"), auth.get("bot_id")
                bot_user_id, bot_id = self._bot_user_id, self._bot_id
            except SlackApiError as exc:
                log.warning("slack.auth_test_failed error=%s", exc.response.get("error"))
        else:
            self._bot_user_id, self._bot_id = bot_user_id, bot_id or self._bot_id
        return bot_user_id, bot_id

    # ---------------------------------------------------------------------------- events
    async def on_mention(self, event: dict, context: Any, client: AsyncWebClient) -> None:
        if event.get("bot_id") or event.get("subtype") not in (None, "thread_broadcast"):
            return  # other bots mentioning us, edits of a mention
        bot_user_id, bot_id = await self._identity(context)
        ts, in_thread = event["ts"], event.get("thread_ts")
        message = Message(
            raw_question=event.get("text", ""),
            channel=event["channel"],
            user=event.get("user", ""),
            message_ts=ts,
            reply_thread_ts=in_thread or ts,
            history_thread_ts=in_thread,
            bot_user_id=bot_user_id,
            bot_id=bot_id,
        )
        await self.answering.answer(client, message)

    async def on_message(self, event: dict, context: Any, client: AsyncWebClient) -> None:
        # ignore edits (message_changed), deletions (message_deleted), joins, bot posts, our own posts
        if event.get("subtype") not in (None, "thread_broadcast") or event.get("bot_id"):
            return
        bot_user_id, bot_id = await self._identity(context)
        user = event.get("user")
        if not user or user == bot_user_id:
            return
        channel, ts, thread_ts = event["channel"], event["ts"], event.get("thread_ts")
        text = event.get("text", "")
        is_dm = event.get("channel_type") == "im"
        if not is_dm:
            if not thread_ts or thread_ts == ts:
                return  # a top-level channel message without a mention is not for us
            if bot_user_id and f"<@{bot_user_id}" in text:
                return  # the app_mention event for this message answers it
            if not await asyncio.to_thread(self.store.is_bot_thread, channel, thread_ts):
                return
        message = Message(
            raw_question=text,
            channel=channel,
            user=user,
            message_ts=ts,
            reply_thread_ts=thread_ts,
            history_thread_ts=thread_ts,
            bot_user_id=bot_user_id,
            bot_id=bot_id,
            dm_history=is_dm and thread_ts is None,
        )
        await self.answering.answer(client, message)

    async def on_home_opened(self, event: dict, context: Any, client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        bot_user_id, _ = await self._identity(context)
        try:
            documents = await self.bridge.call(self.bridge.engine.documents)
            view = blocks.home_view(documents, bot_user_id=bot_user_id)
        except CitebotError as exc:
            view = blocks.home_view([], bot_user_id=bot_user_id, error=str(exc))
        try:
            await client.views_publish(user_id=event["user"], view=view)
        except SlackApiError as exc:
            log.warning("slack.home_publish_failed error=%s", exc.response.get("error"))

    # ---------------------------------------------------------------------------- /ask
    async def ack_ask(self, ack: Callable, command: dict) -> None:
        if not (command.get("text") or "").strip():
            await ack(response_type="ephemeral", text="Usage: `/ask <question>`, e.g. `/ask Who wrote the report?`")
            return
        await ack(response_type="ephemeral", text=f":mag: {blocks.PLACEHOLDER_TEXT}")

    async def on_ask(self, command: dict, respond: Callable) -> None:
        raw = (command.get("text") or "").strip()
        if not raw:
            return
        user, channel = command.get("user_id", ""), command.get("channel_id", "")
        await self.answering.answer_command(raw, user, channel, respond)

    # ---------------------------------------------------------------------------- buttons
    async def on_feedback(self, body: dict, action: dict, respond: Callable) -> None:
        vote = "up" if action.get("action_id") == blocks.ACTION_FEEDBACK_UP else "down"
        user = (body.get("user") or {}).get("id", "")
        channel = (body.get("channel") or {}).get("id")
        answer_id = action.get("value", "")
        stored = await asyncio.to_thread(self.store.record_vote, answer_id, user=user, channel=channel, vote=vote)
        if stored is None:
            log.warning("slack.feedback_unknown_answer answer_id=%s", answer_id)
            text = ":warning: I no longer have that answer, so the vote was not recorded."
        else:
            log.info("slack.feedback vote=%s answer_id=%s request_id=%s", vote, answer_id, stored.request_id)
            text = (
                "Thanks! Your :thumbsup: is recorded."
                if vote == "up"
                else "Thanks! Your :thumbsdown: is recorded; the maintainers review these answers."
            )
        if body.get("response_url"):
            try:
                await respond(response_type="ephemeral", replace_original=False, text=text)
            except Exception as exc:  # noqa: BLE001
                log.warning("slack.feedback_ack_failed error=%s", exc)

    async def on_share(self, body: dict, action: dict, respond: Callable, client: AsyncWebClient) -> None:
        user = (body.get("user") or {}).get("id", "")
        channel = (body.get("channel") or {}).get("id")
        stored = await asyncio.to_thread(self.store.get_answer, action.get("value", ""))
        if stored is None or not channel:
            await respond_safely(respond, ":warning: I no longer have that answer; please ask again.")
            return
        text, answer_blocks = blocks.answer_blocks(stored.answer, stored.id, asked_by=user, question=stored.question)
        try:
            posted = await client.chat_postMessage(channel=channel, text=text, blocks=answer_blocks)
            await asyncio.to_thread(self.store.add_thread, channel, posted["ts"])
        except SlackApiError as exc:
            # e.g. not_in_channel: post through the command's response_url instead
            log.info("slack.share_via_response_url error=%s", exc.response.get("error"))
            await respond(response_type="in_channel", replace_original=False, text=text, blocks=answer_blocks)
        try:
            await respond(delete_original=True)
        except Exception as exc:  # noqa: BLE001
            log.info("slack.share_delete_original_failed error=%s", exc)


def _bolt_logger() -> logging.Logger:
    logger = logging.getLogger("citebot.slack.bolt")
    if not any(isinstance(f, NoRequestBodies) for f in logger.filters):
        logger.addFilter(NoRequestBodies())
    return logger


async def _ack(ack: Callable) -> None:
    await ack()


def create_slack_app(engine: Any, settings: Settings, *, socket_mode: bool = False) -> AsyncApp:
    """The Bolt app; its listeners use `engine` (shared with the HTTP API in the same process)."""
    return CitebotSlack(engine, settings, socket_mode=socket_mode).app


def slack_configured(settings: Settings) -> bool:
    return bool(
        settings.slack_bot_token
        and settings.slack_bot_token.get_secret_value()
        and settings.slack_signing_secret
        and settings.slack_signing_secret.get_secret_value()
    )
