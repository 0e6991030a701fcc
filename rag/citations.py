"""Attach, verify and repair citations, for every generator.

Guarantees on what leaves this module: every [n] in the answer resolves to a listed citation, and
every citation's quote is a verbatim substring of its stored chunk. Citations are renumbered 1..m in
order of first use, so [n] in the answer is the n-th citation, not a passage number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.passages import Draft, Passage
from rag.schemas import Citation
from rag.text import content_terms, normalize_ws, split_sentences

MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
MIN_REPAIR_OVERLAP = 0.5  # share of a claim's terms a passage sentence must hold to take an orphan claim


@dataclass
class Verified:
    text: str
    citations: list[Citation]
    repairs: int
    support: float


def verify(draft: Draft, passages: list[Passage]) -> Verified:
    by_n = {p.n: p for p in passages}
    claims = _claims(draft.text)
    repairs = 0
    numbering: dict[tuple[int, str], int] = {}  # (passage n, quote) -> citation number
    citations: list[Citation] = []
    out_parts: list[str] = []
    supported = 0
    for claim, markers in claims:
        claim_refs: list[int] = []
        for n in markers:
            passage = by_n.get(n)
            if passage is None:
                repairs += 1
                passage = _best_passage(claim, passages)
                if passage is None:
                    continue  # dropped: cites nothing we retrieved, and nothing we retrieved supports it
            quote, repaired = _quote_for(passage, claim, draft.quotes.get(n, []))
            repairs += repaired
            if quote is None:
                repairs += 1
                continue
            key = (passage.n, quote)
            if key not in numbering:
                numbering[key] = len(citations) + 1
                citations.append(
                    Citation(
                        n=numbering[key],
                        doc_id=passage.doc_id,
                        source=passage.source,
                        title=passage.title,
                        chunk_id=passage.chunk_id,
                        quote=quote,
                        score=passage.score,
                        section=passage.metadata.get("section") or None,
                    )
                )
            if numbering[key] not in claim_refs:
                claim_refs.append(numbering[key])
        if claim_refs:
            supported += 1
        refs = "".join(f"[{r}]" for r in claim_refs)
        out_parts.append(f"{claim} {refs}".strip() if refs else claim)
    text = " ".join(part for part in out_parts if part)
    support = supported / len(claims) if claims else 0.0
    return Verified(text=text, citations=citations, repairs=repairs, support=round(support, 3))


def _claims(text: str) -> list[tuple[str, list[int]]]:
    """Split answer text into claims (sentences) with the markers each carries.

    A marker run that starts the next sentence ("...killed. [2] The...") belongs to the sentence before.
    """
    text = normalize_ws(text)
    claims: list[tuple[str, list[int]]] = []
    for lo, hi in split_sentences(text):
        sentence = text[lo:hi]
        leading = re.match(r"^((?:\[\d+(?:\s*,\s*\d+)*\]\s*)+)", sentence)
        if leading and claims:
            claims[-1][1].extend(_numbers(leading.group(1)))
            sentence = sentence[leading.end() :]
        markers = _numbers(sentence)
        bare = normalize_ws(MARKER.sub("", sentence)).replace(" .", ".").replace(" ,", ",")
        if bare:
            claims.append((bare, markers))
        elif markers and claims:
            claims[-1][1].extend(markers)
    return claims


def _numbers(text: str) -> list[int]:
    out: list[int] = []
    for group in MARKER.findall(text):
        out += [int(x) for x in group.split(",") if x.strip().isdigit()]
    return out


def _quote_for(passage: Passage, claim: str, offered: list[str]) -> tuple[str | None, int]:
    """A verbatim quote from the passage: the offered one if it is really there, else the best sentence."""
    for quote in offered:
        exact = find_verbatim(passage.text, quote)
        if exact:
            return exact, 0
    best = _best_sentence(passage.text, claim)
    return best, 1 if offered else 0


def find_verbatim(chunk_text: str, quote: str) -> str | None:
    """The exact chunk substring equal to quote up to whitespace, or None."""
    quote = normalize_ws(quote.strip().strip('"“”'))
    if len(quote) < 8:
        return None
    if quote in chunk_text:
        return quote
    pattern = r"\s+".join(re.escape(word) for word in quote.split())
    match = re.search(pattern, chunk_text)
    return match.group(0) if match else None


def _best_sentence(text: str, claim: str) -> str | None:
    claim_terms = set(content_terms(claim))
    best, best_overlap = None, -1.0
    for lo, hi in split_sentences(text):
        sentence = text[lo:hi]
        terms = set(content_terms(sentence))
        overlap = len(claim_terms & terms) / max(len(claim_terms), 1)
        if overlap > best_overlap:
            best, best_overlap = sentence, overlap
    if claim_terms and best_overlap <= 0:
        return None
    return best


def _best_passage(claim: str, passages: list[Passage]) -> Passage | None:
    claim_terms = set(content_terms(claim))
    if not claim_terms:
        return None
    best, best_overlap = None, 0.0
    for passage in passages:
        for lo, hi in split_sentences(passage.text):
            overlap = len(claim_terms & set(content_terms(passage.text[lo:hi]))) / len(claim_terms)
            if overlap > best_overlap:
                best, best_overlap = passage, overlap
    return best if best_overlap >= MIN_REPAIR_OVERLAP else None
