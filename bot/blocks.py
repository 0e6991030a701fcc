"""Answer -> Slack Block Kit.

Layout of an answer message:
  answer text (keeps the [n] markers; split into sections of at most SECTION_LIMIT characters)
  divider, "Sources", one section per cited number: *[n] Title* · `source`, then the quoted sentence
  context line (generator, support, request id), then the feedback buttons (and "Share in channel"
  on the ephemeral /ask answer).
Abstentions say plainly that the articles do not cover the question and list the nearest sources.
Limits respected (https://docs.slack.dev/reference/block-kit/blocks): 50 blocks per message,
3000 characters per section text, 2000 per button value, 10 elements per context block.
"""

from __future__ import annotations

import re
from typing import Any

from rag.schemas import Answer, Citation, DocumentInfo

MAX_BLOCKS = 50
SECTION_LIMIT = 2900  # Slack allows 3000; keep a margin for escaping differences
QUOTE_LIMIT = 500
FALLBACK_TEXT_LIMIT = 3000
NEAREST_SOURCES = 3

PLACEHOLDER_TEXT = "Searching the articles…"
ABSTAIN_TEXT = "The articles I have do not cover this question."

ACTION_FEEDBACK_UP = "citebot_feedback_up"
ACTION_FEEDBACK_DOWN = "citebot_feedback_down"
ACTION_SHARE = "citebot_share"

