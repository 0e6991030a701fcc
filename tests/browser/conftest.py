"""Browser tests: a real `citebot serve` on 127.0.0.1 over a copy of the seeded index, driven by Debian's
headless Chromium through Selenium and chromedriver. Skipped, with the reason, when no browser is
installed; on CI (`CI=true`, where .ci/run installs it) a missing browser is an error instead.
Screenshots go to tmp/artifacts/browser/ (printed at the end of the run).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.support.browser import RequestLog, find_browser, start_chrome
from tests.support.http import ServeProcess, derive

ARTIFACTS = ROOT / "tmp" / "artifacts" / "browser"
CHROMIUM, CHROMEDRIVER, MISSING = find_browser()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not MISSING:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        raise pytest.UsageError(f"browser tests cannot run on CI: {MISSING}")
    skip = pytest.mark.skip(reason=f"browser tests skipped: {MISSING}")
    for item in items:
        if item.path.is_relative_to(Path(__file__).parent):
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    shots = sorted(ARTIFACTS.glob("*.png")) if ARTIFACTS.exists() else []
    if shots:
        terminalreporter.write_line(f"browser screenshots ({len(shots)}): {ARTIFACTS}")


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def served_data(seeded_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the seeded index: the served process writes its feedback there, not in the shared one."""
    target = tmp_path_factory.mktemp("browser") / "data"
    shutil.copytree(seeded_dir, target)
    return target


def _serve(seeded_settings, data_dir: Path, log_dir: Path, **overrides) -> ServeProcess:
    settings = derive(seeded_settings, data_dir=data_dir, rate_limit_per_minute=0, **overrides)
    return ServeProcess(settings, log_dir / "serve.log").start()


@pytest.fixture(scope="module")
def service(seeded_settings, served_data: Path) -> Iterator[ServeProcess]:
    server = _serve(seeded_settings, served_data, served_data.parent)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def secured_service(seeded_settings, served_data: Path, tmp_path_factory) -> Iterator[ServeProcess]:
    data = tmp_path_factory.mktemp("browser-keys") / "data"
    shutil.copytree(served_data, data)
    server = _serve(seeded_settings, data, data.parent, api_keys="browser-key-5e1d")
    yield server
    server.stop()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator:
    driver = start_chrome(CHROMIUM, CHROMEDRIVER, tmp_path / "profile")
    driver.set_page_load_timeout(60)
    driver.requests = RequestLog(driver)
    try:
        yield driver
    finally:
        driver.quit()
