"""Prompt files (prompts/*.txt): `# version: N`, then `#` header lines, then the prompt text.

Prompts are versioned files, loaded and validated here; the answer prompt must keep the output
contract the parser relies on (NOT_FOUND, and citations as `[n: "quote"]`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from rag.errors import ConfigError
from rag.settings import Settings

ANSWER_PROMPT = "answer_with_citations.txt"
NOT_FOUND = "NOT_FOUND"
REPO_PROMPTS = Path(__file__).resolve().parents[1] / "prompts"
_VERSION_RE = re.compile(r"^#\s*version:\s*(\S+)\s*$", re.I)
_INLINE_CITATION_RE = re.compile(r'\[n: "[^"\]]*"\]')


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
    if name == ANSWER_PROMPT and (NOT_FOUND not in text or not _INLINE_CITATION_RE.search(text)):
        raise ConfigError(f'prompt file {path} must keep the output contract: NOT_FOUND, and citations as [n: "quote"]')
    return Prompt(name=name, version=match.group(1), text=text)
