"""rag.fusion: the ranking arithmetic retrieval and the retrieval-quality benchmark share."""

from __future__ import annotations

import math

import pytest

from rag.fusion import (
    DocAggregation,
    FusionConfig,
    FusionMethod,
    Ranking,
    choose_passages,
    convex,
    document_scores,
    fuse,
    leading,
    normalise,
    rank_chunks,
    rank_passages,
    reciprocal_rank,
    seats_for,
)
from rag.settings import Settings

DOCS = {"a1": "A", "a2": "A", "a3": "A", "b1": "B", "b2": "B", "c1": "C", "d1": "D"}


def doc_of(chunk_id: str) -> str:
    return DOCS[chunk_id]


def test_rrf_scores_a_chunk_first_everywhere_one_and_weights_shift_the_order():
    dense = Ranking.of([("a1", 0.9), ("b1", 0.8)], weight=1.0)
    keyword = Ranking.of([("b1", 12.0), ("a1", 3.0)], weight=1.0)
    both_first = reciprocal_rank([Ranking.of([("a1", 1.0)]), Ranking.of([("a1", 5.0)])])
    assert both_first == {"a1": pytest.approx(1.0)}
    equal = reciprocal_rank([dense, keyword])
    assert equal["a1"] == pytest.approx(equal["b1"])
    keyword_heavier = reciprocal_rank([dense, Ranking(keyword.ids, keyword.scores, weight=2.0)])
    assert keyword_heavier["b1"] > keyword_heavier["a1"]


def test_minmax_maps_to_unit_range_and_a_flat_list_to_ones():
    assert normalise([2.0, 4.0, 3.0], FusionMethod.minmax) == [0.0, 1.0, 0.5]
    assert normalise([5.0, 5.0], FusionMethod.minmax) == [1.0, 1.0]
    assert normalise([], FusionMethod.zscore) == []


def test_zscore_keeps_order_and_centres_the_mean_at_one_half():
    values = normalise([1.0, 2.0, 3.0], FusionMethod.zscore)
    assert values[0] < values[1] < values[2]
    assert values[1] == pytest.approx(0.5)
    assert all(0.0 < v < 1.0 for v in values)


def test_convex_ignores_the_scale_of_raw_scores():
    # BM25 scores in the tens, cosines below one: neither list dominates by its scale, and
    # multiplying a list's raw scores by a constant changes nothing.
    dense = Ranking.of([("a1", 0.82), ("b1", 0.80), ("c1", 0.10)])
    keyword = Ranking.of([("b1", 30.0), ("a1", 29.7), ("c1", 1.0)])
    for method in (FusionMethod.minmax, FusionMethod.zscore):
        fused = convex([dense, keyword], method)
        assert fused["a1"] > fused["b1"] > fused["c1"]
        scaled = convex([dense, Ranking(keyword.ids, tuple(s * 100 for s in keyword.scores))], method)
        assert scaled == pytest.approx(fused)
    assert convex([dense, keyword], FusionMethod.minmax)["c1"] == pytest.approx(0.0)


def test_a_chunk_found_by_one_retriever_only_gets_that_lists_share():
    fused = convex(
        [Ranking.of([("a1", 1.0), ("b1", 0.0)]), Ranking.of([("c1", 9.0), ("d1", 1.0)])], FusionMethod.minmax
    )
    assert fused == {"a1": 0.5, "b1": 0.0, "c1": 0.5, "d1": 0.0}


def test_fuse_dispatches_on_the_method():
    rankings = [Ranking.of([("a1", 0.9), ("b1", 0.1)])]
    assert fuse(rankings, FusionMethod.rrf) == reciprocal_rank(rankings)
    assert fuse(rankings, FusionMethod.zscore) == convex(rankings, FusionMethod.zscore)
    assert fuse(rankings, FusionMethod.minmax)["b1"] == 0.0


