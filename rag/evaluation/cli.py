"""`citebot eval`: every suite side by side, or the given question files on the configured index.

citebot eval                                   # seeds dev+test, then every corpus under tests/eval/corpora
citebot eval --corpus postgresql --split test  # pick corpora / splits (repeatable)
citebot eval --questions my.yaml               # these files only, on the configured index
citebot eval --report eval.html                # + a self-contained HTML (or .md) report
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from rag.errors import ConfigError
from rag.evaluation.questions import Suite, default_questions_path, discover_suites, load_questions, select_suites
from rag.evaluation.report import format_comparison, format_table, write_report
from rag.evaluation.results import EvalReport, QuestionResult
from rag.evaluation.runner import IngestFn, Progress, chunk_texts, evaluate, run_suites


def _progress(label: str, quiet: bool) -> Progress:
    tty = sys.stderr.isatty()

    def progress(i: int, n: int, result: QuestionResult) -> None:
        mark = "ok" if not result.failures else "FAIL"
        if tty:
            line = f"\r{label} [{i}/{n}] {result.id} {mark}".ljust(78)
            print(line, end="" if i < n else "\n", file=sys.stderr, flush=True)
        elif not quiet:
            print(f"{label} [{i}/{n}] {result.id} {mark}", file=sys.stderr, flush=True)

    return progress


def _run_files(settings: Any, args: Any, as_json: bool) -> list[EvalReport]:
    from rag.service import build_engine

    paths = list(args.questions)
    questions = load_questions(paths)
    if not questions:
        raise ConfigError(f"no questions in {', '.join(map(str, paths))}")
    chunks = chunk_texts(settings)
    if not chunks:
        raise ConfigError("the index is empty: run `citebot ingest seeds/` first")
    engine = build_engine(settings)
    return [evaluate(engine, questions, chunks=chunks, progress=_progress("questions", as_json))]


def _run_suites(settings: Any, args: Any, as_json: bool, ingest: IngestFn | None) -> list[EvalReport]:
    suites = select_suites(
        discover_suites(default_questions_path().parent),
        corpora=getattr(args, "corpus", None) or (),
        splits=getattr(args, "split", None) or (),
    )
    if not suites:
        raise ConfigError("no question set matches --corpus/--split")

    def progress(suite: Suite) -> Progress:
        return _progress(suite.name, as_json)

    return run_suites(settings, suites, ingest=None if getattr(args, "no_ingest", False) else ingest, progress=progress)


def _write(reports: list[EvalReport], path: Path) -> Path:
    try:
        return write_report(reports, path)
    except OSError as exc:
        raise ConfigError(f"cannot write the report to {path}: {exc.strerror or exc}") from exc


def run_eval_cli(settings: Any, args: Any, ingest: IngestFn | None = None) -> int:
    """Run, print (a table, or JSON with --json), write --report; exit 1 when any question errored."""
    as_json = bool(getattr(args, "json", False))
    if getattr(args, "questions", None):
        if getattr(args, "corpus", None) or getattr(args, "split", None):
            raise ConfigError("--questions runs the given files on the configured index: drop --corpus/--split")
        reports = _run_files(settings, args, as_json)
    else:
        reports = _run_suites(settings, args, as_json, ingest)
    if as_json:
        if len(reports) == 1 and getattr(args, "questions", None):
            print(reports[0].model_dump_json(indent=2))
        else:
            print("{\n" + '"suites": [' + ",\n".join(r.model_dump_json(indent=2) for r in reports) + "]\n}")
    elif len(reports) == 1:
        print(format_table(reports[0]))
    else:
        for report in reports:
            print(format_table(report, failures=False) + "\n")
        print(format_comparison(reports))
        print("(the failing questions, with answers and cited quotes: --report eval.html)", file=sys.stderr)
    report_path = getattr(args, "report", None)
    if report_path:
        print(f"report written to {_write(reports, report_path)}", file=sys.stderr)
    return 1 if any(r.overall.errors for r in reports) else 0
