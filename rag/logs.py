"""Logging set-up shared by the CLI and every `citebot serve` worker process."""

from __future__ import annotations

import logging
import sys

from rag.settings import Settings


class _CitebotHandler(logging.StreamHandler):
    """Marks the one handler citebot installs, so that configuring twice does not double lines."""


def configure_logging(settings: Settings) -> None:
    """One plain line per record on stderr, at the configured level."""
    root = logging.getLogger()
    if not any(isinstance(h, _CitebotHandler) for h in root.handlers):
        handler = _CitebotHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
