"""reStructuredText -> HTML with docutils -> the HTML path (headings, prose, code kept apart).

Sphinx's own roles (:ref:, :func:, ...) are not known to plain docutils: they are replaced by their
text first, so that ":func:`os.path.join`" is indexed as "os.path.join". Unknown directives
(toctree, automodule) produce nothing; notes and warnings are kept as text ("Note: ..."). Includes and raw passthrough are disabled: a document never
reads other files.
"""

from __future__ import annotations

import re

from ingest.formats import Extracted, FormatError, decode

_ROLE = re.compile(r":[\w.+-]+(?::[\w.+-]+)?:`([^`<]*?)\s*(?:<[^>`]*>)?`")
_NO_TITLE = "<title>&lt;string&gt;</title>"
_ASIDE = re.compile(r"<(/?)aside\b")
_SETTINGS = {
    "report_level": 5,  # no system messages in the text
    "halt_level": 5,
    "warning_stream": False,
    "input_encoding": "unicode",
    "output_encoding": "unicode",
    "file_insertion_enabled": False,
    "raw_enabled": False,
    "_disable_config": True,
    "embed_stylesheet": False,
    "stylesheet_path": "",
    "syntax_highlight": "none",
}


def extract_rst(raw: bytes) -> Extracted:
    from docutils.core import publish_string

    from ingest.htmlpage import extract_html

    text = _ROLE.sub(lambda m: m.group(1) or "", decode(raw))
    try:
        html = publish_string(text, writer="html5", settings_overrides=_SETTINGS)
    except Exception as exc:  # docutils raises its own kinds on broken markup
        raise FormatError(f"not readable reStructuredText ({type(exc).__name__}: {exc})") from exc
    # docutils puts notes and warnings in <aside>, which trafilatura drops as a sidebar: they are text
    page = _ASIDE.sub(r"<\1div", str(html)).replace(_NO_TITLE, "")  # no document title: docutils names the source
    return extract_html(page.encode("utf-8"))