def test_document_scores_max_takes_the_best_chunk_sum_adds_the_best_two():
    fused = {"a1": 0.5, "a2": 0.4, "a3": 0.3, "b1": 0.7}
    assert document_scores(fused, doc_of, DocAggregation.max) == {"A": 0.5, "B": 0.7}
    summed = document_scores(fused, doc_of, DocAggregation.sum)
    assert summed["A"] == pytest.approx(0.9) and summed["B"] == pytest.approx(0.7)


def test_rank_chunks_by_chunk_for_max_and_grouped_by_document_for_sum():
    fused = {"a1": 0.5, "a2": 0.4, "b1": 0.7, "c1": 0.45}
    assert rank_chunks(fused, doc_of, DocAggregation.max) == ["b1", "a1", "c1", "a2"]
    assert rank_chunks(fused, doc_of, DocAggregation.sum) == ["a1", "a2", "b1", "c1"]


def test_ties_are_broken_by_id_so_rankings_are_deterministic():
    assert rank_chunks({"b1": 0.5, "a1": 0.5}, doc_of, DocAggregation.max) == ["a1", "b1"]


def test_seats_keep_a_leading_documents_best_chunk_that_plain_top_k_drops():
    ranked = ["a1", "a2", "a3", "b1", "c1"]
    assert choose_passages(ranked, doc_of, 3, seats=0) == ["a1", "a2", "a3"]
    assert choose_passages(ranked, doc_of, 3, seats=2) == ["a1", "a2", "b1"]
    assert choose_passages(ranked, doc_of, 3, seats=3) == ["a1", "b1", "c1"]


def test_choose_passages_never_returns_more_than_k_or_duplicates():
    ranked = ["a1", "b1", "c1", "d1", "a2"]
    assert choose_passages(ranked, doc_of, 2, seats=4) == ["a1", "b1"]
    assert choose_passages(ranked, doc_of, 10, seats=4) == ranked
    assert choose_passages(ranked, doc_of, 0, seats=4) == []


def test_seats_for_gives_half_the_passages_at_most_four():
    assert [seats_for(k) for k in (1, 2, 5, 8, 20)] == [1, 1, 2, 4, 4]


def test_rank_passages_puts_the_chunk_both_retrievers_agree_on_first():
    dense = Ranking.of([("a1", 0.61), ("b1", 0.60), ("c1", 0.2)])
    keyword = Ranking.of([("b1", 14.0), ("d1", 13.5), ("a1", 2.0)])
    for method in FusionMethod:
        chosen = rank_passages([dense, keyword], doc_of, 3, FusionConfig(method=method, seats=1))
        assert chosen[0][0] == "b1", method
        assert [s for _, s in chosen] == sorted((s for _, s in chosen), reverse=True)
        assert all(math.isfinite(s) for _, s in chosen)


def test_the_default_is_minmax_over_chunks_with_the_seat_rule():
    config = FusionConfig()
    assert (config.method, config.aggregation, config.seats) == (FusionMethod.minmax, DocAggregation.max, None)
    assert Settings(_env_file=None).retrieval_fusion == config.method.value  # what the engine builds from


def test_leading_is_the_best_fused_chunks_and_a_third_list_can_reorder_them():
    dense = Ranking.of([("a1", 0.9), ("c1", 0.8), ("b1", 0.1)])
    keyword = Ranking.of([("c1", 9.0), ("a1", 8.5), ("b1", 1.0)])
    assert leading([dense, keyword], FusionMethod.minmax, 2) == ["a1", "c1"]
    assert leading([dense, keyword], FusionMethod.minmax, 10) == ["a1", "c1", "b1"]
    assert leading([], FusionMethod.minmax, 3) == []
    typed = Ranking.of([("c1", 0.7), ("a1", 0.2)], weight=0.5)  # only c1's sentence holds an answer
    chosen = rank_passages([dense, keyword, typed], doc_of, 3, FusionConfig(seats=1))
    assert [c for c, _ in chosen] == ["c1", "a1", "b1"]
