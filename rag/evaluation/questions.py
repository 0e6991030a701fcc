"""Question sets: the Question model, loading YAML/JSON/JSONL files, and the suites to run.

A suite is one split (dev or test) of one corpus: the seeds (tests/eval/questions.yaml is dev,
questions_test.yaml is test) and every folder under tests/eval/corpora/<name>/ (pages/ with the
documents, questions_dev.yaml and questions_test.yaml).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rag.errors import ConfigError
from rag.schemas import Turn

ANSWERABLE_TYPES = ("single_fact", "numeric", "paraphrase", "multi_doc", "multi_part", "conflict")
QUESTION_TYPES = (*ANSWERABLE_TYPES, "unanswerable", "injection", "feedback")
QuestionType = Literal[
    "single_fact",
    "numeric",
    "paraphrase",
    "multi_doc",
    "multi_part",
    "conflict",
    "unanswerable",
    "injection",
    "feedback",
]
SPLITS = ("dev", "test")
SEEDS_CORPUS = "seeds"
EVAL_DIR = Path("tests") / "eval"
DEFAULT_QUESTIONS = EVAL_DIR / "questions.yaml"
FILE_DEFAULTS = ("split", "corpus")


class Question(BaseModel):
    """One evaluation case. Unknown fields (e.g. from a feedback export) are kept, not rejected."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1)
    type: QuestionType
    question: str = Field(min_length=1)
    answer: str = ""
    key_facts: list[list[str]] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    forbidden: list[str] = Field(default_factory=list)
    history: list[Turn] = Field(default_factory=list, description="Earlier turns, sent with the question.")
    expect_abstain: bool | None = None
    needs_review: bool = False
    notes: str = ""
    split: Literal["", "dev", "test"] = Field("", description="dev (tune on it) or test (the gate; never tuned on).")
    corpus: str = Field("", description="Corpus the question is asked over ('' = the seeds).")
    origin: str = Field("", description="File the question was loaded from.")

    @field_validator("key_facts", mode="before")
    @classmethod
    def _groups(cls, value: Any) -> Any:
        # Accept a flat list of strings as one group per string: ["a", "b"] == [["a"], ["b"]].
        if isinstance(value, list):
            return [[g] if isinstance(g, str) else g for g in value]
        return [] if value is None else value

    @field_validator("sources", "forbidden", "history", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value

    @property
    def abstain_expected(self) -> bool:
        if self.expect_abstain is not None:
            return self.expect_abstain
        return self.type == "unanswerable"

    @property
    def scored(self) -> bool:
        """Feedback cases waiting for review are run and shown, but left out of every metric."""
        return not self.needs_review

    @property
    def answerable(self) -> bool:
        """Scored for accuracy: not expected to abstain and has key facts to look for."""
        return self.scored and not self.abstain_expected and bool(self.key_facts)


def load_questions(paths: Sequence[Path]) -> list[Question]:
    """Load questions from YAML (`questions:` list, or a bare list) and JSONL files; ids must be unique.

    File-level `split:` and `corpus:` keys apply to every question of the file that does not set its own.
    """
    out: list[Question] = []
    seen: dict[str, str] = {}
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"question file {path} does not exist: pass an existing YAML/JSONL file to --questions")
        defaults, items = _read_file(path)
        for where, raw in items:
            if not isinstance(raw, dict):
                raise ConfigError(f"{where}: each question must be a mapping, got {type(raw).__name__}")
            try:
                question = Question.model_validate({**defaults, **raw, "origin": str(path)})
            except ValidationError as exc:
                problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
                raise ConfigError(f"{where} (id {raw.get('id', '?')!r}) is not a valid question: {problems}") from exc
            if question.id in seen:
                raise ConfigError(f"{where}: question id {question.id!r} is already used in {seen[question.id]}")
            seen[question.id] = str(path)
            out.append(question)
    return out


def _read_file(path: Path) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    """(file-level defaults such as `split:` and `corpus:`, the questions with where each one stands)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        return {}, list(_jsonl_items(path, text))
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path} is not valid JSON: {exc.msg} (line {exc.lineno})") from exc
    else:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    defaults: dict[str, Any] = {}
    if isinstance(data, dict):
        version = data.get("version", 1)
        if version != 1:
            raise ConfigError(f"{path}: unsupported question-set version {version!r} (this citebot reads version 1)")
        defaults = {key: data[key] for key in FILE_DEFAULTS if key in data}
        data = data.get("questions")
    if not isinstance(data, list):
        raise ConfigError(f"{path}: expected a `questions:` list (or a list of questions)")
    return defaults, [(f"{path} question #{i + 1}", item) for i, item in enumerate(data)]


def _jsonl_items(path: Path, text: str) -> Iterable[tuple[str, Any]]:
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            yield f"{path}:{lineno}", json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{lineno} is not valid JSON: {exc.msg}") from exc


# ------------------------------------------------------------------------------------------------
# Suites
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Suite:
    """One split of one corpus. `documents` is None for the seeds: they use the configured index."""

    corpus: str
    split: str
    questions: Path
    documents: Path | None = None

    @property
    def name(self) -> str:
        return f"{self.corpus}/{self.split}"


def eval_root() -> Path:
    """tests/eval in the working directory, else next to the source checkout."""
    candidates = [Path.cwd() / EVAL_DIR, Path(__file__).resolve().parents[2] / EVAL_DIR]
    for candidate in candidates:
        if (candidate / "questions.yaml").is_file():
            return candidate
    raise ConfigError(
        f"no question set found at {candidates[0]}: run `citebot eval` from the citebot checkout "
        "or pass --questions FILE"
    )


def default_questions_path() -> Path:
    """tests/eval/questions.yaml (the seeds dev split)."""
    return eval_root() / "questions.yaml"


def discover_suites(root: Path | None = None) -> list[Suite]:
    """Every suite: the seeds' dev and test splits, then each corpus under corpora/ (sorted by name)."""
    root = eval_root() if root is None else Path(root)
    suites = [Suite(SEEDS_CORPUS, "dev", root / "questions.yaml")]
    if (root / "questions_test.yaml").is_file():
        suites.append(Suite(SEEDS_CORPUS, "test", root / "questions_test.yaml"))
    corpora = root / "corpora"
    for folder in sorted(p for p in corpora.iterdir() if p.is_dir()) if corpora.is_dir() else []:
        for split in SPLITS:
            path = folder / f"questions_{split}.yaml"
            if path.is_file():
                suites.append(Suite(folder.name, split, path, folder / "pages"))
    return suites


def select_suites(suites: list[Suite], corpora: Sequence[str] = (), splits: Sequence[str] = ()) -> list[Suite]:
    """The suites of the named corpora and splits (all when none is named); unknown names are an error."""
    known = sorted({s.corpus for s in suites})
    unknown = [c for c in corpora if c not in known]
    if unknown:
        raise ConfigError(f"no corpus named {', '.join(unknown)}: known corpora are {', '.join(known)}")
    bad = [s for s in splits if s not in SPLITS]
    if bad:
        raise ConfigError(f"unknown split {', '.join(bad)}: use {' or '.join(SPLITS)}")
    return [s for s in suites if (not corpora or s.corpus in corpora) and (not splits or s.split in splits)]
