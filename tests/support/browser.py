"""A real headless Chromium (Debian's `chromium` + `chromium-driver`) driven by Selenium, for the page tests.

Every request the page makes is recorded from Chrome's performance log (DevTools `Network.*` events),
so that tests can assert that nothing left 127.0.0.1. Name resolution is also mapped away for every
other host, so that a stray request fails instead of reaching the network.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CHROMIUM_NAMES = ("chromium", "chromium-browser")
LAUNCH_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--window-size=1360,1000",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
)


def find_browser() -> tuple[str | None, str | None, str]:
    """(chromium, chromedriver, reason): the paths, or None and why the browser tests cannot run."""
    chromium = next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)
    driver = shutil.which("chromedriver")
    try:
        import selenium  # noqa: F401
    except ImportError:
        return chromium, driver, "selenium is not installed (pip install -e '.[dev]')"
    if not chromium or not driver:
        return (
            chromium,
            driver,
            ("no chromium/chromedriver on PATH: `apt-get install -y chromium chromium-driver` (.ci/run does it)"),
        )
    return chromium, driver, ""


def start_chrome(chromium: str, driver: str, profile_dir: Path) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in LAUNCH_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile_dir}")
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


class RequestLog:
    """Every request the browser sent (url, method, headers, body), read from the performance log,
    which drains on each read: `collect()` accumulates."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver
        self.requests: list[dict[str, Any]] = []

    def collect(self) -> list[dict[str, Any]]:
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message.get("method") == "Network.requestWillBeSent":
                request = message["params"]["request"]
                self.requests.append(
                    {
                        "url": request["url"],
                        "method": request.get("method"),
                        "headers": {k.lower(): v for k, v in request.get("headers", {}).items()},
                        "body": request.get("postData"),
                    }
                )
        return self.requests

    def hosts(self) -> set[str]:
        """Hosts of every http(s)/ws(s) request (the browser's own chrome:// pages are not requests)."""
        hosts = set()
        for request in self.collect():
            parts = urlsplit(request["url"])
            if parts.scheme in ("http", "https", "ws", "wss"):
                hosts.add(parts.hostname or "")
            elif parts.scheme not in ("data", "blob", "about", "chrome", "chrome-extension", "devtools"):
                hosts.add(request["url"])
        return hosts

    def to(self, path: str, method: str = "POST") -> list[dict[str, Any]]:
        return [r for r in self.collect() if urlsplit(r["url"]).path == path and r["method"] == method]


def console_errors(driver: Any) -> list[str]:
    """SEVERE entries of the browser console (JS errors, CSP violations, failed loads)."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
