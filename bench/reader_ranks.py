"""Where the reader ranks the sentence that answers: for each question, the gold sentence's rank and
score next to the sentence it put first.

A gold sentence is a scored sentence of the retrieved passages that holds a string of every key-fact
group (the eval's own definition of a correct answer). Run on an index `citebot eval` has built
(the seeds in CITEBOT_DATA_DIR, the other corpora under <data_dir>/eval/<corpus>):

    CITEBOT_DATA_DIR=/tmp/d python -m bench.reader_ranks --split dev [--corpus git] [--lost]

--lost prints only questions whose gold sentence is retrieved but not ranked first. The last lines
sum up which score component the gold sentences lose on (mean of gold minus top-1 per component).
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from rag.answer_values import Candidate
from rag.evaluation.questions import Question, discover_suites, load_questions, select_suites
from rag.evaluation.runner import corpus_settings
from rag.extractive import ABSTAIN_SCORE, W_COSINE, W_KEYWORD, W_PRIOR
from rag.question import analyse
from rag.settings import Settings

COMPONENTS = ("cosine", "keyword", "prior", "other")  # "other": type, nearness, polar, restatement terms


@dataclass
class Row:
    question: Question
    candidates: list[Candidate]
    gold_rank: int | None  # 0-based rank of the best gold sentence, None when no retrieved sentence holds it
    retrieved: bool  # a key fact of every group stands in the retrieved passages' text


def is_gold(text: str, key_facts: list[list[str]]) -> bool:
    low = text.lower()
    return bool(key_facts) and all(any(s.lower() in low for s in group) for group in key_facts)


def components(c: Candidate) -> dict[str, float]:
    """A candidate's score split into meaning, keyword coverage, retrieval rank, and the rest."""
    parts = {"cosine": W_COSINE * c.cosine, "keyword": W_KEYWORD * c.keyword, "prior": W_PRIOR / c.passage.n}
    parts["other"] = c.score - sum(parts.values())
    return parts


def diagnose(engine, question: Question) -> Row:
    """The reader's ranked sentences for one question, as the engine hands them passages."""
    history = question.history or []
    query = analyse(question.question, history)
    search = f"{query.context} {query.text}".strip()
    vector = engine.embedder.embed_query(search)
    passages = engine.retriever.retrieve(search, engine.settings.top_k, query_vector=vector)
    own = engine.embedder.embed_query(query.text) if query.context else vector
    reader = engine.generator.reader
    candidates = reader._candidates(query, own, passages) if passages else []
    gold = next(
        (i for i, c in enumerate(candidates) if is_gold(f"{c.text} {c.follows or ''}", question.key_facts)), None
    )
    retrieved = is_gold(" ".join(p.text for p in passages), question.key_facts)
    return Row(question, candidates, gold, retrieved)


def describe(c: Candidate) -> str:
    parts = " ".join(f"{k}={v:+.3f}" for k, v in components(c).items())
    spans = ",".join(s.text for s in c.spans[:2])
    return (
        f"score={c.score:.3f} [{parts}] wanted={c.holds_wanted} spans=[{spans}] p{c.passage.n}\n      {c.text[:160]!r}"
    )


def report(rows: Sequence[Row], lost_only: bool) -> None:
    deltas: Counter[str] = Counter()
    lost = 0
    for row in rows:
        q = row.question
        if not q.key_facts or not row.candidates:
            continue
        rank = row.gold_rank
        if lost_only and (rank is None or rank == 0):
            continue
        top = row.candidates[0]
        print(f"{q.corpus or 'seeds'}/{q.id} [{q.type}] {q.question}")
        print(f"  top-1 {describe(top)}")
        if rank is None:
            print(f"  gold: not among scored sentences (facts in passages: {row.retrieved})")
            continue
        gold = row.candidates[rank]
        below = " (below ABSTAIN_SCORE)" if gold.score < ABSTAIN_SCORE else ""
        print(f"  gold rank {rank + 1}{below} {describe(gold)}")
        if rank:
            lost += 1
            g, t = components(gold), components(top)
            for k in COMPONENTS:
                deltas[k] += g[k] - t[k]
    print(f"\n{lost} gold sentences ranked below first; mean gold-minus-top per component:")
    for k in COMPONENTS:
        print(f"  {k:<8} {deltas[k] / max(lost, 1):+.3f}")


def summary(rows: Sequence[Row]) -> None:
    ranks = Counter()
    for row in rows:
        if not row.question.key_facts:
            continue
        r = row.gold_rank
        ranks["first" if r == 0 else "2-3" if r is not None and r < 3 else "4+" if r is not None else "none"] += 1
    print("gold rank:", dict(ranks))


def main(argv: Sequence[str] | None = None) -> int:
    from rag.service import build_engine

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", default="dev")
    parser.add_argument("--corpus", action="append", default=[])
    parser.add_argument("--lost", action="store_true", help="only questions whose gold sentence is not first")
    args = parser.parse_args(argv)
    settings = Settings()
    suites = select_suites(discover_suites(), corpora=args.corpus, splits=[args.split])
    rows: list[Row] = []
    for suite in suites:
        engine = build_engine(corpus_settings(settings, suite.corpus))
        rows += [diagnose(engine, q) for q in load_questions([suite.questions])]
    report(rows, args.lost)
    summary(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
