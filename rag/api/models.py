"""The HTTP API's own request and response models (the Answer itself is rag.schemas.Answer)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, StrictStr

from rag.api.openapi import ASK_EXAMPLES
from rag.schemas import Turn

MAX_HISTORY_ITEMS = 50


class HistoryTurn(Turn):
    """One earlier turn of the conversation; strict types so that `{"content": 5}` is refused."""

    model_config = ConfigDict(extra="forbid", strict=True)
    role: Literal["user", "assistant"]
    content: StrictStr = Field(max_length=8000)


def _integral_float(value: Any) -> Any:
    """JSON has one number type: `20.0` is the integer 20 (as JSON Schema's "integer" says); `20.5` is not."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


TopK = Annotated[StrictInt, Field(ge=1, le=50), BeforeValidator(_integral_float)]


class AskRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [example["value"] for example in ASK_EXAMPLES.values()]},
    )
    question: StrictStr = Field(
        min_length=1,
        max_length=100_000,  # the real limit (max_question_chars, on the stripped text) is checked by the engine
        description="The question, at most 2,000 characters once stripped (CITEBOT_MAX_QUESTION_CHARS).",
    )
    top_k: TopK | None = Field(None, description="Passages handed to the generator.")
    history: list[HistoryTurn] | None = Field(
        None, max_length=MAX_HISTORY_ITEMS, description="Earlier turns, oldest first (the last 6 are used)."
    )

    def turns(self) -> list[Turn] | None:
        return [Turn(role=t.role, content=t.content) for t in self.history] if self.history else None


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    ready: bool
    index_reachable: bool
    model_loaded: bool
    documents: int = 0
    chunks: int = 0
    embedding_model: str | None = None
    generator: str | None = None
    index_fingerprint: str | None = None
    message: str | None = None
