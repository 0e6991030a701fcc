"""Answering one Slack question: the rate limit, a placeholder, the conversation so far, the
engine (through the bridge), then the answer in place of the placeholder, or one error line."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks
from bot.bridge import EngineBridge
from bot.guards import TTLSet
from bot.text import HISTORY_TURNS, clean_question, thread_turns
from rag.access import RateLimiter
from rag.errors import CitebotError, QuestionError
from rag.feedback import FeedbackStore
from rag.schemas import Answer, Turn
from rag.settings import Settings

log = logging.getLogger("citebot.slack")

DM_HISTORY_WINDOW_S = 600.0  # a DM question within 10 minutes of the last answer is read as a follow-up
GENERIC_FAILURE = "Sorry, I could not answer this one because something went wrong on my side. Please try again."
NO_QUESTION = "Ask me a question about the articles, e.g. “Who wrote the report?”"


def new_request_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass(frozen=True)
class Message:
    """Where a question was asked and where its answer and history belong."""

    raw_question: str
    channel: str
    user: str
    message_ts: str
    reply_thread_ts: str | None
    history_thread_ts: str | None
    bot_user_id: str | None
    bot_id: str | None = None
    dm_history: bool = False


class Answering:
    def __init__(self, bridge: EngineBridge, settings: Settings, store: FeedbackStore) -> None:
        self.bridge = bridge
        self.settings = settings
        self.store = store
        self.seen_messages = TTLSet(ttl_s=3600)
        self.limiter = RateLimiter(settings.slack_user_rate_limit_per_minute)

    # -- a message in a channel, thread or DM ---------------------------------------------------
    async def answer(self, client: AsyncWebClient, msg: Message) -> None:
        """Placeholder first, then the engine, then chat.update with the answer (or one error line)."""
        if not self.seen_messages.add(f"{msg.channel}:{msg.message_ts}"):
            return  # the same message arrived as app_mention and message, or as a retry
        started, request_id = time.perf_counter(), new_request_id()
        allowed, wait_s = self.limiter.allow(msg.user)
        if not allowed:
            line = blocks.rate_limited_text(self.limiter.per_minute, wait_s)
            await self._post_line(client, msg.channel, msg.reply_thread_ts, line, user=msg.user)
            return
        question_text = clean_question(msg.raw_question, msg.bot_user_id)
        try:
            question = self.bridge.engine.validate_question(question_text)
        except QuestionError as exc:
            line = blocks.error_text(str(exc) if question_text else NO_QUESTION, request_id)
            await self._post_line(client, msg.channel, msg.reply_thread_ts, line)
            return
        placeholder_ts = await self._placeholder(client, msg, request_id)
        if placeholder_ts is None:
            return
        placeholder_s = time.perf_counter() - started
        try:
            await self._fill(client, msg, question, placeholder_ts, request_id, started, placeholder_s)
        except Exception as exc:  # noqa: BLE001 - reported in the thread as one line, logged with the request id
            await self._report_failure(client, msg.channel, placeholder_ts, exc, request_id)

    async def _placeholder(self, client: AsyncWebClient, msg: Message, request_id: str) -> str | None:
        try:
            placeholder = await client.chat_postMessage(
                channel=msg.channel,
                thread_ts=msg.reply_thread_ts,
                text=blocks.PLACEHOLDER_TEXT,
                blocks=blocks.placeholder_blocks(),
            )
        except SlackApiError as exc:
            log.error("slack.placeholder_failed request_id=%s error=%s", request_id, exc.response.get("error"))
            return None
        if msg.reply_thread_ts:
            await asyncio.to_thread(self.store.add_thread, msg.channel, msg.reply_thread_ts)
        return placeholder["ts"]

    async def _fill(
        self,
        client: AsyncWebClient,
        msg: Message,
        question: str,
        placeholder_ts: str,
        request_id: str,
        started: float,
        placeholder_s: float,
    ) -> None:
        history = await self._history(client, msg)

        async def on_partial(text: str) -> None:
            await client.chat_update(
                channel=msg.channel, ts=placeholder_ts, text=text[:3000], blocks=blocks.streaming_blocks(text)
            )

        answer = await self.bridge.answer(question, history, request_id, on_partial=on_partial)
        answer_id = await asyncio.to_thread(
            self.store.save_answer, question, answer, user=msg.user, channel=msg.channel, thread_ts=msg.reply_thread_ts
        )
        text, answer_blocks = blocks.answer_blocks(answer, answer_id)
        await client.chat_update(channel=msg.channel, ts=placeholder_ts, text=text, blocks=answer_blocks)
        where = (request_id, msg.channel, msg.user)
        self._log_answer(*where, question, answer, started, placeholder_s, kind="message", history_turns=len(history))

    async def _report_failure(
        self, client: AsyncWebClient, channel: str, placeholder_ts: str, exc: Exception, request_id: str
    ) -> None:
        line = blocks.error_text(self.failure_message(exc, request_id), request_id)
        try:
            await client.chat_update(channel=channel, ts=placeholder_ts, text=line, blocks=[])
        except SlackApiError as update_exc:
            log.error("slack.error_report_failed request_id=%s error=%s", request_id, update_exc.response.get("error"))

    # -- /ask ------------------------------------------------------------------------------------
    async def answer_command(self, raw: str, user: str, channel: str, respond: Callable) -> None:
        """An ephemeral answer to `/ask <question>` (with a button to share it in the channel)."""
        request_id = new_request_id()
        allowed, wait_s = self.limiter.allow(user)
        if not allowed:
            await respond_safely(respond, blocks.rate_limited_text(self.limiter.per_minute, wait_s))
            return
        started = time.perf_counter()
        try:
            question = self.bridge.engine.validate_question(clean_question(raw, None))
            answer = await self.bridge.answer(question, None, request_id, on_partial=None)
            answer_id = await asyncio.to_thread(
                self.store.save_answer, question, answer, user=user, channel=channel, thread_ts=None
            )
            text, answer_blocks = blocks.answer_blocks(answer, answer_id, share=True)
            await respond(response_type="ephemeral", replace_original=True, text=text, blocks=answer_blocks)
            self._log_answer(request_id, channel, user, question, answer, started, placeholder_s=None, kind="ask")
        except Exception as exc:  # noqa: BLE001 - reported to the user as one line, logged with the request id
            message = self.failure_message(exc, request_id)
            await respond_safely(respond, blocks.error_text(message, request_id))

    # -- helpers ---------------------------------------------------------------------------------
    @staticmethod
    def failure_message(exc: Exception, request_id: str) -> str:
        if isinstance(exc, CitebotError):
            log.warning("slack.answer_failed request_id=%s type=%s error=%s", request_id, type(exc).__name__, exc)
            return str(exc)
        log.error("slack.answer_failed request_id=%s type=%s", request_id, type(exc).__name__, exc_info=exc)
        return GENERIC_FAILURE

    @staticmethod
    async def _post_line(
        client: AsyncWebClient, channel: str, thread_ts: str | None, text: str, *, user: str | None = None
    ) -> None:
        try:
            if user and not channel.startswith("D"):
                await client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts, text=text)
            else:
                await client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text)
        except SlackApiError as exc:
            log.error("slack.post_failed error=%s", exc.response.get("error"))

    async def _history(self, client: AsyncWebClient, msg: Message) -> list[Turn]:
        if msg.dm_history:
            return await asyncio.to_thread(
                self.store.recent_turns, msg.channel, None, limit=HISTORY_TURNS // 2, since_s=DM_HISTORY_WINDOW_S
            )
        if not msg.history_thread_ts:
            return []
        try:
            replies = await client.conversations_replies(channel=msg.channel, ts=msg.history_thread_ts, limit=100)
        except SlackApiError as exc:
            log.info("slack.replies_failed error=%s; using the bot's own record", exc.response.get("error"))
            return await asyncio.to_thread(
                self.store.recent_turns, msg.channel, msg.history_thread_ts, limit=HISTORY_TURNS // 2
            )
        return thread_turns(replies.get("messages") or [], msg.message_ts, msg.bot_user_id, msg.bot_id)

    def _log_answer(
        self,
        request_id: str,
        channel: str,
        user: str,
        question: str,
        answer: Answer,
        started: float,
        placeholder_s: float | None,
        *,
        kind: str,
        history_turns: int = 0,
    ) -> None:
        parts = [
            f"slack.answer kind={kind} request_id={request_id} channel={channel} user={user}",
            f"citations={len(answer.citations)} abstained={answer.abstained} mode={answer.mode}",
            f"history_turns={history_turns} total_ms={(time.perf_counter() - started) * 1000:.0f}",
        ]
        if placeholder_s is not None:
            parts.append(f"placeholder_ms={placeholder_s * 1000:.0f}")
        if self.settings.log_questions:
            parts.append(f"question={question[:200]!r}")
        log.info(" ".join(parts))


async def respond_safely(respond: Callable, text: str) -> None:
    try:
        await respond(response_type="ephemeral", replace_original=True, text=text)
    except Exception as exc:  # noqa: BLE001
        log.error("slack.respond_failed error=%s", exc)