Block = dict[str, Any]


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _mrkdwn(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def split_text(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Split text into pieces of at most `limit` characters, preferring paragraph, then sentence,
    then word boundaries. Joining the pieces with whitespace gives back the words of `text`."""
    text = text.strip()
    if not text:
        return []
    pieces: list[str] = []
    current = ""

    def units() -> list[str]:
        out: list[str] = []
        for para in re.split(r"\n\s*\n", text):
            para = para.strip()
            if not para:
                continue
            if len(para) <= limit:
                out.append(para)
                continue
            for sentence in _SENTENCE_END.split(para):
                if len(sentence) <= limit:
                    out.append(sentence)
                    continue
                word_piece = ""
                for word in sentence.split(" "):
                    while len(word) > limit:  # a single "word" longer than the limit
                        if word_piece:
                            out.append(word_piece)
                            word_piece = ""
                        out.append(word[:limit])
                        word = word[limit:]
                    candidate = f"{word_piece} {word}" if word_piece else word
                    if len(candidate) > limit:
                        out.append(word_piece)
                        word_piece = word
                    else:
                        word_piece = candidate
                if word_piece:
                    out.append(word_piece)
            out.append("")  # paragraph break marker
        return out

    for unit in units():
        if unit == "":
            if current:
                current += "\n\n"
            continue
        joiner = "" if not current or current.endswith("\n\n") else " "
        if len(current) + len(joiner) + len(unit) <= limit:
            current += joiner + unit
        else:
            if current.strip():
                pieces.append(current.strip())
            current = unit
    if current.strip():
        pieces.append(current.strip())
    return pieces


def placeholder_blocks() -> list[Block]:
    return [_context(f":mag: {PLACEHOLDER_TEXT}")]


def streaming_blocks(partial: str) -> list[Block]:
    sections = [_mrkdwn(piece) for piece in split_text(escape(partial))][: MAX_BLOCKS - 1]
    return [*sections, _context(":hourglass_flowing_sand: Still writing…")]


def error_text(message: str, request_id: str | None) -> str:
    """One short line: what went wrong and the id to quote when reporting it."""
    line = " ".join(message.split())
    line = _clip(line, 300)
    return f":warning: {line} (request id `{request_id}`)" if request_id else f":warning: {line}"


def rate_limited_text(limit: int, wait_s: float) -> str:
    return (
        f":hourglass: You have asked {limit} questions in the last minute. "
        f"Please try again in {max(1, round(wait_s))} s."
    )


def _grouped_citations(citations: list[Citation]) -> list[tuple[int, list[Citation]]]:
    groups: dict[int, list[Citation]] = {}
    for citation in citations:
        groups.setdefault(citation.n, []).append(citation)
    return sorted(groups.items())


def citation_block(n: int, cites: list[Citation]) -> Block:
    first = cites[0]
    head = f"*[{n}] {escape(_clip(first.title, 200))}* · `{escape(_clip(first.source, 150))}`"
    quotes: list[str] = []
    for cite in cites:
        quote = escape(_clip(cite.quote, QUOTE_LIMIT))
        if quote and quote not in quotes:
            quotes.append(quote)
    body = "\n".join(f">{q}" for q in quotes[:3])
    return _mrkdwn(_clip_section(f"{head}\n{body}" if body else head))


def _clip_section(text: str) -> str:
    return text if len(text) <= SECTION_LIMIT else text[: SECTION_LIMIT - 1] + "…"


def nearest_source_lines(answer: Answer, limit: int = NEAREST_SOURCES) -> list[str]:
    seen: set[str] = set()
    lines: list[str] = []
    for src in answer.sources:
        if src.doc_id in seen:
            continue
        seen.add(src.doc_id)
        lines.append(f"• *{escape(_clip(src.title, 200))}* · `{escape(_clip(src.source, 150))}`")
        if len(lines) >= limit:
            break
    return lines


def feedback_actions(answer_id: str, *, share: bool = False) -> Block:
    elements: list[Block] = []
    if share:
        elements.append(
            {
                "type": "button",
                "action_id": ACTION_SHARE,
                "text": {"type": "plain_text", "text": "Share in channel"},
                "style": "primary",
                "value": answer_id,
            }
        )
    elements += [
        {
            "type": "button",
            "action_id": ACTION_FEEDBACK_UP,
            "text": {"type": "plain_text", "text": ":thumbsup: Helpful", "emoji": True},
            "value": answer_id,
        },
        {
            "type": "button",
            "action_id": ACTION_FEEDBACK_DOWN,
            "text": {"type": "plain_text", "text": ":thumbsdown: Not helpful", "emoji": True},
            "value": answer_id,
        },
    ]
    return {"type": "actions", "block_id": f"citebot_feedback:{answer_id}", "elements": elements}


def _footer(answer: Answer) -> Block:
    parts = [f"generator: {answer.mode}"]
    if not answer.abstained:
        parts.append(f"support {answer.support:.0%}")
    if answer.degraded:
        parts.append("fallback answer (the configured generator failed)")
    if answer.request_id:
        parts.append(f"request id `{answer.request_id}`")
    return _context(" · ".join(parts))


def answer_blocks(
    answer: Answer,
    answer_id: str,
    *,
    share: bool = False,
    asked_by: str | None = None,
    question: str | None = None,
) -> tuple[str, list[Block]]:
    """The fallback text (notifications, screen readers) and the blocks of one answer."""
    head: list[Block] = []
    if asked_by and question:
        head.append(_context(f"<@{asked_by}> asked: {escape(_clip(question, 500))}"))

    tail: list[Block] = [_footer(answer), feedback_actions(answer_id, share=share)]
    if answer.abstained or not answer.citations:
        # the engine's own abstention sentence ("I could not find this in the documents.") when it has one
        statement = _clip(answer.answer.strip(), 1000) or ABSTAIN_TEXT
        body: list[Block] = [_mrkdwn(f":mag: *{escape(statement)}*")]
        nearest = nearest_source_lines(answer)
        if nearest:
            body.append(_mrkdwn(_clip_section("The nearest sources I found:\n" + "\n".join(nearest))))
        return statement, head + body + tail

    text_sections = [_mrkdwn(piece) for piece in split_text(escape(answer.answer))]
    if answer.short_answer:
        text_sections.insert(0, _mrkdwn(f"*{escape(_clip(answer.short_answer, 500))}*"))
    groups = _grouped_citations(answer.citations)
    source_blocks = [citation_block(n, cites) for n, cites in groups]

    fixed = len(head) + len(tail) + 2  # divider + "Sources" header
    room = MAX_BLOCKS - fixed
    # keep at least the first sources visible; shorten the answer text if it alone is huge
    max_text = max(1, room - min(len(source_blocks), 10) - 1)  # -1: room for the "shortened" notice
    if len(text_sections) > max_text:
        text_sections = text_sections[:max_text]
        text_sections.append(_context("_The answer was shortened to fit in one Slack message._"))
    room -= len(text_sections)
    if len(source_blocks) > room:
        hidden = len(source_blocks) - (room - 1)
        source_blocks = source_blocks[: room - 1] + [_context(f"…and {hidden} more sources.")]

    body = [
        *text_sections,
        {"type": "divider"},
        _context("*Sources*"),
        *source_blocks,
    ]
    return _clip(answer.answer, FALLBACK_TEXT_LIMIT), head + body + tail


def home_view(documents: list[DocumentInfo], *, bot_user_id: str | None = None, error: str | None = None) -> dict:
    """The App Home tab: how to ask, and which articles the bot knows."""
    mention = f"<@{bot_user_id}>" if bot_user_id else "@citebot"
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": "citebot"}},
        _mrkdwn(
            "I answer questions from a collection of news articles and cite the sentences I used, "
            "numbered [1], [2]… When the articles do not cover a question, I say so."
        ),
        _mrkdwn(
            "*How to ask*\n"
            f"• Mention me in a channel: {mention} _Who claimed the Karachi airport attack?_ "
            "I answer in the thread.\n"
            "• Reply in that thread to ask a follow-up, no mention needed: _and when did it happen?_\n"
            "• Send me a direct message.\n"
            "• `/ask <question>` answers privately, with a button to share the answer in the channel.\n"
            "• :thumbsup: / :thumbsdown: on an answer tells the maintainers what to improve."
        ),
        {"type": "divider"},
    ]
    if error:
        blocks.append(_mrkdwn(f":warning: {escape(error)}"))
    else:
        blocks.append(_mrkdwn(f"*What I know* ({len(documents)} articles)"))
        room = 100 - len(blocks) - 1  # views allow 100 blocks
        for doc in documents[:room]:
            meta = [f"`{escape(_clip(doc.source, 120))}`"]
            if doc.publisher:
                meta.append(escape(doc.publisher))
            if doc.date:
                meta.append(escape(doc.date))
            meta.append(f"{doc.chunks} passages")
            blocks.append(_mrkdwn(f"*{escape(_clip(doc.title, 200))}*\n" + " · ".join(meta)))
        if len(documents) > room:
            blocks.append(_context(f"…and {len(documents) - room} more."))
    return {"type": "home", "blocks": blocks}
