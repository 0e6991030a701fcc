"""Code-shaped tokens: the answers of "what command / option / setting ..." questions in manuals.

OntoNotes labels do not cover commands, options, settings or keywords, so a sentence's candidates for
such a question are read from the shape of its tokens, never from a list of any corpus's words:
  inner punctuation        `core.eol`, `pg_restore`, `info/exclude`, `~/.git-credentials`, `@{-1}`
  a leading dash           `-x`, `--dry-run`, `-Fc`
  shell variables          `$GIT_DIR`, `$(basename <path>)`
  upper-case keyword runs  `PARTITION BY`, `ACCESS EXCLUSIVE`, `ONLY` (a single word needs 4 letters)
  a shell prompt line      `$ dropdb mydb`: everything after the prompt
  apposition               "a strategy called the ort strategy", "named X", "known as X"
A token the question already holds is not an answer to it. A path (a `/` or a leading `~`) is also a
place, for "where" questions about files.
"""

from __future__ import annotations

import re

from rag.nlp import Span
from rag.text import STOPWORDS

_PIECE = r"[\w~$@{}\-+*]"
CODE_TOKEN = re.compile(
    r"(?<![\w-])--?[A-Za-z][\w-]*(?:=\S+)?"  # options
    r"|\$\([^)\s]*(?:\s[^)]*)?\)|\$\{?[A-Z_][A-Z0-9_]*\}?(?:/[\w./-]*)?"  # $(cmd), $VARS[/path]
    r"|(?<![\w.:/])/" + _PIECE + r"+(?:[./]" + _PIECE + r"+)*"  # absolute paths: "/usr/bin/editor", "/etc"
    r"|(?<![\w.])" + _PIECE + r"*\w" + _PIECE + r"*(?:[._/]" + _PIECE + r"+)+"  # dotted, snake, paths
    r"|~/[\w./-]+|@\{-?\w+\}"
)
KEYWORD_RUN = re.compile(r"\b[A-Z][A-Z_]+\b(?:\s+\b[A-Z][A-Z_]+\b)*")
PROMPT = re.compile(r"^\s*\$\s+(\S.*?)\s*$", re.S)
CALLED = re.compile(r"\b(?:called|named|known as)\s+((?:the\s+|a\s+|an\s+)?[\w.\-]+(?:\s+[a-z][\w-]*)?)")
NOT_CODE = re.compile(r"^(?:e\.g|i\.e|etc|vs|[\d.,/:-]+|\w\.)$", re.I)
MIN_KEYWORD_LETTERS = 4  # "ONLY", "VACUUM"; not "SQL", "OK" standing alone
PATH = re.compile(r"^(?:~|\$\{?[A-Z_]+\}?)?/|/|^~")


def code_tokens(text: str) -> list[Span]:
    """The code-shaped tokens of a sentence, in order (label "CODE")."""
    prompt = PROMPT.match(text)
    if prompt:
        return [Span(prompt.start(1), prompt.end(1), "CODE", prompt.group(1))]
    out = []
    for m in CODE_TOKEN.finditer(text):
        token = m.group(0).rstrip(".,;:)")
        if token and not NOT_CODE.match(token):
            out.append(Span(m.start(), m.start() + len(token), "CODE", token))
    for m in KEYWORD_RUN.finditer(text):
        run = m.group(0)
        if (" " in run or len(run) >= MIN_KEYWORD_LETTERS) and not _inside(m.start(), out):
            out.append(Span(m.start(), m.end(), "CODE", run))
    for m in CALLED.finditer(text):
        name = _without_trailing_stopword(m.group(1))  # "named program in the user's path": "program"
        if not _is_function_word(name):  # "named after the meaning", "called for": no name follows
            out.append(Span(m.start(1), m.start(1) + len(name), "CODE", name))
    return sorted(out, key=lambda s: s.start)


def _without_trailing_stopword(name: str) -> str:
    head, _, last = name.rpartition(" ")
    return head if head and last.lower() in STOPWORDS else name


def _is_function_word(name: str) -> bool:
    parts = name.split()
    core = parts[1] if len(parts) > 1 and parts[0].lower() in ("the", "a", "an") else parts[0]
    return core.lower() in STOPWORDS


def _inside(start: int, spans: list[Span]) -> bool:
    return any(s.start <= start < s.end for s in spans)


def is_path(token: str) -> bool:
    """ "~/.git-credentials", "info/exclude", "$GIT_DIR/info": a place in a file system."""
    return bool(PATH.search(token)) and not token.startswith(("http://", "https://"))


def new_to(question: str, span: Span) -> bool:
    """The token is not written in the question ("pg_restore" is new to "... made with pg_dump -Fc")."""
    asked = {w.strip(".,;:?!()\"'").lower() for w in question.split()}
    return span.text.lower() not in asked and span.text.lower() not in question.lower()
