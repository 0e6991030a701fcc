"""`citebot ingest | ask | config | serve | slack | eval | feedback | bench`.

Each command builds what it needs from the one Settings object; heavy imports stay inside commands
so that `citebot --help` is instant.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pydantic import ValidationError

from rag.errors import CitebotError, ConfigError
from rag.logs import configure_logging
from rag.settings import GeneratorKind, Settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError(f"{value} is out of range: use 1 to 64")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="citebot", description="Answers questions from articles, with citations.")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("config", help="print the effective settings (secrets masked)")

    ingest = sub.add_parser("ingest", help="ingest .txt/.md/.html/.pdf/.docx files into the index")
    ingest.add_argument("paths", nargs="+", type=Path, help="files or folders")
    ingest.add_argument(
        "--prune", action="store_true", help="remove documents under these paths whose files are gone (each is printed)"
    )
    ingest.add_argument("--dry-run", action="store_true", help="show what would be added, updated and pruned")
    ingest.add_argument(
        "--source",
        metavar="NAME",
        default=None,
        help="identify documents as NAME + path inside the folder, not by absolute path (e.g. a mounted corpus)",
    )
    ingest.add_argument("--strict", action="store_true", help="exit 1 when any file was skipped")
    ingest.add_argument(
        "--reindex", action="store_true", help="drop the whole index and rebuild it from these paths (new model)"
    )
    ingest.add_argument("--if-stale", action="store_true", help="do nothing when every file is already indexed")
    ingest.add_argument("--quiet", action="store_true", help="no progress bar")

    documents = sub.add_parser("documents", help="list or remove ingested documents")
    documents_sub = documents.add_subparsers(dest="documents_command", required=True)
    documents_list = documents_sub.add_parser("list", help="every document: id, chunks, source, path")
    documents_list.add_argument("--json", action="store_true")
    documents_rm = documents_sub.add_parser("rm", help="remove documents by id (see `documents list`) or file path")
    documents_rm.add_argument("targets", nargs="+", help="document ids or file paths")

    ask = sub.add_parser("ask", help="ask a question (interactive prompt when none is given)")
    ask.add_argument("question", nargs="?", help="the question; omit for an interactive prompt")
    ask.add_argument("--json", action="store_true", help="print the answer schema as JSON")
    ask.add_argument("--top-k", type=int, default=None, help="passages to hand to the generator")
    ask.add_argument("--generator", choices=[g.value for g in GeneratorKind], default=None)

    serve = sub.add_parser("serve", help="start the HTTP service (and Slack HTTP mode when configured)")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument(
        "--workers", type=_positive_int, default=1, help="worker processes (metrics and logs cover all of them)"
    )

    sub.add_parser("slack", help="run the Slack bot in Socket Mode")

    ev = sub.add_parser(
        "eval", help="evaluate retrieval and answers: dev and test splits of the seeds and of every corpus"
    )
    ev.add_argument(
        "--questions", type=Path, action="append", default=None, help="only these file(s) (YAML/JSONL), on the index"
    )
    ev.add_argument("--corpus", action="append", default=None, help="seeds or a folder of tests/eval/corpora")
    ev.add_argument("--split", action="append", choices=["dev", "test"], default=None)
    ev.add_argument("--no-ingest", action="store_true", help="use each corpus's existing index as it is")
    ev.add_argument("--generator", choices=[g.value for g in GeneratorKind], default=None)
    ev.add_argument("--json", action="store_true")
    ev.add_argument("--report", type=Path, default=None, help="write a report: .html (self-contained) or .md")

    fb = sub.add_parser("feedback", help="feedback from Slack and the web page")
    fb_sub = fb.add_subparsers(dest="feedback_command", required=True)
    export = fb_sub.add_parser("export", help="write the thumbs-down answers as evaluation cases")
    export.add_argument("--to", type=Path, required=True)

    bench = sub.add_parser("bench", help="run the benchmarks and print numbers and ratios")
    bench.add_argument("--json", action="store_true")
    bench.add_argument("--quick", action="store_true", help="smaller sizes (for a smoke run)")
    bench.add_argument(
        "--generator",
        choices=["extractive", "openai"],
        default="extractive",
        help="openai: time the LLM path (retrieval, first token, first verified sentence, verified answer)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings()
        if getattr(args, "generator", None):
            settings = settings.model_copy(update={"generator": GeneratorKind(args.generator)})
        configure_logging(settings)
        return _dispatch(args, settings)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors())
        print(f"citebot: invalid setting ({problems}): check the CITEBOT_* variables and .env", file=sys.stderr)
        return EXIT_USAGE
    except CitebotError as exc:
        print(f"citebot: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130


def ingest_eval_corpus(settings: Settings, paths: list[Path]) -> None:
    """Bring an evaluation corpus's own index up to date (nothing to do when it already is)."""
    from ingest.pipeline import Ingester

    ingester = Ingester(settings)
    if ingester.is_stale(paths):
        report = ingester.run(paths, prune=True, progress=False)
        if report.failed:
            raise ConfigError(f"{report.failed} file(s) of {', '.join(map(str, paths))} failed to ingest")


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    match args.command:
        case "config":
            print(json.dumps(settings.masked(), indent=2, default=str))
            return EXIT_OK
        case "ingest":
            from ingest.pipeline import run_ingest_cli

            return run_ingest_cli(
                settings,
                args.paths,
                prune=args.prune,
                reindex=args.reindex,
                if_stale=args.if_stale,
                quiet=args.quiet,
                dry_run=args.dry_run,
                strict=args.strict,
                source_name=args.source,
            )
        case "documents":
            from ingest.documents import run_documents_cli

            return run_documents_cli(settings, args)
        case "ask":
            from rag.ask_cli import run_ask

            return run_ask(settings, args.question, as_json=args.json, top_k=args.top_k)
        case "serve":
            from rag.serving import serve

            return serve(settings, host=args.host, port=args.port, workers=args.workers)
        case "slack":
            from bot.slack import run_socket_mode

            return run_socket_mode(settings)
        case "eval":
            from rag.evaluation import run_eval_cli

            return run_eval_cli(settings, args, ingest=ingest_eval_corpus)
        case "feedback":
            from rag.feedback import export_cli

            return export_cli(settings, args.to)
        case "bench":
            from bench.run import run_bench_cli

            return run_bench_cli(settings, args)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
