"""Which sentences answer together (rag.combine), on hand-made candidates: no model needed."""

from __future__ import annotations

from rag.answer_values import Candidate
from rag.combine import MAX_SOURCES, SOURCE_RATIO, TIE_RATIO, combine
from rag.nlp import Span
from rag.passages import Passage
from rag.question import analyse


def _cand(text: str, score: float, doc: str = "a", index: int = 0) -> Candidate:
    passage = Passage(
        n=1 if doc == "a" else 2, chunk_id=f"{doc}-0", doc_id=doc, source=f"{doc}.txt", title=doc, text=text, score=1.0
    )
    return Candidate(passage, text, index, cosine=score, keyword=0.5, holds_wanted=False, score=score)


QUERY = analyse("why does the backup tool skip open files")
BEST = _cand("The tool reads each file once while the server runs.", 1.0)
TIED = _cand("Files that are open for writing are skipped to avoid torn copies.", TIE_RATIO + 0.02, index=3)
FAR = _cand("Files that are open for writing are skipped to avoid torn copies.", TIE_RATIO - 0.1, index=3)
OTHER = _cand("The manual describes every option of the tool in turn.", 0.5, index=5)


def test_a_near_tie_from_the_same_document_is_quoted_too() -> None:
    chosen = combine(QUERY, [BEST, TIED, OTHER], idf=lambda t: 1.0)
    assert [c.text for c in chosen[:2]] == [BEST.text, TIED.text]


def test_a_clearly_weaker_sentence_of_the_same_document_stays_out() -> None:
    chosen = combine(QUERY, [BEST, FAR, OTHER], idf=lambda t: 1.0)
    assert [c.text for c in chosen] == [BEST.text]


def test_a_near_tie_repeating_the_best_sentence_is_not_quoted_twice() -> None:
    echo = _cand("The tool reads each file once while the server runs.", 0.99, index=7)
    chosen = combine(QUERY, [BEST, echo, TIED], idf=lambda t: 1.0)
    assert [c.text for c in chosen] == [BEST.text, TIED.text]


def test_a_tie_without_the_asked_kind_does_not_join_a_sentence_holding_it() -> None:
    typed = Candidate(BEST.passage, BEST.text, 0, 1.0, 0.5, holds_wanted=True, score=1.0)
    chosen = combine(analyse("when did the backup start"), [typed, TIED], idf=lambda t: 1.0)
    assert TIED not in chosen


def test_a_question_asking_for_every_side_quotes_the_best_sentence_of_each_document() -> None:
    query = analyse("what did the vendor and the reviewers each say about the backup tool")
    assert query.compare
    lead = _cand("The vendor says the tool copies every file.", 1.0)
    same_doc = _cand("The vendor adds a schedule to the tool.", 0.9, index=2)
    other = _cand("Reviewers found the tool slow on open files.", 0.7, doc="b")
    chosen = combine(query, [lead, same_doc, other], idf=lambda t: 1.0)
    assert other in chosen


def test_every_side_stops_at_documents_far_below_the_best() -> None:
    query = analyse("what did the vendor and the reviewers each say about the backup tool")
    lead = _cand("The vendor says the tool copies every file.", 1.0)
    weak = _cand("A forum post mentions a different product.", 0.4, doc="b")
    assert weak not in combine(query, [lead, weak], idf=lambda t: 1.0)


def test_a_plain_question_does_not_pull_in_every_document() -> None:
    query = analyse("why does the backup tool skip open files")
    assert not query.compare
    other = _cand("Reviewers found the tool slow on open files.", 0.7, doc="b")
    assert other not in combine(query, [BEST, other], idf=lambda t: 1.0)


def _valued(text: str, score: float, doc: str, value: str, label: str, index: int = 0) -> Candidate:
    cand = _cand(text, score, doc=doc, index=index)
    start = text.index(value)
    cand.holds_wanted, cand.spans = True, [Span(start, start + len(value), label, value)]
    return cand


def test_another_document_placing_the_same_event_elsewhere_is_shown_beside_it() -> None:
    query = analyse("where did the flood hit the railway")
    lead = _valued("The flood cut the railway near Tarvo on Sunday.", 1.0, "a", "Tarvo", "GPE")
    same_doc = _valued("The railway runs from Tarvo to Senn.", 0.97, "a", "Senn", "GPE", index=2)
    other = _valued(
        "The railway was washed away outside Miran, officials said.", SOURCE_RATIO + 0.02, "b", "Miran", "GPE"
    )
    chosen = combine(query, [lead, same_doc, other], idf=lambda t: 1.0)
    assert other in chosen


