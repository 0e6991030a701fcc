"""Slack message text -> plain questions, and a thread's messages -> the conversation's Turns."""

from __future__ import annotations

import re

from bot import blocks
from rag.schemas import Turn

HISTORY_TURNS = 6  # the last three question/answer pairs of a thread

_USER_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")
_LINK = re.compile(r"<((?:https?|mailto):[^>|]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)(?:\|[^>]*)?>")


def clean_question(text: str, bot_user_id: str | None) -> str:
    """Slack message text -> plain question: drop the bot's mention, unwrap links, unescape."""
    text = _USER_MENTION.sub(lambda m: "" if m.group(1) == bot_user_id else f"@{m.group(1)}", text or "")
    text = _LINK.sub(lambda m: m.group(2) or m.group(1), text)
    text = _SPECIAL.sub(lambda m: f"@{m.group(1)}", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return " ".join(text.split())


def _before(message: dict, current: float) -> bool:
    try:
        return float(message.get("ts", "0")) < current
    except ValueError:
        return False


def _turn(message: dict, bot_user_id: str | None, bot_id: str | None) -> Turn | None:
    """One message of a thread as a Turn; None for what is not part of the conversation."""
    if message.get("subtype") not in (None, "thread_broadcast", "bot_message"):
        return None
    text = message.get("text") or ""
    is_ours = (bot_user_id is not None and message.get("user") == bot_user_id) or (
        bot_id is not None and message.get("bot_id") == bot_id
    )
    if is_ours:
        if text.startswith((blocks.PLACEHOLDER_TEXT, ":warning:", ":hourglass", "Usage:")):
            return None
        role = "assistant"
    elif message.get("bot_id"):
        return None  # other bots
    else:
        role = "user"
    content = clean_question(text, bot_user_id)
    return Turn(role=role, content=content[:8000]) if content else None  # type: ignore[arg-type]


def thread_turns(messages: list[dict], current_ts: str, bot_user_id: str | None, bot_id: str | None) -> list[Turn]:
    """conversations.replies messages (oldest first) -> the Turns before `current_ts`."""
    try:
        current = float(current_ts)
    except ValueError:
        current = float("inf")
    turns = [_turn(m, bot_user_id, bot_id) for m in messages if _before(m, current)]
    return [t for t in turns if t is not None][-HISTORY_TURNS:]
