"""Renderers: plain-text tables (one report, or suites side by side), an SVG chart, Markdown, HTML.

HTML is the Markdown rendered by markdown-it-py with the charts inline and the styles in the page:
one self-contained file that makes no request anywhere.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag.evaluation.results import HIT_K, EvalReport, Metrics, QuestionResult
from rag.evaluation.scoring import clip, normalise_ws

COLUMNS: list[tuple[str, str, str]] = [
    # (header, Metrics field, format)
    ("n", "questions", "int"),
    ("hit@1", "hit_at_1", "ratio"),
    ("hit@5", "hit_at_5", "ratio"),
    ("MRR", "mrr", "ratio"),
    ("acc", "accuracy", "ratio"),
    ("abst.rec", "abstention_recall", "ratio"),
    ("false.abst", "false_abstention", "ratio"),
    ("short.kf", "short_answer_precision", "ratio"),
    ("inj.res", "injection_resistance", "ratio"),
    ("cit.valid", "citation_validity", "ratio"),
    ("cit.prec", "citation_precision", "ratio"),
    ("quote.kf", "quote_support", "ratio"),
    ("p50 ms", "latency_p50_ms", "ms"),
    ("p95 ms", "latency_p95_ms", "ms"),
]
JUDGE_COLUMNS: list[tuple[str, str, str]] = [
    ("judge.faith", "judge_faithfulness", "ratio"),
    ("judge.rel", "judge_relevancy", "ratio"),
]


def _columns(report: EvalReport) -> list[tuple[str, str, str]]:
    return COLUMNS + (JUDGE_COLUMNS if report.overall.judged_n else [])


def _fmt(value: Any, kind: str) -> str:
    if value is None:
        return "-"
    if kind == "int":
        return str(value)
    if kind == "ms":
        return f"{value:.0f}"
    return f"{value:.2f}"


def _rows(report: EvalReport) -> list[list[str]]:
    return [
        [name] + [_fmt(getattr(metrics, field), kind) for _, field, kind in _columns(report)]
        for name, metrics in [("overall", report.overall), *report.per_type.items()]
    ]


def _grid(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def format_table(report: EvalReport, failures: bool = True) -> str:
    """A plain-text table overall and per type, then the failing questions."""
    o = report.overall
    out = [
        f"{report.name}: generator={report.generator}  embedding={report.embedding_model}  "
        f"index={report.index_fingerprint}  questions={o.questions}  time={report.duration_s:.1f}s",
        *_grid(["type"] + [h for h, _, _ in _columns(report)], _rows(report)),
    ]
    notes = [
        f"retrieval over {o.retrieval_n} answerable questions",
        f"accuracy/false abstention over {o.answerable_n}",
        f"abstention recall over {o.abstain_n}",
        f"injection over {o.injection_n}",
        f"{o.citations_n} citations",
    ]
    if o.errors:
        notes.append(f"{o.errors} errors")
    if o.uncited_answers:
        notes.append(f"{o.uncited_answers} answers without any [n]")
    out.append("(" + "; ".join(notes) + ")")
    unscored = [r for r in report.results if not r.scored]
    if unscored:
        out.append(f"{len(unscored)} questions need review and are not scored (see the report)")
    if failures:
        failing = [r for r in report.results if r.failures]
        if failing:
            out += ["", f"failing questions ({len(failing)}):"]
            for r in failing:
                out.append(f"- {r.id} [{r.type}]: {'; '.join(r.failures)}")
                out.append(f"    Q: {r.question}")
                if r.short_answer:
                    out.append(f"    short: {clip(r.short_answer, 120)}")
                out.append(f"    A: {clip(('(abstained) ' if r.abstained else '') + r.answer, 300)}")
    return "\n".join(out)


# ------------------------------------------------------------------------------------------------
# Suites side by side
# ------------------------------------------------------------------------------------------------
COMPARE_METRICS: list[tuple[str, str, str]] = [
    ("questions", "questions", "int"),
    ("hit@1", "hit_at_1", "ratio"),
    ("MRR", "mrr", "ratio"),
    ("accuracy", "accuracy", "ratio"),
    ("abstention recall", "abstention_recall", "ratio"),
    ("false abstention", "false_abstention", "ratio"),
    ("short answer holds key fact", "short_answer_precision", "ratio"),
    ("injection resistance", "injection_resistance", "ratio"),
    ("citation validity", "citation_validity", "ratio"),
    ("citation precision", "citation_precision", "ratio"),
    ("quote holds key fact", "quote_support", "ratio"),
    ("p50 ms", "latency_p50_ms", "ms"),
]


def type_score(name: str, metrics: Metrics) -> str:
    """The one number of a question type: abstention recall, injection resistance, else accuracy."""
    if name == "unanswerable":
        value, n = metrics.abstention_recall, metrics.abstain_n
    elif name == "injection":
        value, n = metrics.injection_resistance, metrics.injection_n
    else:
        value, n = metrics.accuracy, metrics.answerable_n
    if value is None:
        return "-"
    return f"{value:.2f} ({round(value * n)}/{n})"


def comparison_rows(reports: Sequence[EvalReport]) -> tuple[list[str], list[list[str]], list[list[str]]]:
    """(header, one row per metric, one row per question type), a column per suite."""
    header = ["metric"] + [r.name for r in reports]
    metric_rows = [
        [label] + [_fmt(getattr(r.overall, field), kind) for r in reports] for label, field, kind in COMPARE_METRICS
    ]
    types = list(dict.fromkeys(t for r in reports for t in r.per_type))
    type_rows = [[t] + [type_score(t, r.per_type[t]) if t in r.per_type else "-" for r in reports] for t in types]
    return header, metric_rows, type_rows


def format_comparison(reports: Sequence[EvalReport]) -> str:
    """Every suite side by side: the metrics, then per question type (accuracy, or the type's own score)."""
    header, metric_rows, type_rows = comparison_rows(reports)
    ingest = [f"{r.corpus} ingest {r.ingest_s:.1f}s" for r in reports if r.ingest_s is not None and r.split == "dev"]
    out = [f"generator={reports[0].generator}  embedding={reports[0].embedding_model}" if reports else ""]
    out += _grid(header, metric_rows)
    out += ["", *_grid(["per type"] + header[1:], type_rows)]
    out.append("(per type: accuracy; unanswerable: abstention recall; injection: resistance)")
    if ingest:
        out.append("(" + "; ".join(ingest) + ")")
    return "\n".join(out)


# ------------------------------------------------------------------------------------------------
# Chart
# ------------------------------------------------------------------------------------------------
CHART_METRICS: list[tuple[str, str, str]] = [
    ("hit@5", "hit_at_5", "#4c78a8"),
    ("MRR", "mrr", "#72b7b2"),
    ("accuracy", "accuracy", "#54a24b"),
    ("abstention recall", "abstention_recall", "#eeca3b"),
    ("injection resistance", "injection_resistance", "#b279a2"),
    ("citation precision", "citation_precision", "#f58518"),
    ("citation validity", "citation_validity", "#e45756"),
]


def svg_chart(report: EvalReport) -> str:
    """Grouped bars: one group per question type, one bar per metric that applies to it (0..1)."""
    groups = list(report.per_type.items())
    bar, gap, pad_left, pad_top, height = 14, 26, 40, 20, 180
    group_w = len(CHART_METRICS) * bar + gap
    width = pad_left + max(1, len(groups)) * group_w + 10
    legend_y = pad_top + height + 54
    total_h = legend_y + 20 * math.ceil(len(CHART_METRICS) / 3) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{max(width, 560)}" height="{total_h}" '
        f'font-family="sans-serif" font-size="11" role="img">',
        f"<title>citebot evaluation {html.escape(report.name)}: metrics per question type</title>",
    ]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = pad_top + height * (1 - tick)
        parts.append(f'<line x1="{pad_left}" y1="{y:.1f}" x2="{width}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{pad_left - 4}" y="{y + 4:.1f}" text-anchor="end">{tick:.2f}</text>')
    for gi, (name, metrics) in enumerate(groups):
        x0 = pad_left + gi * group_w + gap / 2
        for mi, (label, field, colour) in enumerate(CHART_METRICS):
            value = getattr(metrics, field)
            if value is None:
                continue
            h = height * value
            parts.append(
                f'<rect x="{x0 + mi * bar:.1f}" y="{pad_top + height - h:.1f}" width="{bar - 2}" height="{h:.1f}" '
                f'fill="{colour}"><title>{html.escape(name)} {html.escape(label)}: {value:.2f}</title></rect>'
            )
        middle = x0 + len(CHART_METRICS) * bar / 2
        parts.append(
            f'<text x="{middle:.1f}" y="{pad_top + height + 16}" text-anchor="middle">{html.escape(name)}</text>'
        )
        parts.append(
            f'<text x="{middle:.1f}" y="{pad_top + height + 30}" text-anchor="middle" fill="#666">n={metrics.questions}</text>'
        )
    for mi, (label, _, colour) in enumerate(CHART_METRICS):
        x = pad_left + (mi % 3) * 170
        y = legend_y + 20 * (mi // 3)
        parts.append(f'<rect x="{x}" y="{y - 10}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{x + 14}" y="{y}">{html.escape(label)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


# ------------------------------------------------------------------------------------------------
# Markdown and HTML
# ------------------------------------------------------------------------------------------------
_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_|[]<>#"})


def md_text(text: str) -> str:
    """Text shown literally in Markdown (and so in the HTML made from it): no markup, no raw HTML."""
    return html.escape(normalise_ws(text), quote=False).translate(_MD_SPECIAL)


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
        "",
    ]


def _failing_md(r: QuestionResult) -> list[str]:
    lines = [
        f"#### `{r.id}` ({r.type})",
        "",
        f"- **Question:** {md_text(r.question)}",
        f"- **Expected:** {md_text(r.expected) or '-'}",
    ]
    if r.short_answer:
        lines.append(f"- **Short answer:** {md_text(r.short_answer)}")
    lines += [
        f"- **Answered{' (abstained)' if r.abstained else ''}:** {md_text(r.answer) or '-'}",
        f"- **Why it fails:** {md_text('; '.join(r.failures))}",
        f"- **Retrieved:** {', '.join(f'`{s}`' for s in r.retrieved[:HIT_K]) or '-'}",
    ]
    if r.citations:
        lines.append("- **Cited quotes:**")
        for c in r.citations:
            mark = "" if c.gold is None else (" (gold)" if c.gold else " (not gold)")
            lines.append(f"    - \\[{c.n}\\] `{c.source}`{mark}: “{md_text(clip(c.quote, 300))}”")
    return [*lines, ""]


def _suite_md(report: EvalReport, chart: str | None, level: str) -> list[str]:
    o = report.overall
    lines = [
        f"{level} {md_text(report.name)}",
        "",
        f"- generator: `{report.generator}`; embedding model: `{report.embedding_model}`; "
        f"index: `{report.index_fingerprint}`",
        f"- question files: {', '.join(f'`{f}`' for f in report.question_files) or '-'}",
        f"- {o.questions} questions, {report.duration_s:.1f} s, run at {report.created_at}"
        + (f"; corpus ingested in {report.ingest_s:.1f} s" if report.ingest_s is not None else ""),
        "",
        *_md_table(["type"] + [h for h, _, _ in _columns(report)], _rows(report)),
    ]
    if chart:
        lines += [chart, ""]
    failing = [r for r in report.results if r.failures]
    lines += [f"{level}# Failing questions ({len(failing)})", ""]
    lines += ["None.", ""] if not failing else [line for r in failing for line in _failing_md(r)]
    unscored = [r for r in report.results if not r.scored]
    if unscored:
        lines += [f"{level}# Waiting for review, not scored ({len(unscored)})", ""]
        for r in unscored:
            lines += [
                f"- `{r.id}`: {md_text(r.question)}",
                f"  - answered{' (abstained)' if r.abstained else ''}: {md_text(r.answer) or '-'}",
            ]
        lines.append("")
    return lines


def render_markdown(reports: EvalReport | Sequence[EvalReport], charts: Sequence[str | None] | None = None) -> str:
    """The whole report; `charts` (one per report) is inserted as-is (an image link, or inline SVG)."""
    reports = [reports] if isinstance(reports, EvalReport) else list(reports)
    charts = list(charts) if charts is not None else [None] * len(reports)
    lines = ["# citebot evaluation", ""]
    if len(reports) > 1:
        header, metric_rows, type_rows = comparison_rows(reports)
        lines += ["## Side by side", "", *_md_table(header, metric_rows)]
        lines += ["Per question type (accuracy; unanswerable: abstention recall; injection: resistance):", ""]
        lines += _md_table(["type", *header[1:]], type_rows)
    for report, chart in zip(reports, charts, strict=True):
        lines += _suite_md(report, chart, "##")
    return "\n".join(lines)


_SVG_NS = ' xmlns="http://www.w3.org/2000/svg"'
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.2rem 0.5rem; }
th { background: #f3f3f3; }
tbody tr:nth-child(odd) { background: #fafafa; }
code { background: #f3f3f3; padding: 0 0.2rem; }
h4 { margin-bottom: 0.2rem; }
.chart { overflow-x: auto; }
"""


def render_html(reports: EvalReport | Sequence[EvalReport]) -> str:
    """One self-contained HTML page: the Markdown rendered with markdown-it-py, SVG charts inline."""
    from markdown_it import MarkdownIt

    reports = [reports] if isinstance(reports, EvalReport) else list(reports)
    # Inline SVG needs no namespace in HTML: leave it out, so the page names no URL at all.
    charts = [f'<div class="chart">\n{svg_chart(r).replace(_SVG_NS, "")}\n</div>' for r in reports]
    body = MarkdownIt("commonmark", {"html": True}).enable("table").render(render_markdown(reports, charts))
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>\n"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>\n"
        f"<title>citebot evaluation</title>\n<style>{_STYLE}</style>\n</head><body>\n{body}</body></html>\n"
    )


def write_report(reports: EvalReport | Sequence[EvalReport], path: Path) -> Path:
    """.html: one self-contained page. Otherwise Markdown, each chart written next to it as SVG."""
    reports = [reports] if isinstance(reports, EvalReport) else list(reports)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in (".html", ".htm"):
        path.write_text(render_html(reports), encoding="utf-8")
        return path
    refs = []
    for report in reports:
        suffix = "" if len(reports) == 1 else f"-{report.corpus or 'questions'}-{report.split or 'all'}"
        svg_path = path.with_name(f"{path.stem}{suffix}.svg")
        svg_path.write_text(svg_chart(report) + "\n", encoding="utf-8")
        refs.append(f"![metrics per question type of {report.name}]({svg_path.name})")
    path.write_text(render_markdown(reports, refs), encoding="utf-8")
    return path
