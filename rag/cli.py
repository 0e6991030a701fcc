"""`citebot ingest | ask | config | serve | slack | eval | feedback | bench`.

Each command builds what it needs from the one Settings object; heavy imports stay inside commands
so that `citebot --help` is instant.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from pydantic import ValidationError

from rag.errors import CitebotError
from rag.settings import GeneratorKind, Settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="citebot", description="Answers questions from articles, with citations.")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("config", help="print the effective settings (secrets masked)")

    ingest = sub.add_parser("ingest", help="ingest .txt/.md/.html files into the index")
    ingest.add_argument("paths", nargs="+", type=Path, help="files or folders")
    ingest.add_argument("--prune", action="store_true", help="remove documents whose files are gone")
    ingest.add_argument("--reindex", action="store_true", help="drop the index and rebuild it (new embedding model)")
    ingest.add_argument("--if-stale", action="store_true", help="do nothing when every file is already indexed")
    ingest.add_argument("--quiet", action="store_true", help="no progress bar")

    ask = sub.add_parser("ask", help="ask a question (interactive prompt when none is given)")
    ask.add_argument("question", nargs="?", help="the question; omit for an interactive prompt")
    ask.add_argument("--json", action="store_true", help="print the answer schema as JSON")
    ask.add_argument("--top-k", type=int, default=None, help="passages to hand to the generator")
    ask.add_argument("--generator", choices=[g.value for g in GeneratorKind], default=None)

    serve = sub.add_parser("serve", help="start the HTTP service (and Slack HTTP mode when configured)")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--workers", type=int, default=1)

    sub.add_parser("slack", help="run the Slack bot in Socket Mode")

    ev = sub.add_parser("eval", help="evaluate retrieval and answers on the question set")
    ev.add_argument("--questions", type=Path, action="append", default=None, help="question file(s) (YAML/JSONL)")
    ev.add_argument("--generator", choices=[g.value for g in GeneratorKind], default=None)
    ev.add_argument("--json", action="store_true")
    ev.add_argument("--report", type=Path, default=None, help="write a Markdown report here")

    fb = sub.add_parser("feedback", help="Slack feedback")
    fb_sub = fb.add_subparsers(dest="feedback_command", required=True)
    export = fb_sub.add_parser("export", help="write the thumbs-down answers as evaluation cases")
    export.add_argument("--to", type=Path, required=True)

    bench = sub.add_parser("bench", help="run the benchmarks and print numbers and ratios")
    bench.add_argument("--json", action="store_true")
    bench.add_argument("--quick", action="store_true", help="smaller sizes (for a smoke run)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings()
        if getattr(args, "generator", None):
            settings = settings.model_copy(update={"generator": GeneratorKind(args.generator)})
        logging.basicConfig(level=settings.log_level.upper(), format="%(message)s", stream=sys.stderr)
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


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    match args.command:
        case "config":
            print(json.dumps(settings.masked(), indent=2, default=str))
            return EXIT_OK
        case "ingest":
            from ingest.pipeline import run_ingest_cli

            return run_ingest_cli(
                settings, args.paths, prune=args.prune, reindex=args.reindex, if_stale=args.if_stale, quiet=args.quiet
            )
        case "ask":
            from rag.ask_cli import run_ask

            return run_ask(settings, args.question, as_json=args.json, top_k=args.top_k)
        case "serve":
            from rag.api import serve

            return serve(settings, host=args.host, port=args.port, workers=args.workers)
        case "slack":
            from bot.slack import run_socket_mode

            return run_socket_mode(settings)
        case "eval":
            from rag.evaluation import run_eval_cli

            return run_eval_cli(settings, args)
        case "feedback":
            from bot.feedback import export_cli

            return export_cli(settings, args.to)
        case "bench":
            from bench.run import run_bench_cli

            return run_bench_cli(settings, args)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
