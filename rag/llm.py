"""The `openai` generator: OpenAI, or any OpenAI-compatible server (vLLM, Ollama, llama.cpp).

Built on llama-index's OpenAI LLM (`OpenAILike` for model names llama-index does not know, e.g.
a local model behind OPENAI_BASE_URL). The system prompt lives in prompts/answer_with_citations.txt.
The model answers with [n] markers and a QUOTES block; `parse_llm_output` turns that into a Draft,
which the citation verifier (rag/citations.py) then checks against the stored chunks.

Retries: the official `openai` client retries 408/409/429/5xx, timeouts and connection errors
`openai_max_retries` times with exponential backoff (0.5 s, 1 s, 2 s ... capped at 8 s, jittered), and
honours `Retry-After`. llama-index's own tenacity retry is switched off so retries do not multiply.
Every failure after that becomes a GeneratorError whose message names the provider and what to do,
never the key. The only module besides rag/embedding.py that imports openai.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rag.errors import ConfigError, GeneratorError
from rag.passages import Draft, Passage
from rag.schemas import Turn
from rag.settings import Settings

log = logging.getLogger(__name__)

ANSWER_PROMPT = "answer_with_citations.txt"
NOT_FOUND = "NOT_FOUND"
REPO_PROMPTS = Path(__file__).resolve().parents[1] / "prompts"
LOCAL_CONTEXT_WINDOW = 8192  # for OpenAI-compatible models llama-index does not know

_VERSION_RE = re.compile(r"^#\s*version:\s*(\S+)\s*$", re.I)
_QUOTES_HEADER_RE = re.compile(r"^[ \t*_#>-]*QUOTES[ \t*_]*:[ \t*_]*$", re.I | re.M)
_QUOTE_LINE_RE = re.compile(r"^[ \t>*-]*\[(\d+)\][ \t:.-]*(.+?)\s*$")
_NOT_FOUND_LINE_RE = re.compile(r"^[ \t*_`]*NOT_FOUND[ \t*_`.]*$", re.M)
_MARKER_RE = re.compile(r"\[\d+\]")
_QUOTE_CHARS = "\"'“”‘’«»"


# -- the prompt ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Prompt:
    name: str
    version: str
    text: str


def prompts_dir(settings: Settings | None = None) -> Path:
    """settings.prompts_dir, else the repo's prompts/, else ./prompts (a non-editable install)."""
    if settings is not None and settings.prompts_dir:
        return Path(settings.prompts_dir)
    return REPO_PROMPTS if REPO_PROMPTS.is_dir() else Path.cwd() / "prompts"


def load_prompt(name: str = ANSWER_PROMPT, directory: Path | None = None) -> Prompt:
    """Read a prompt file: first line `# version: N`, then `#` header lines, then the prompt."""
    path = (directory or prompts_dir()) / name
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"prompt file {path} cannot be read ({exc.strerror}): set CITEBOT_PROMPTS_DIR") from exc
    lines = raw.splitlines()
    match = _VERSION_RE.match(lines[0]) if lines else None
    if not match:
        raise ConfigError(f"prompt file {path} must start with a line like `# version: 1`")
    body = lines[1:]
    while body and body[0].startswith("#"):
        body.pop(0)
    text = "\n".join(body).strip()
    if not text:
        raise ConfigError(f"prompt file {path} has a header but no prompt")
    if name == ANSWER_PROMPT and (NOT_FOUND not in text or "QUOTES:" not in text):
        raise ConfigError(f"prompt file {path} must keep the NOT_FOUND and QUOTES: output contract")
    return Prompt(name=name, version=match.group(1), text=text)


def format_passages(passages: list[Passage]) -> str:
    """`[n] (title — source)` then the passage text, one blank line apart."""
    return "\n\n".join(f"[{p.n}] ({p.title or 'untitled'} — {p.source})\n{p.text.strip()}" for p in passages)


def user_message(question: str, passages: list[Passage]) -> str:
    return (
        "<passages>\n"
        f"{format_passages(passages)}\n\n"
        "</passages>\n\n"
        f"<question>\n{question.strip()}\n</question>\n\n"
        f"Answer from passages [1] to [{len(passages)}] only, following the rules, then the QUOTES block."
        if passages
        else f"<passages>\n</passages>\n\n<question>\n{question.strip()}\n</question>\n\nThere are no passages."
    )


def build_messages(prompt: Prompt, question: str, passages: list[Passage], history: list[Turn] | None) -> list[dict]:
    """System prompt, earlier turns (as plain chat turns), then passages + question."""
    messages = [{"role": "system", "content": prompt.text}]
    messages += [{"role": turn.role, "content": turn.content} for turn in history or []]
    messages.append({"role": "user", "content": user_message(question, passages)})
    return messages


