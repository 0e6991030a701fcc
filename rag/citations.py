"""Attach, verify and repair citations, for every generator (batch and streamed).

A claim is one sentence of the answer. A citation of a claim *holds* when its quote is verbatim in
the cited chunk (quotes and apostrophes, dashes and whitespace normalised) **and** the quote
supports the claim: every number and named entity of the claim (until entity recognition lands:
numbers, spelled-out counts and capitalised mid-sentence words) appears in the quote, and most of
the claim's content words do. A citation that does not hold is repaired to the supporting sentence
of the same passage when there is one, else dropped; a claim left with no holding citation is
removed. Instruction-like text ("Assistant: ...", "ignore previous instructions") is never a
holding quote: injected text in a document is data, not an answer.

Guarantees on what leaves this module: every [n] in the text resolves to a listed citation, every
citation's quote is a verbatim substring of its stored chunk and supports the claim that cites it,
and citations are numbered 1..m in order of first use ([n] is the n-th citation, not a passage
number). `ClaimVerifier` checks claims one at a time, in order, so a stream can show each verified
sentence with its final numbering as soon as it is complete.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rag.claims import (
    CITE,
    MARKER,
    Claim,
    Ref,
    complete_claims,
    find_verbatim,
    key_tokens,
    looks_like_instruction,
    parse_claims,
    supporting_sentence,
    supports,
)
from rag.passages import Draft, Passage
from rag.schemas import Citation
from rag.store_records import section_of

__all__ = [
    "CITE",
    "MARKER",
    "ClaimVerifier",
    "SentenceStream",
    "Verified",
    "find_verbatim",
    "key_tokens",
    "looks_like_instruction",
    "parse_claims",
    "supports",
    "verify",
]

HOLD_MARGIN = 2  # a stream shows verified text once support survives this many more failed claims


@dataclass
class Verified:
    text: str
    citations: list[Citation]
    repairs: int
    support: float
    claims: int = 0  # claims in the draft
    removed: list[str] = field(default_factory=list)  # claims no citation supported, in order

    @property
    def claims_removed(self) -> int:
        return len(self.removed)

    @property
    def kept(self) -> int:
        return self.claims - len(self.removed)


def verify(draft: Draft, passages: list[Passage]) -> Verified:
    """Check a whole draft: every claim against the passages it cites (see the module docstring)."""
    verifier = ClaimVerifier(passages, draft.quotes)
    for claim in parse_claims(draft.text):
        verifier.add(claim)
    return verifier.result()


class ClaimVerifier:
    """Verifies claims in order; `add` returns the rendered sentence ("claim [1][2]") or None."""

    def __init__(self, passages: list[Passage], offered: dict[int, list[str]] | None = None) -> None:
        self.passages = passages
        self.by_n = {p.n: p for p in passages}
        self.offered = offered or {}
        self.citations: list[Citation] = []
        self.numbering: dict[tuple[str, str], int] = {}  # (chunk id, quote) -> citation number
        self.parts: list[str] = []
        self.removed: list[str] = []
        self.repairs = 0
        self.claims = 0

    def add(self, claim: Claim) -> str | None:
        self.claims += 1
        held: list[tuple[Passage, str]] = []
        for ref in claim.refs:
            found = self._check(claim, ref)
            if found and found not in held:
                held.append(found)
        if not held or not supports(claim.text, " ".join(quote for _, quote in held)):
            self.removed.append(claim.text)
            return None
        numbers = []
        for passage, quote in held:
            number = self._number(passage, quote)
            if number not in numbers:
                numbers.append(number)
        rendered = f"{claim.text} {''.join(f'[{n}]' for n in numbers)}"
        self.parts.append(rendered)
        return rendered

    def result(self) -> Verified:
        support = (self.claims - len(self.removed)) / self.claims if self.claims else 0.0
        return Verified(
            text=" ".join(self.parts),
            citations=list(self.citations),
            repairs=self.repairs,
            support=round(support, 3),
            claims=self.claims,
            removed=list(self.removed),
        )

    @property
    def kept_so_far(self) -> int:
        return self.claims - len(self.removed)

    # -- one citation ---------------------------------------------------------------------------
    def _check(self, claim: Claim, ref: Ref) -> tuple[Passage, str] | None:
        targets = [claim.text] + ([ref.segment] if ref.segment and ref.segment != claim.text else [])
        passage = self.by_n.get(ref.n)
        if passage is None:  # a passage we never sent: the claim may still be said by one we did
            self.repairs += 1
            for other in self.passages:
                best = supporting_sentence(other.text, targets)
                if best:
                    return other, best
            return None
        offered = ([ref.quote] if ref.quote else []) + self.offered.get(ref.n, [])
        for quote in offered:
            exact = find_verbatim(passage.text, quote)
            if exact and not looks_like_instruction(exact) and any(supports(t, exact) for t in targets):
                return passage, exact
        best = supporting_sentence(passage.text, targets)
        if offered or best is None:
            self.repairs += 1  # a quote that is not in the chunk or does not say the claim; or nothing supports it
        return (passage, best) if best else None

    def _number(self, passage: Passage, quote: str) -> int:
        key = (passage.chunk_id, quote)
        if key not in self.numbering:
            self.numbering[key] = len(self.citations) + 1
            self.citations.append(
                Citation(
                    n=self.numbering[key],
                    doc_id=passage.doc_id,
                    source=passage.source,
                    title=passage.title,
                    chunk_id=passage.chunk_id,
                    quote=quote,
                    score=passage.score,
                    section=section_of(passage.metadata, passage.text.find(quote)),
                )
            )
        return self.numbering[key]


class SentenceStream:
    """Verify a still-arriving answer sentence by sentence; hand out verified sentences in order.

    `feed(text so far)` verifies the claims that became complete and returns the text to show now
    (verified sentences with their final [n], joined by spaces). Verified sentences are held back
    until the share of verified claims would stay at or above `min_support` even if the next
    HOLD_MARGIN claims failed, so that a stream which turns out to be mostly unverifiable has usually
    shown nothing when the extractive answer replaces it (text once shown is never taken back).
    `finish(full text)` verifies the rest; `release()` hands out what was held back.
    """

    def __init__(self, passages: list[Passage], min_support: float = 0.0) -> None:
        self.verifier = ClaimVerifier(passages)
        self.min_support = min_support
        self.done = 0  # claims verified
        self.pending: list[str] = []
        self.shown = ""

    def feed(self, text: str) -> list[str]:
        self._verify(complete_claims(text))
        verifier = self.verifier
        # shown only while support would stay above the threshold even if the next HOLD_MARGIN claims fail
        safe = verifier.kept_so_far >= self.min_support * (verifier.claims + HOLD_MARGIN)
        return self.release() if safe else []

    def finish(self, text: str, offered: dict[int, list[str]] | None = None) -> None:
        self.verifier.offered = offered or {}
        self._verify(parse_claims(text))

    def release(self) -> list[str]:
        out = []
        for sentence in self.pending:
            out.append(f" {sentence}" if self.shown else sentence)
            self.shown += out[-1]
        self.pending = []
        return out

    def _verify(self, claims: list[Claim]) -> None:
        for claim in claims[self.done :]:
            rendered = self.verifier.add(claim)
            if rendered:
                self.pending.append(rendered)
        self.done = max(self.done, len(claims))
