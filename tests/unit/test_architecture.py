"""The module boundaries ARCHITECTURE.md states, checked on the source: who may import bot/, FastAPI,
slack_bolt; one composition root; no module of the reshaped packages over 400 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from rag.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 400


def _type_only(tree: ast.AST) -> set[ast.AST]:
    """The import statements under `if TYPE_CHECKING:` (for annotations only, never run)."""
    return {
        child
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
        for child in node.body
    }


def _imports(path: Path) -> set[str]:
    """Every module `path` imports at run time, at any depth (lazy imports inside functions included)."""
    names: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only = _type_only(tree)
    for node in ast.walk(tree):
        if node in type_only:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def _importers(prefix: str, folders: tuple[str, ...]) -> set[str]:
    return {
        str(p.relative_to(ROOT))
        for p in _modules(*folders)
        if any(name == prefix or name.startswith(prefix + ".") for name in _imports(p))
    }


def test_in_rag_only_the_entry_point_and_the_composition_root_import_bot():
    assert _importers("bot", ("rag",)) <= {"rag/cli.py", "rag/service.py"}
    assert "rag/service.py" in _importers("bot", ("rag",))


def test_front_ends_do_not_import_each_other():
    assert _importers("rag.api", ("bot",)) == set()
    assert _importers("rag.service", ("bot", "rag/api", "rag/web")) == set()


def test_only_the_http_packages_import_fastapi_and_only_bot_imports_slack_bolt():
    fastapi_users = _importers("fastapi", ("rag", "bot"))
    assert fastapi_users and all(p.startswith(("rag/api/", "rag/web/")) for p in fastapi_users), fastapi_users
    slack_users = _importers("slack_bolt", ("rag", "ingest"))
    assert slack_users == set()


def test_engine_builds_nothing_itself():
    """Its retriever and generators are given to it: rag/engine.py names none of their classes."""
    source = (ROOT / "rag" / "engine.py").read_text(encoding="utf-8")
    for built in ("HybridRetriever(", "ExtractiveGenerator(", "OpenAIGenerator(", "ChromaStore(", "build_embedder("):
        assert built not in source


@pytest.mark.parametrize("folder", ["rag/api", "bot"])
def test_reshaped_modules_stay_under_the_size_limit(folder: str):
    sizes = {str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines()) for p in _modules(folder)}
    assert all(n <= MAX_LINES for n in sizes.values()), sizes
    for name in ("rag/engine.py", "rag/generation.py", "rag/llm.py", "rag/service.py"):
        assert len((ROOT / name).read_text(encoding="utf-8").splitlines()) <= MAX_LINES, name


def test_create_app_is_wiring_only():
    app_py = (ROOT / "rag" / "api" / "app.py").read_text(encoding="utf-8")
    assert len(app_py.splitlines()) < 80


def test_create_app_without_an_engine_says_how_to_build_one(tmp_path: Path):
    from rag.api import create_app
    from rag.settings import Settings

    with pytest.raises(ConfigError, match="rag.service.build_app"):
        create_app(Settings(_env_file=None, data_dir=tmp_path))


def test_retrieval_and_its_sentence_evidence_never_import_the_reader():
    for module in ("rag/retrieval.py", "rag/evidence.py", "rag/fusion.py"):
        imported = _imports(ROOT / module)
        assert not {"rag.extractive", "rag.generation", "rag.engine", "rag.spans"} & imported, module
