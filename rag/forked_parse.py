"""The question of a cold `citebot ask`, analysed (rag.question.analyse) in a forked child process.

spaCy's import and load (~0.65 CPU s) and Chroma's import and the embedder's start-up (~0.9 CPU s) each
hold the GIL, so a thread cannot overlap them; a child process can, on a second core. The child imports
spaCy, analyses the question and sends the Query back pickled (plain dataclasses: the parent never
imports spaCy for it). Whenever the child cannot give an answer (no fork on this platform, the fork fails,
the child dies or sends nothing), `result()` returns None and the caller analyses the question itself:
the same function on the same text, so the answer is the same either way.
"""

from __future__ import annotations

import os
import pickle
import select
import time
from dataclasses import dataclass
from typing import Any

WAIT_S = 60.0  # the child's whole budget: spaCy's import and load take ~1 s on a quiet machine


@dataclass
class ForkedParse:
    """A child analysing `question`; `result()` collects its Query once."""

    question: str
    pid: int
    fd: int

    @classmethod
    def start(cls, question: str) -> ForkedParse | None:
        """Fork a child analysing `question`, or None where fork is unavailable or fails."""
        if not hasattr(os, "fork"):
            return None
        read_fd, write_fd = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(read_fd)
            os.close(write_fd)
            return None
        if pid == 0:  # the child: never returns
            os.close(read_fd)
            _child(question, write_fd)
        os.close(write_fd)
        return cls(question, pid, read_fd)

    def result(self, timeout_s: float = WAIT_S) -> tuple[Any, str | None] | None:
        """(the Query, the spaCy pipeline's name), or None when the child gave nothing usable."""
        try:
            payload = _read_all(self.fd, time.monotonic() + timeout_s)
        finally:
            os.close(self.fd)
            _reap(self.pid)
        if not payload:
            return None
        try:
            query, model = pickle.loads(payload)
        except Exception:  # noqa: BLE001 - a broken message: analyse in-process instead
            return None
        return query, model

    def close(self) -> None:
        """Stop the child without reading its answer (the caller gave up, e.g. the engine failed to start)."""
        os.close(self.fd)
        _reap(self.pid)


def _child(question: str, fd: int) -> None:
    status = 1
    try:
        from rag import nlp
        from rag.question import analyse

        nlp.questions_only()
        payload = pickle.dumps((analyse(question), nlp.model_name()))
        with os.fdopen(fd, "wb") as pipe:
            pipe.write(payload)
        status = 0
    except BaseException:  # noqa: BLE001 - the parent sees an empty pipe and analyses the question itself
        pass
    finally:
        os._exit(status)  # no atexit handlers, no buffers of the parent flushed twice


def _read_all(fd: int, deadline: float) -> bytes:
    chunks = []
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            break
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
    return b""  # timed out: an unfinished message is no message


def _reap(pid: int) -> None:
    """Collect the child (killed first if it is still running) so no zombie is left."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == 0:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
    except ChildProcessError:
        pass