def test_another_document_well_below_the_best_does_not_join_a_typed_answer() -> None:
    query = analyse("where did the flood hit the railway")
    lead = _valued("The flood cut the railway near Tarvo on Sunday.", 1.0, "a", "Tarvo", "GPE")
    other = _valued("Rail travel in Miran is popular.", SOURCE_RATIO - 0.15, "b", "Miran", "GPE")
    assert other not in combine(query, [lead, other], idf=lambda t: 1.0)


def test_a_count_is_not_shown_beside_a_sum_of_money() -> None:
    query = analyse("how much did the port cost, the figures differ")
    assert query.compare
    lead = _valued("The port cost $60bn to build.", 1.0, "a", "$60bn", "MONEY")
    count = _valued("More than 1,500 workers built the port.", 0.95, "a", "More than 1,500", "CARDINAL", index=2)
    elsewhere = _valued("The port was a $65bn project.", 0.9, "b", "$65bn", "MONEY")
    people = _valued("About 300 people live by the port.", 0.85, "c", "About 300", "CARDINAL")
    chosen = combine(query, [lead, count, elsewhere, people], idf=lambda t: 1.0)
    assert elsewhere in chosen
    assert count not in chosen and people not in chosen


def test_every_side_may_quote_more_documents_than_a_plain_answer() -> None:
    query = analyse("what did the unions and the ministries each ask for")
    asks = ["a pay rise", "shorter shifts", "safer ladders", "paid leave", "a pension fund", "free lunches"]
    cands = [_cand(f"They asked for {ask}.", 1.0 - i * 0.05, doc="abcdef"[i]) for i, ask in enumerate(asks)]
    chosen = combine(query, cands, idf=lambda t: 1.0)
    assert len({c.passage.doc_id for c in chosen}) == MAX_SOURCES


def test_one_page_giving_two_figures_for_the_asked_span_shows_both() -> None:
    query = analyse("how long is a release supported for")
    lead = _valued("Security support lasts one year after the next release.", 1.0, "a", "one year", "DATE")
    second = _valued("Each release has an expected lifetime of about 5 years.", 0.85, "a", "about 5 years", "DATE", 2)
    chosen = combine(query, [lead, second], idf=lambda t: 1.0)
    assert second in chosen


def test_a_second_figure_far_below_the_best_or_the_same_figure_again_stays_out() -> None:
    query = analyse("how long is a release supported for")
    lead = _valued("Security support lasts one year after the next release.", 1.0, "a", "one year", "DATE")
    weak = _valued("Mirrors update within six hours of a release.", 0.6, "a", "six hours", "TIME", 2)
    again = _valued("Support for a release runs one year past its successor.", 0.85, "a", "one year", "DATE", 3)
    chosen = combine(query, [lead, weak, again], idf=lambda t: 1.0)
    assert weak not in chosen and again not in chosen


def test_relative_dates_of_one_page_are_not_shown_as_two_figures() -> None:
    query = analyse("when did the strike start")
    lead = _valued("The strike began last month at the docks.", 1.0, "a", "last month", "DATE")
    span = _valued("Talks lasted just a week before the strike.", 0.85, "a", "just a week", "DATE", 2)
    assert span not in combine(query, [lead, span], idf=lambda t: 1.0)


def test_a_figure_two_documents_agree_on_is_not_joined_by_another_event_s_figure() -> None:
    query = analyse("how many workers were hurt in the mine fire")
    lead = _valued("Two workers were hurt in the mine fire on Sunday.", 1.0, "a", "Two", "CARDINAL")
    agreed = _valued("Rescuers said two men had burns after the blaze underground.", 0.99, "b", "two", "CARDINAL")
    older = _valued("A flood at the mine hurt five workers in 2019.", 0.85, "a", "five", "CARDINAL", 2)
    chosen = combine(query, [lead, agreed, older], idf=lambda t: 1.0)
    assert agreed in chosen and older not in chosen


def test_a_second_figure_standing_by_none_of_the_question_s_words_is_not_shown() -> None:
    query = analyse("how long is a release supported for")
    lead = _valued("Security support lasts one year after the next release.", 1.0, "a", "one year", "DATE")
    unrelated = _valued("The mirrors took just a week to catch up.", 0.85, "a", "just a week", "DATE", 2)
    assert unrelated not in combine(query, [lead, unrelated], idf=lambda t: 1.0)
