"""An unclosed list in a reference page: the entries after it keep their own headings.

Hand-made page in the shape of a generated C reference: each entry is a heading after a rule, a
paragraph, and a definition list of its constants; the first entry's `<dl>` is never closed.
"""

from __future__ import annotations

from pathlib import Path

from ingest.loaders import load_bytes

FILLER = "This paragraph explains the entry at some length so that the extractor keeps it as main text."
ENTRIES = {
    "Widget States": ("WIDGET_IDLE", "The widget is waiting for work."),
    "Gadget Limits": ("GADGET_MAX_SIZE", "The largest gadget that can be built, in bytes."),
    "Sprocket Flags": ("SPROCKET_FAST", "The sprocket turns at double speed."),
}


def _page(close_first: bool) -> bytes:
    body = ""
    for i, (heading, (term, text)) in enumerate(ENTRIES.items()):
        end = "</dl>" if close_first or i else ""
        body += (
            f"<hr><a name='e{i}'></a><h2>{heading}</h2><p>{FILLER} {FILLER}</p>"
            f"<p><dl><dt>{term}</dt><dd>{text}<dd></p>{end}"
        )
    return (
        f"<html><head><title>Parts reference</title></head><body><h1>Parts reference</h1>{body}</body></html>".encode()
    )


def test_entries_after_an_unclosed_list_keep_their_headings() -> None:
    for close_first in (True, False):
        doc = load_bytes(_page(close_first), Path("/docs/parts.html"), Path("/docs"))
        for heading, (term, text) in ENTRIES.items():
            assert doc.section_at(doc.text.index(text)) == f"Parts reference > {heading}", (close_first, term)
            assert f"{term}: {text}" in doc.text  # the term still leads its definition