# -- parsing the model's output ------------------------------------------------------------------
def _strip_quote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] in _QUOTE_CHARS and text[-1] in _QUOTE_CHARS:
        text = text[1:-1].strip()
    return text


def split_quotes_block(text: str) -> tuple[str, str]:
    """(answer part, QUOTES block body); the block starts at the last `QUOTES:` line."""
    headers = list(_QUOTES_HEADER_RE.finditer(text))
    if not headers:
        return text, ""
    last = headers[-1]
    return text[: last.start()], text[last.end() :]


def parse_llm_output(text: str, model: str | None = None) -> Draft:
    """Model output -> Draft(text without the QUOTES block, quotes {n: [quote, ...]}, abstained)."""
    answer, block = split_quotes_block(text or "")
    quotes: dict[int, list[str]] = {}
    for line in block.splitlines():
        match = _QUOTE_LINE_RE.match(line)
        if not match:
            continue
        quote = _strip_quote(match.group(2))
        if quote:
            quotes.setdefault(int(match.group(1)), [])
            if quote not in quotes[int(match.group(1))]:
                quotes[int(match.group(1))].append(quote)
    abstained = False
    if _NOT_FOUND_LINE_RE.search(answer):
        rest = _NOT_FOUND_LINE_RE.sub("", answer).strip()
        if not _MARKER_RE.search(rest):  # nothing cited: a genuine abstention
            return Draft(text="", quotes={}, abstained=True, model=model)
        answer = rest  # a cited answer with a stray NOT_FOUND line: keep the answer
    answer = answer.strip()
    if answer.upper().rstrip(".") == NOT_FOUND:
        abstained, answer, quotes = True, "", {}
    return Draft(text=answer, quotes=quotes, abstained=abstained, model=model)


class QuotesBlockFilter:
    """Hide the QUOTES block (and a bare NOT_FOUND) from streamed deltas shown to a user.

    feed(delta) returns the text that is safe to show now; flush() the rest at the end. Text is held
    back only while it could still be the start of a `QUOTES:` line.
    """

    def __init__(self) -> None:
        self._buffer = ""
        self._shown = 0
        self._stopped = False

    def feed(self, delta: str) -> str:
        if self._stopped:
            return ""
        self._buffer += delta
        header = _QUOTES_HEADER_RE.search(self._buffer)
        if header:
            self._stopped = True
            return self._emit(header.start())
        # hold back the last, unfinished line only while it may still become `QUOTES:` or `NOT_FOUND`
        tail_start = self._buffer.rfind("\n") + 1
        core = self._buffer[tail_start:].strip(" \t*_#>-`").upper()
        if "QUOTES:".startswith(core) or NOT_FOUND.startswith(core):
            return self._emit(max(tail_start, self._shown))
        return self._emit(len(self._buffer))

    def flush(self) -> str:
        if self._stopped:
            return ""
        rest = self._buffer[self._shown :]
        self._shown = len(self._buffer)
        return "" if rest.strip() == NOT_FOUND else rest

    def _emit(self, upto: int) -> str:
        out = self._buffer[self._shown : upto]
        self._shown = max(self._shown, upto)
        return _NOT_FOUND_LINE_RE.sub("", out) if NOT_FOUND in out else out


# -- the generator -------------------------------------------------------------------------------
def _ensure_offline_tiktoken() -> None:
    """llama-index's OpenAI LLM calls tiktoken, which downloads unless pointed at a local cache."""
    if os.environ.get("TIKTOKEN_CACHE_DIR"):
        return
    import llama_index.core

    cache = Path(llama_index.core.__file__).parent / "_static" / "tiktoken_cache"
    if cache.is_dir():
        os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)


def _where(base_url: str | None) -> str:
    if not base_url:
        return "OpenAI"
    parts = urlsplit(base_url)
    host = parts.hostname or base_url
    return f"the OpenAI-compatible server at {host}{f':{parts.port}' if parts.port else ''}"


