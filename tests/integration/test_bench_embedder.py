"""bench/embedder.py measures what it says: real embedder runs against today's configuration, real CLI processes."""

from __future__ import annotations

import pytest

from bench.embedder import bench_cli, bench_embedder, options_to_measure, seed_workload
from rag.settings import Settings


def test_the_workload_is_cut_like_the_ingest_cuts() -> None:
    chunks, sentences = seed_workload()
    assert len(chunks) >= 15 and len(sentences) > len(chunks)
    assert all(chunk.strip() for chunk in chunks)


def test_every_option_is_compared_with_today_in_the_same_run() -> None:
    result = bench_embedder(repeats=1, only=["default", "threads=1"])
    rows = result["embedder_options"]
    assert list(rows) == ["today", "default", "threads=1"]
    assert rows["today"]["cpu_ratio_vs_today"] == 1.0
    for row in rows.values():
        assert row["chunks_per_s"] > 0 and row["cpu_s_per_1k_pieces"] > 0
        low, high = row["cpu_spread"]
        assert low <= row["cpu_s_per_1k_pieces"] <= high
        assert row["min_cosine_vs_today"] >= 0.999  # an option that changes the vectors would show here
    assert result["embedder_workload"]["chunk_pieces"] > 1000


def test_options_start_with_today_and_quick_is_a_subset() -> None:
    full, quick = options_to_measure(False), options_to_measure(True)
    assert next(iter(full)) == next(iter(quick)) == "today"
    assert set(quick) < set(full)


@pytest.mark.slow
def test_cli_wall_in_process_and_via_a_server(seeded_settings: Settings) -> None:
    result = bench_cli(seeded_settings, quick=True)
    assert result["cli_ask_wall_s"]["median"] > 0 and result["cli_ask_via_server_wall_s"]["median"] > 0
    assert result["serve_ready_s"] > 0
    assert result["cli_ask_runs"] == 2  # quick: each way twice, alternating
    for way in ("child", "in_process"):
        assert result[f"cli_ask_{way}_wall_s"]["median"] > 0 and result[f"cli_ask_{way}_cpu_s"] > 0
