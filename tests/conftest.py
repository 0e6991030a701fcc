"""Shared fixtures: real settings in temp dirs, the seeds ingested once per session, a real engine."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"

# Tests must never read a developer's .env or real keys, nor talk to anything but localhost.
# The originals stay available to the opt-in tests (e.g. the eval on the openai generator).
ORIGINAL_ENV = {k: v for k, v in os.environ.items() if k.startswith(("CITEBOT_", "OPENAI_", "SLACK_"))}
for _name in list(os.environ):
    if _name.startswith(("CITEBOT_", "OPENAI_", "SLACK_")):
        del os.environ[_name]
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


def make_settings(data_dir: Path, **overrides) -> Settings:
    return Settings(_env_file=None, data_dir=data_dir, **overrides)


@pytest.fixture
def settings_factory(tmp_path: Path):
    def factory(**overrides) -> Settings:
        overrides.setdefault("data_dir", tmp_path / "data")
        return Settings(_env_file=None, **overrides)

    return factory


@pytest.fixture(scope="session")
def seeded_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with seeds/ ingested into embedded Chroma, built once per test session."""
    from ingest.pipeline import ingest_paths

    data_dir = tmp_path_factory.mktemp("seeded")
    report = ingest_paths(make_settings(data_dir), [SEEDS], progress=False)
    assert report.failed == 0 and report.chunks > 0
    return data_dir


@pytest.fixture(scope="session")
def seeded_settings(seeded_dir: Path) -> Settings:
    return make_settings(seeded_dir)


@pytest.fixture(scope="session")
def engine(seeded_settings: Settings):
    """One real engine over the seeds, shared like the API and the bot share theirs."""
    from rag.engine import build_engine

    return build_engine(seeded_settings)


@pytest.fixture
def seeds_copy(tmp_path: Path) -> Path:
    target = tmp_path / "corpus"
    shutil.copytree(SEEDS, target, ignore=shutil.ignore_patterns("*.json", "*.md"))
    return target


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator:
    from tests.support.servers import ChromaServer

    server = ChromaServer(tmp_path / "chroma-server").start()
    yield server
    server.stop()
