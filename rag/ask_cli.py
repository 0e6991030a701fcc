"""`citebot ask`: one question, or an interactive prompt."""

from __future__ import annotations

import sys

from rag.errors import CitebotError, QuestionError
from rag.schemas import Answer
from rag.settings import Settings

PRELOAD_JOIN_S = 30.0


def format_answer(answer: Answer) -> str:
    lines = [f"Answer: {answer.short_answer}", ""] if answer.short_answer else []
    lines += [answer.answer, ""]
    if answer.citations:
        lines.append("Sources:")
        for c in answer.citations:
            lines.append(f"  [{c.n}] {c.title} ({c.source})")
            lines.append(f"      “{c.quote}”")
    elif answer.sources:
        lines.append("Nearest sources:")
        seen = set()
        for s in answer.sources:
            if s.doc_id not in seen:
                seen.add(s.doc_id)
                lines.append(f"  - {s.title} ({s.source})")
    if answer.degraded:
        lines.append(f"(degraded: the {answer.provenance.generator} generator failed; answered by {answer.mode})")
    return "\n".join(lines)


def run_ask(settings: Settings, question: str | None, as_json: bool, top_k: int | None) -> int:
    if question is not None and not question.strip():
        print("citebot: the question is empty: ask something about the articles", file=sys.stderr)
        return 2
    if question is not None and len(question.strip()) > settings.max_question_chars:
        print(f"citebot: the question is over {settings.max_question_chars} characters", file=sys.stderr)
        return 2
    if question is not None:
        return _ask_one(settings, question, as_json, top_k)
    engine = _answerer(settings)
    print("Ask a question about the articles (empty line or Ctrl-D to quit).", file=sys.stderr)
    while True:
        try:
            line = input("? ")
        except EOFError:
            return 0
        if not line.strip():
            return 0
        _ask_once(engine, line, as_json, top_k)


def _ask_one(settings: Settings, question: str, as_json: bool, top_k: int | None) -> int:
    """One question from a cold shell: a child process analyses it while this one starts the engine."""
    if settings.url or not settings.ask_parse_in_child:
        return _ask_once(_answerer(settings), question, as_json, top_k)
    from rag.forked_parse import ForkedParse

    forked = ForkedParse.start(question.strip())  # before Chroma and onnxruntime start threads
    try:
        engine = _answerer(settings, preload=forked is None)
    except BaseException:
        if forked is not None:
            forked.close()
        raise
    parsed = forked.result() if forked is not None else None
    if parsed is None:
        return _ask_once(engine, question, as_json, top_k)  # analysed in this process, as without a child
    from rag import nlp

    query, model = parsed
    nlp.loaded_elsewhere(model)
    return _ask_once(engine, question, as_json, top_k, analysed=query)


def _answerer(settings: Settings, preload: bool = True):
    """A running `citebot serve` when CITEBOT_URL is set (no model, no index here), else an in-process engine."""
    if settings.url:
        from rag.client import ServiceClient

        return ServiceClient(settings)
    from rag import nlp
    from rag.service import build_engine

    # spaCy loads while Chroma and the embedder start (a cold shell, a free core), unless a child parses
    loading = nlp.preload() if preload else None
    try:
        return build_engine(settings)
    except BaseException:
        if loading is not None:
            loading.join(PRELOAD_JOIN_S)  # no daemon thread left mid-import while the interpreter exits
        raise


def _ask_once(engine, question: str, as_json: bool, top_k: int | None, analysed=None) -> int:
    try:
        answer = (
            engine.ask(question, top_k=top_k)
            if analysed is None
            else engine.ask(question, top_k=top_k, analysed=analysed)
        )
    except QuestionError as exc:
        print(f"citebot: {exc}", file=sys.stderr)
        return 2
    except CitebotError as exc:
        print(f"citebot: {exc}", file=sys.stderr)
        return 1
    print(answer.model_dump_json(indent=2) if as_json else format_answer(answer))
    return 0
