"""Lead-ins of reference entries: the term a paragraph defines, before a colon.

At ingest a definition's paragraphs are led by its term ("tempfile.TemporaryDirectory(): This class
securely creates ...", "-k, --keep-going: Errors are ...", see ingest.htmlpage). Only the first
sentence of a paragraph carries it, so a later sentence ("On completion of the context ... are
removed") never names what it describes; and two sentences of one entry in an answer would repeat it.
"""

from __future__ import annotations

import re

from rag.claims import supports
from rag.code_tokens import code_tokens

MAX_LEAD = 80  # as ingest.htmlpage.MAX_TERM_LABEL: a longer opening is a sentence, not a term
CALLABLE = re.compile(r"[A-Za-z_$][\w$]*\(\)")  # "orElse()", "valueOf()": a call names code without a dot
# a section heading that is an entry's signature: "json_parse()", "g_strdup ()", "path.basename(path[, suffix])"
SIGNATURE_HEADING = re.compile(r"^(?:new\s+)?(?P<name>[A-Za-z_$][\w$]*(?:(?:\.|::|#)[A-Za-z_$][\w$]*)*)\s*\(.*\)$")
SECTION_SEP = " > "  # as ingest.loaders.SECTION_SEP


def code_lead(text: str) -> str | None:
    """The term leading `text` when it is code-shaped ("pathlib.PurePath.parent", "os.path.getsize()",
    "-k, --keep-going"): "Note: ..." or "Changed in version 3.10: ..." are not terms."""
    label, colon, rest = text.partition(": ")
    if not colon or not rest.strip() or len(label) > MAX_LEAD or label != label.strip():
        return None
    if CALLABLE.fullmatch(label):
        return label
    tokens = code_tokens(label)
    leftover = label
    for token in sorted(tokens, key=lambda t: -len(t.text)):
        leftover = leftover.replace(token.text, "")
    return label if tokens and not leftover.replace("()", "").replace(",", "").strip() else None


def paragraph_lead(chunk_text: str, sentence: str) -> str | None:
    """The code-shaped lead-in of the paragraph a later sentence stands in (None for a paragraph's
    first sentence, which carries its own, or when the paragraph has none)."""
    at = chunk_text.find(sentence)
    if at <= 0:
        return None
    start = chunk_text.rfind("\n\n", 0, at)
    start = 0 if start < 0 else start + 2
    if not chunk_text[start:at].strip():
        return None
    return code_lead(chunk_text[start:at])


def section_lead(chunk_text: str, sentence: str, section: str | None) -> str | None:
    """The entry of a sentence that opens its chunk: a chunk may start inside a led paragraph, after its
    lead-in, and the sentence then names its entry only through the section heading it stands under
    ("json_tokener_error_desc()"), when that heading is a signature."""
    if chunk_text.find(sentence) != 0 or not section:
        return None
    match = SIGNATURE_HEADING.match(section.rsplit(SECTION_SEP, 1)[-1].strip())
    return f"{match.group('name')}()" if match else None


def named(sentence: str, chunk_text: str, section: str | None = None) -> str:
    """The sentence as a claim that names its entry: a later sentence of a led paragraph takes the lead
    (unless the sentence, its quote, would then no longer support the claim)."""
    if code_lead(sentence):
        return sentence
    lead = paragraph_lead(chunk_text, sentence) or section_lead(chunk_text, sentence, section)
    claim = f"{lead}: {sentence}" if lead else sentence
    return claim if supports(claim, sentence) else sentence


def drop_repeated_leads(parts: list[tuple[str, list[int]]]) -> list[tuple[str, list[int]]]:
    """A lead-in is said once: a later sentence (claim, passage numbers) opening with the same one
    keeps only its own words, which still stand in its quote."""
    out, seen = [], set()
    for sentence, ns in parts:
        lead = code_lead(sentence)
        if lead and lead in seen:
            sentence = sentence[len(lead) + 2 :]
        elif lead:
            seen.add(lead)
        out.append((sentence, ns))
    return out