class OpenAIGenerator:
    """Answers with an OpenAI(-compatible) chat model. Thread-safe (one shared HTTP client)."""

    name = "openai"

    def __init__(self, settings: Settings, prompt: Prompt | None = None) -> None:
        if not settings.openai_api_key and not settings.openai_base_url:
            raise ConfigError(
                "CITEBOT_GENERATOR=openai needs OPENAI_API_KEY (OpenAI) or OPENAI_BASE_URL (a local "
                "OpenAI-compatible server such as vLLM, Ollama or llama.cpp)"
            )
        _ensure_offline_tiktoken()
        try:
            import openai
            from llama_index.llms.openai import OpenAI
            from llama_index.llms.openai.utils import is_chat_model, is_chatcomp_api_supported
            from llama_index.llms.openai_like import OpenAILike
        except ImportError as exc:  # pragma: no cover - pinned dependencies
            raise ConfigError("install llama-index-llms-openai and llama-index-llms-openai-like") from exc

        self.settings = settings
        self.model = settings.openai_model
        self.prompt = prompt or load_prompt(ANSWER_PROMPT, prompts_dir(settings))
        self.prompt_version = f"{self.prompt.name.removesuffix('.txt')}@{self.prompt.version}"
        self.where = _where(settings.openai_base_url)
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
        # Our own client: its retries (with backoff and Retry-After) are the only ones.
        self._client = openai.OpenAI(
            api_key=key,
            base_url=settings.openai_base_url or None,
            timeout=settings.openai_timeout_s,
            max_retries=settings.openai_max_retries,
        )
        common: dict[str, Any] = {
            "model": self.model,
            "temperature": settings.openai_temperature,
            "api_key": key,
            "timeout": settings.openai_timeout_s,
            "max_retries": 0,  # switches off llama-index's tenacity wrapper
            "openai_client": self._client,
        }
        if settings.openai_base_url:
            common["api_base"] = settings.openai_base_url
        if is_chat_model(self.model):
            if not is_chatcomp_api_supported(self.model):
                raise ConfigError(f"model {self.model} only works with OpenAI's Responses API: pick a chat model")
            self._llm = OpenAI(**common)
        else:  # a model name llama-index does not know: a local model, or a newer OpenAI model
            self._llm = OpenAILike(
                **common, is_chat_model=True, is_function_calling_model=False, context_window=LOCAL_CONTEXT_WINDOW
            )
        self._max_retries = settings.openai_max_retries

    @property
    def llm(self) -> Any:
        """The llama-index LLM behind this generator (e.g. for llama-index evaluators as a judge)."""
        return self._llm

    # -- Generator protocol -------------------------------------------------------------------
    def messages(self, question: str, passages: list[Passage], history: list[Turn] | None = None) -> list[Any]:
        from llama_index.core.llms import ChatMessage

        return [
            ChatMessage(role=m["role"], content=m["content"])
            for m in build_messages(self.prompt, question, passages, history)
        ]

    def generate(self, question: str, passages: list[Passage], history: list[Turn] | None = None) -> Draft:
        try:
            response = self._llm.chat(self.messages(question, passages, history))
        except Exception as exc:
            raise self._error(exc) from exc
        text = response.message.content
        if not text or not text.strip():
            raise GeneratorError(f"{self.where} returned an empty answer for model {self.model}")
        return self.parse(text)

    def stream(self, question: str, passages: list[Passage], history: list[Turn] | None = None) -> Iterator[str]:
        """Raw model output as it arrives (QUOTES block included; see QuotesBlockFilter)."""
        produced = False
        try:
            for chunk in self._llm.stream_chat(self.messages(question, passages, history)):
                if chunk.delta:
                    produced = True
                    yield chunk.delta
        except GeneratorExit:
            raise
        except Exception as exc:
            raise self._error(exc) from exc
        if not produced:
            raise GeneratorError(f"{self.where} returned an empty answer for model {self.model}")

    def parse(self, text: str) -> Draft:
        return parse_llm_output(text, model=self.model)

    # -- errors -------------------------------------------------------------------------------
    def _error(self, exc: Exception) -> GeneratorError:
        """A user-safe GeneratorError: what failed and what to do; never the key or provider text."""
        import httpx
        import openai

        n = self._max_retries
        tries = "no retries configured" if n == 0 else f"after {n} retr{'y' if n == 1 else 'ies'}"
        if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
            message = (
                f"{self.where} did not answer within {self.settings.openai_timeout_s:g}s ({tries}): "
                "check the server or raise CITEBOT_OPENAI_TIMEOUT_S"
            )
        elif isinstance(exc, openai.APIConnectionError | httpx.TransportError):
            message = f"{self.where} is not reachable ({tries}): start it or fix OPENAI_BASE_URL"
        elif isinstance(exc, openai.RateLimitError):
            message = f"{self.where} is rate limiting requests (HTTP 429, {tries}): wait, or raise your quota"
        elif isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            message = f"{self.where} rejected the API key (HTTP {exc.status_code}): check OPENAI_API_KEY"
        elif isinstance(exc, openai.NotFoundError):
            message = f"{self.where} does not serve model {self.model!r} (HTTP 404): set CITEBOT_OPENAI_MODEL"
        elif isinstance(exc, openai.APIStatusError):
            message = f"{self.where} failed with HTTP {exc.status_code} ({tries if exc.status_code >= 500 else 'not retried'})"
        elif isinstance(exc, json.JSONDecodeError | ValueError | openai.APIResponseValidationError):
            message = f"{self.where} returned a malformed response (not the OpenAI JSON format) for model {self.model}"
        else:
            message = f"{self.where} failed unexpectedly ({type(exc).__name__})"
        log.warning("llm_error provider=%s model=%s error=%s", self.where, self.model, type(exc).__name__)
        return GeneratorError(message)
