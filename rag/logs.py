"""Logging set-up shared by the CLI and every `citebot serve` worker process."""

from __future__ import annotations

import logging
import sys

from rag.settings import Settings


def configure_logging(settings: Settings) -> None:
    """One plain line per record on stderr, at the configured level. Like `logging.basicConfig`, it
    leaves a process whose logging is already set up (handlers on the root logger) alone."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
