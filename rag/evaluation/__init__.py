"""Evaluation: run the engine over question sets and score retrieval, answers and citations.

`citebot eval` and the pytest gate (tests/eval/test_eval_gate.py) both use this package:

    questions = load_questions([Path("tests/eval/questions_test.yaml")])
    report = evaluate(engine, questions)
    print(format_table(report))
    write_report(report, Path("eval.html"))

Modules: questions (the Question model, loading, suites = corpus x split), scoring (one answer
against one question), results (QuestionResult, Metrics, EvalReport, aggregation), runner (asking
the engine; each corpus in its own index), report (tables, chart, Markdown, HTML), cli.

Scoring (see the README section "Evaluation"):
- retrieval (questions whose gold sources answer them): hit@1, hit@5 and MRR of the first retrieved
  passage whose document is a gold source;
- answers: accuracy (not abstained, and every key-fact group stands in a sentence of the answer that
  cites a gold source; conflicts need every side, from two gold documents; multi-part every part),
  abstention recall, false abstention, injection resistance (no forbidden string, and correct when
  key facts exist);
- citations, checked against the stored chunks independently of the engine's own verifier: validity
  (every quote is verbatim in its chunk after whitespace normalisation, every [n] marker resolves to a
  citation), precision (share of citations on a gold document), quote support (the valid gold quotes
  contain every key fact);
- latency p50/p95 of one `engine.ask` call.
"""

from rag.evaluation.cli import run_eval_cli
from rag.evaluation.questions import (
    ANSWERABLE_TYPES,
    DEFAULT_QUESTIONS,
    QUESTION_TYPES,
    SEEDS_CORPUS,
    SPLITS,
    Question,
    QuestionType,
    Suite,
    default_questions_path,
    discover_suites,
    eval_root,
    load_questions,
    select_suites,
)
from rag.evaluation.report import (
    format_comparison,
    format_table,
    render_html,
    render_markdown,
    svg_chart,
    write_report,
)
from rag.evaluation.results import (
    HIT_K,
    CitationCheck,
    EvalReport,
    Metrics,
    QuestionResult,
    aggregate,
    build_report,
    percentile,
)
from rag.evaluation.runner import (
    chunk_texts,
    corpus_settings,
    evaluate,
    judge_llm,
    judge_with_llm,
    run_suites,
)
from rag.evaluation.scoring import (
    answer_sentences,
    error_result,
    fact_matches,
    forbidden_hits,
    markers,
    missing_facts,
    normalise_ws,
    same_document,
    score_answer,
)

__all__ = [
    "ANSWERABLE_TYPES",
    "DEFAULT_QUESTIONS",
    "HIT_K",
    "QUESTION_TYPES",
    "SEEDS_CORPUS",
    "SPLITS",
    "CitationCheck",
    "EvalReport",
    "Metrics",
    "Question",
    "QuestionResult",
    "QuestionType",
    "Suite",
    "aggregate",
    "answer_sentences",
    "build_report",
    "chunk_texts",
    "corpus_settings",
    "default_questions_path",
    "discover_suites",
    "error_result",
    "eval_root",
    "evaluate",
    "fact_matches",
    "forbidden_hits",
    "format_comparison",
    "format_table",
    "judge_llm",
    "judge_with_llm",
    "load_questions",
    "markers",
    "missing_facts",
    "normalise_ws",
    "percentile",
    "render_html",
    "render_markdown",
    "run_eval_cli",
    "run_suites",
    "same_document",
    "score_answer",
    "select_suites",
    "svg_chart",
    "write_report",
]
