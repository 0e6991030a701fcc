"""The one typed settings object. The only module that reads the environment."""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class GeneratorKind(str, Enum):
    extractive = "extractive"
    openai = "openai"


class UnverifiedClaims(str, Enum):
    remove = "remove"
    show = "show"


class EmbeddingKind(str, Enum):
    minilm = "minilm"
    openai = "openai"


def _env(name: str, *more: str) -> Any:
    """Accept CITEBOT_<NAME> and any standard unprefixed names (OPENAI_API_KEY...)."""
    return AliasChoices(f"CITEBOT_{name}", *more)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CITEBOT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    # storage
    data_dir: Path = Field(Path(".citebot"), description="Index, BM25 cache and feedback live here.")
    collection: str = Field("citebot", description="Chroma collection name.")
    chroma_host: str | None = Field(None, description="Chroma server host; unset = embedded Chroma.")
    chroma_port: int = Field(8000, description="Chroma server port.")

    # models
    embedding: EmbeddingKind = Field(EmbeddingKind.minilm, description="minilm (offline) or openai.")
    openai_embedding_model: str = Field("text-embedding-3-small")
    sentence_vectors: str = Field(
        "separate",
        pattern="^(pooled(-c[0-9]{1,2})?|separate)$",
        description="separate (default): every sentence embedded on its own; pooled: each sentence's vector "
        "is pooled from its chunk's own model pass (no second model pass); pooled-cN also pools N word pieces "
        "on each side. Dev splits, four corpora (right answers, separate 135): pooled 132, pooled-c4 134, "
        "pooled-c8 136, pooled-c16 135, every pooled variant 2 worse on postgresql. Changing it re-embeds "
        "documents at the next ingest.",
    )
    generator: GeneratorKind = Field(GeneratorKind.extractive, description="extractive or openai.")
    openai_model: str = Field("gpt-4.1-mini", description="Chat model for the openai generator.")
    openai_api_key: SecretStr | None = Field(None, validation_alias=_env("OPENAI_API_KEY", "OPENAI_API_KEY"))
    openai_base_url: str | None = Field(None, validation_alias=_env("OPENAI_BASE_URL", "OPENAI_BASE_URL"))
    openai_temperature: float | None = Field(
        None,
        ge=0.0,
        le=2.0,
        description="Sampling temperature; unset = 0 for known OpenAI chat models, none sent otherwise "
        "(reasoning models and many servers refuse it).",
    )
    openai_max_tokens: int = Field(1024, ge=16, le=32768, description="Longest answer the model may write.")
    openai_timeout_s: float = Field(30.0, gt=0, description="Timeout of one LLM attempt (capped by the time left).")
    openai_max_retries: int = Field(2, ge=0, le=10, description="Retries of LLM 429/5xx/timeouts.")
    prompts_dir: Path | None = Field(None, description="Folder of prompt files; unset = the repo's prompts/.")

    # answering
    top_k: int = Field(8, ge=1, le=50, description="Passages handed to the generator.")
    retrieval_fusion: str = Field(
        "minmax", pattern="^(rrf|minmax|zscore)$", description="How dense and BM25 lists are fused."
    )
    rerank: str = Field(
        "none", pattern="^(none|llm)$", description="llm: an OpenAI-compatible model reorders passages."
    )
    rerank_model: str | None = Field(None, description="Chat model of the reranker; unset = openai_model.")
    rerank_candidates: int = Field(20, ge=2, le=50, description="Fused passages the reranker reorders.")
    rerank_timeout_s: float = Field(10.0, gt=0, description="One rerank call; slower = the fused order is kept.")
    retrieval_doc_aggregation: str = Field(
        "max", pattern="^(max|sum)$", description="A document ranks by its best chunk (max) or best two (sum)."
    )
    index_refresh_s: float = Field(5.0, ge=0, description="How often a running engine looks for re-ingested chunks.")
    max_question_chars: int = Field(2000, ge=1)
    min_support: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Below this share of verified claims an LLM answer is replaced by the extractive one.",
    )
    unverified_claims: UnverifiedClaims = Field(
        UnverifiedClaims.remove, description="remove: drop claims no passage supports; show: list them as not verified."
    )
    fallback_reserve_s: float = Field(
        3.0, gt=0, description="Seconds of the request's budget kept for the extractive fallback."
    )

    # `citebot ask` as a client of a running `citebot serve`
    url: str | None = Field(None, description="A running `citebot serve` that `citebot ask` asks; unset = in-process.")
    ask_parse_in_child: bool = Field(
        True,
        description="`citebot ask QUESTION` analyses the question with spaCy in a forked child process while it "
        "starts the engine (two cores overlap); false = in this process, with spaCy loading in a thread.",
    )
    api_key: SecretStr | None = Field(None, description="Bearer key `citebot ask` sends to CITEBOT_URL.")

    # HTTP service
    host: str = Field("127.0.0.1")
    port: int = Field(8000)
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list, description="Comma-separated bearer keys; empty = no auth."
    )
    rate_limit_per_minute: int = Field(120, ge=0, description="Per key/IP on /ask; 0 = off.")
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    request_timeout_s: float = Field(60.0, gt=0)
    max_body_bytes: int = Field(65536, ge=1024, description="Largest request body the HTTP API accepts (413 above).")
    log_questions: bool = Field(True, description="Log question text at INFO.")
    http_header_timeout_s: float = Field(
        10.0, gt=0, le=300, description="Close a connection whose request line and headers take longer (408)."
    )
    http_body_timeout_s: float = Field(
        30.0, gt=0, le=600, description="Close a connection whose request body takes longer to arrive (408)."
    )
    log_level: str = Field("INFO")
    prometheus_multiproc_dir: Path | None = Field(
        None,
        validation_alias=AliasChoices("PROMETHEUS_MULTIPROC_DIR"),
        description="Set by `citebot serve --workers N` (prometheus_client's own variable): metrics of all workers.",
    )

    # Slack
    slack_bot_token: SecretStr | None = Field(None, validation_alias=_env("SLACK_BOT_TOKEN", "SLACK_BOT_TOKEN"))
    slack_signing_secret: SecretStr | None = Field(
        None, validation_alias=_env("SLACK_SIGNING_SECRET", "SLACK_SIGNING_SECRET")
    )
    slack_app_token: SecretStr | None = Field(None, validation_alias=_env("SLACK_APP_TOKEN", "SLACK_APP_TOKEN"))
    slack_api_url: str = Field("https://slack.com/api/")
    slack_user_rate_limit_per_minute: int = Field(10, ge=0)

    @field_validator("api_keys", "cors_origins", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("url", mode="before")
    @classmethod
    def _check_url(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().rstrip("/") or None
            if value and not value.startswith(("http://", "https://")):
                raise ValueError("CITEBOT_URL must start with http:// or https:// (e.g. http://127.0.0.1:8000)")
        return value

    @property
    def chroma_mode(self) -> str:
        return "server" if self.chroma_host else "embedded"

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def metrics_dir(self) -> Path:
        """Where `citebot serve --workers N` keeps prometheus_client's per-worker files."""
        return self.data_dir / "metrics"

    def masked(self) -> dict[str, Any]:
        """Effective settings with secrets masked, for `citebot config` and logs: secret fields,
        credentials inside URLs (`https://user:pass@host`) and secret-looking query parameters."""
        out: dict[str, Any] = {}
        for name, value in self.model_dump().items():
            if isinstance(value, SecretStr):
                out[name] = MASK if value.get_secret_value() else ""
            elif isinstance(value, list):
                out[name] = [_mask_value(v) for v in value]
            elif isinstance(value, Enum):
                out[name] = value.value
            elif isinstance(value, Path):
                out[name] = redact_url(str(value))
            else:
                out[name] = _mask_value(value)
        return out


MASK = "****"
_SECRET_PARAM = re.compile(r"(key|token|secret|passw|pwd|auth|sig|credential)", re.IGNORECASE)
_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/@\s?#]*)@")


def _mask_value(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return MASK if value.get_secret_value() else ""
    if isinstance(value, str):
        return redact_url(value)
    return value


def redact_url(text: str) -> str:
    """`text` with any user:password in URLs and secret-looking query values replaced by ****."""
    text = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{MASK}@", text)
    if "://" not in text or "?" not in text:
        return text
    try:
        parts = urlsplit(text)
        query = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError:
        return text
    if not any(_SECRET_PARAM.search(k) for k, _ in query):
        return text
    safe = [(k, MASK if _SECRET_PARAM.search(k) else v) for k, v in query]
    return urlunsplit(parts._replace(query=urlencode(safe, safe="*")))


def settings_env(settings: Settings) -> dict[str, str]:
    """CITEBOT_* variables that rebuild `settings` in a child process (`citebot serve` in tests, bench).

    Secrets are included in plain text: pass the result only to a child process's environment.
    """
    env: dict[str, str] = {}
    for name, value in settings:
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, list):
            value = ",".join(v.get_secret_value() if isinstance(v, SecretStr) else str(v) for v in value)
        elif isinstance(value, Enum):
            value = value.value
        env[f"CITEBOT_{name.upper()}"] = str(value)
    return env
