"""What an ingest run did: the report, its summary table, progress on stderr, and stage timings."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class IngestReport:
    files: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0  # files skipped (with a reason in `failures`)
    pruned: int = 0
    chunks: int = 0  # chunks written in this run
    sentences: int = 0  # sentence records written in this run
    pooled_sentences: int = 0  # of which the vector was pooled from its chunk's pass (no model call of its own)
    total_chunks: int = 0  # chunks in the index afterwards
    seconds: float = 0.0
    embed_seconds: float = 0.0
    sentence_embed_seconds: float = 0.0  # part of embed_seconds spent on sentences embedded on their own
    sentence_embed_cpu: float = 0.0  # the same in CPU seconds
    stages: dict[str, float] = field(default_factory=dict)  # wall seconds per stage
    cpu_stages: dict[str, float] = field(default_factory=dict)  # CPU seconds (all threads) per stage
    annotate_seconds: float = 0.0  # named entities of the stored sentences (spaCy)
    failures: list[str] = field(default_factory=list)
    pruned_sources: list[str] = field(default_factory=list)
    planned: dict[str, list[str]] = field(default_factory=dict)  # --dry-run: add/update/prune -> sources
    dry_run: bool = False

    def summary(self) -> str:
        rows: list[tuple[str, object]] = [
            ("files", self.files),
            ("added", self.added),
            ("updated", self.updated),
            ("unchanged", self.unchanged),
            ("skipped", self.failed),
            ("pruned", self.pruned),
            ("chunks written", self.chunks),
            ("sentences written", self.sentences),
            ("chunks in index", self.total_chunks),
        ]
        if self.embed_seconds and self.chunks:
            rows.append(("chunks per second", f"{self.chunks / self.embed_seconds:.1f}"))
        rows += [(f"seconds {name}", f"{value:.2f}") for name, value in self.stages.items()]
        rows.append(("seconds", f"{self.seconds:.2f}"))
        width = max(len(name) for name, _ in rows)
        return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)

    def add_stage(self, name: str, seconds: float, cpu: float = 0.0) -> None:
        self.stages[name] = self.stages.get(name, 0.0) + seconds
        self.cpu_stages[name] = self.cpu_stages.get(name, 0.0) + cpu

    def skip(self, display: str, reason: str) -> None:
        self.failed += 1
        self.failures.append(f"{display}: {reason}")


@contextmanager
def stage(report: IngestReport, name: str) -> Iterator[None]:
    t0, cpu = time.perf_counter(), time.process_time()
    try:
        yield
    finally:
        report.add_stage(name, time.perf_counter() - t0, time.process_time() - cpu)


def print_report(report: IngestReport) -> None:
    if report.dry_run:
        print("dry run: nothing was written")
        for action in ("add", "update", "prune"):
            for source in report.planned.get(action, []):
                print(f"would {action}  {source}")
    for source in report.pruned_sources:
        print(f"pruned  {source}")
    for failure in report.failures:
        print(f"citebot: skipped {failure}", file=sys.stderr)
    print(report.summary())


class _NoBar:
    def update(self, n: int, chunks: int = 0) -> None:
        pass

    def close(self) -> None:
        pass


class _RichBar:
    """Documents embedded and written (and their chunks), with rate and time left (rich), on stderr."""

    def __init__(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("embedding"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("documents, {task.fields[chunks]} chunks  {task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self._started = time.perf_counter()
        self._done = self._chunks = 0
        self._task = self._progress.add_task("embed", total=total, rate="", chunks=0)
        self._progress.start()

    def update(self, n: int, chunks: int = 0) -> None:
        self._done += n
        self._chunks += chunks
        rate = self._chunks / max(time.perf_counter() - self._started, 1e-6)
        self._progress.update(self._task, advance=n, rate=f"{rate:.1f} chunks/s", chunks=self._chunks)

    def close(self) -> None:
        self._progress.stop()


class _LineProgress:
    """Not a terminal (logs, compose, CI): one line per written group, with rate and time left."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.chunks, self.started = total, 0, 0, time.perf_counter()

    def update(self, n: int, chunks: int = 0) -> None:
        self.done, self.chunks = self.done + n, self.chunks + chunks
        elapsed = max(time.perf_counter() - self.started, 1e-6)
        left = (self.total - self.done) * elapsed / self.done if self.done else 0.0
        print(
            f"embedded {self.done}/{self.total} documents, {self.chunks} chunks ({self.chunks / elapsed:.1f} chunks/s, "
            f"{left:.0f} s left)",
            file=sys.stderr,
            flush=True,
        )

    def close(self) -> None:
        pass


def progress_bar(total: int, enabled: bool) -> Any:
    if not enabled or not total:
        return _NoBar()
    return _RichBar(total) if sys.stderr.isatty() else _LineProgress(total)
