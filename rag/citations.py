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

import re
from dataclasses import dataclass, field

from rag.passages import Draft, Passage
from rag.schemas import Citation
from rag.text import STOPWORDS, content_terms, normalize_ws, split_sentences

MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
# A citation group as a generator writes it: `[3]`, `[1, 2]`, or `[3: "verbatim quote"]`.
CITE = re.compile(r"\[\s*(\d+(?:\s*,\s*\d+)*)\s*(?::\s*[\"“”„«]([^\]]*?)[\"“”»]?\s*)?\]")
RANGE = re.compile(r"\[(\d+)\]\s*(to|through|until|-|–|—)\s*\[(\d+)\]")
MIN_CLAIM_OVERLAP = 0.6  # share of a claim's content words its quote must hold
MIN_QUOTE_CHARS = 8
HOLD_MARGIN = 2  # a stream shows verified text once support survives this many more failed claims

_TRANSLATE = str.maketrans(
    {
        "‘": "'",
        "’": "'",
        "‚": "'",
        "‛": "'",
        "′": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "‟": '"',
        "″": '"',
        "«": '"',
        "»": '"',
        "‐": "-",
        "‑": "-",
        "‒": "-",
        "–": "-",
        "—": "-",
        "―": "-",
        "−": "-",
        "\u00a0": " ",
    }
)
_NUMBER_WORDS = {
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
    "eleven": "11",
    "twelve": "12",
    "thirteen": "13",
    "fourteen": "14",
    "fifteen": "15",
    "sixteen": "16",
    "seventeen": "17",
    "eighteen": "18",
    "nineteen": "19",
    "twenty": "20",
    "thirty": "30",
    "forty": "40",
    "fifty": "50",
    "sixty": "60",
    "seventy": "70",
    "eighty": "80",
    "ninety": "90",
    "hundred": "100",
    "thousand": "1000",
    "million": "1000000",
    "billion": "1000000000",
    "dozen": "12",
}  # "one" is left out: it is a pronoun far more often than a count
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\-]*(?:[.,][0-9]+)*")
# Role labels and prompt-steering phrases: text that talks to a model, not about the world.
_INSTRUCTION = re.compile(
    r"^\W*(assistant|system|user|ai|bot|model)\s*:"
    r"|\b(ignore|disregard|forget|override)\b.{0,40}\b(instructions?|prompts?|rules?|previous|above)\b"
    r"|\bsystem prompt\b|\byou are now\b|\bdeveloper mode\b|\bjailbreak\b|\brepeat after me\b"
    r"|\b(respond|reply|answer|say|print|output)\s+(only\s+)?(with\s+)?(exactly|only|the word)\b",
    re.I,
)


@dataclass
class Ref:
    """One citation as the generator wrote it: passage number and the quote offered with it."""

    n: int
    quote: str | None = None
    segment: str = ""  # the words of the claim before this marker (for claims citing several passages)


@dataclass
class Claim:
    text: str  # the sentence without its markers
    refs: list[Ref] = field(default_factory=list)


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
                    section=(passage.metadata or {}).get("section") or None,
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


# -- support ------------------------------------------------------------------------------------
def supports(claim: str, quote: str) -> bool:
    """Does the quote say the claim: its numbers and names, and most of its content words?"""
    if not claim.strip() or looks_like_instruction(quote) or looks_like_instruction(claim):
        return False
    quote_n = normalise(quote)
    if not key_tokens(normalise(claim)) <= _quote_keys(quote_n):
        return False
    terms = _terms(claim)
    if not terms:
        return False
    return len(terms & _terms(quote_n)) / len(terms) >= MIN_CLAIM_OVERLAP


def _terms(text: str) -> set[str]:
    """Content words, with hyphenated compounds ("220-pound") as their parts."""
    return set(content_terms(normalise(text).replace("-", " ")))


def key_tokens(text: str) -> set[str]:
    """Numbers (digits or spelled-out counts, as digits) and capitalised words not opening a sentence."""
    keys: set[str] = set()
    at_start = True
    for match in _TOKEN.finditer(text):
        token = match.group(0).rstrip(".,")
        before = text[: match.start()].rstrip()
        at_start = at_start if not before else before[-1] in ".!?:;\"'\n"
        number = _as_number(token)
        if number:
            keys.add(number)
        elif token[:1].isupper() and not at_start and _name_word(token):
            keys.add(_bare(token))
        keys |= {n for part in token.split("-")[1 if number else 0 :] if "-" in token and (n := _as_number(part))}
        at_start = False
    return keys


def _quote_keys(quote: str) -> set[str]:
    """What a quote offers to match key tokens: its numbers, words (cased) and acronyms of its names."""
    keys: set[str] = set()
    run: list[str] = []
    for match in _TOKEN.finditer(quote):
        token = match.group(0).rstrip(".,")
        number = _as_number(token)
        if number:
            keys.add(number)
        for part in token.split("-") if "-" in token else ():
            keys.update(filter(None, (_as_number(part), _bare(part), _bare(part).capitalize())))
        keys.add(_bare(token))
        keys.add(_bare(token).capitalize())
        if token[:1].isupper():
            run.append(token)
            keys.add("".join(word[0] for word in run[-6:]))
            for i in range(len(run)):
                keys.add("".join(word[0] for word in run[i:]))
        elif token.lower() not in {"of", "for", "and", "the"}:
            run = []
    return keys


def _name_word(token: str) -> bool:
    return len(token) > 1 and token.lower() not in STOPWORDS and token != "I"


def _bare(token: str) -> str:
    token = token.replace("'s", "") if token.endswith("'s") else token
    return token.rstrip("'")


def _as_number(token: str) -> str | None:
    lowered = token.lower()
    if lowered in _NUMBER_WORDS:
        return _NUMBER_WORDS[lowered]
    match = re.fullmatch(r"(\d[\d,]*(?:\.\d+)?)(?:[a-z]{1,3}|%)?", lowered)  # 60bn, 3km, 45%
    if not match:
        return None
    digits = match.group(1).replace(",", "")
    return digits.rstrip("0").rstrip(".") if "." in digits else digits


def looks_like_instruction(text: str) -> bool:
    """Text addressed to a model (a role label, a prompt-steering phrase) rather than about the world.

    A private check until the reader's `rag.question.looks_like_instruction` lands on this branch.
    """
    text = normalise(text)
    return any(_INSTRUCTION.search(text[lo:hi]) for lo, hi in split_sentences(text))


def supporting_sentence(chunk_text: str, claims: list[str]) -> str | None:
    """The sentence (or pair of adjacent sentences) of the chunk that best supports one of the claims."""
    spans = split_sentences(chunk_text)
    candidates = [chunk_text[lo:hi] for lo, hi in spans]
    candidates += [chunk_text[spans[i][0] : spans[i + 1][1]] for i in range(len(spans) - 1)]
    best, best_score = None, 0.0
    for candidate in candidates:
        for claim in claims:
            if not supports(claim, candidate):
                continue
            terms = _terms(claim)
            score = len(terms & _terms(candidate)) / len(terms)
            score -= 0.001 * len(candidate) / 100  # prefer the shorter of equal quotes
            if score > best_score:
                best, best_score = candidate, score
    return best


# -- verbatim quotes ----------------------------------------------------------------------------
def normalise(text: str) -> str:
    """Typographic quotes, apostrophes and dashes as ASCII; whitespace runs as one space."""
    return normalize_ws(text.translate(_TRANSLATE))


def _normalised_with_offsets(text: str) -> tuple[str, list[int]]:
    """normalise(text) and, for every character of it, its offset in text."""
    out: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(text.translate(_TRANSLATE)):
        if ch.isspace():
            if not out or out[-1] == " ":
                continue
            ch = " "
        out.append(ch)
        offsets.append(i)
    while out and out[-1] == " ":
        out.pop()
        offsets.pop()
    return "".join(out), offsets


def find_verbatim(chunk_text: str, quote: str) -> str | None:
    """The exact chunk substring equal to quote up to quotes, dashes and whitespace, or None."""
    wanted = normalise(quote).strip().strip("\"'").strip()
    if len(wanted) < MIN_QUOTE_CHARS:
        return None
    norm, offsets = _normalised_with_offsets(chunk_text)
    for candidate in (wanted, wanted.rstrip(".!?;,").rstrip()):
        if len(candidate) < MIN_QUOTE_CHARS:
            continue
        at = norm.find(candidate)
        if at >= 0:
            return chunk_text[offsets[at] : offsets[at + len(candidate) - 1] + 1]
    return None


# -- claims from generator text -----------------------------------------------------------------
def parse_claims(text: str) -> list[Claim]:
    """Split answer text into claims with the citations each carries.

    Citations belong to the sentence they follow, also when they open the next one ("...killed. [2]
    The ..."); a marker inside a sentence ("A [1] and B [2].") leaves one claim with two citations,
    each with the words before it as its `segment`.
    """
    text = RANGE.sub(r"\1 \2 \3", text)  # "passages [1] to [8]" names passages; it cites nothing
    claims: list[Claim] = []
    cuts: list[int] = []  # per claim: length of its text at its last citation
    open_claim = False  # the last claim may still grow (no sentence end since its last citation)
    pos = 0
    for match in [*CITE.finditer(text), None]:
        prose = text[pos : match.start() if match else len(text)]
        open_claim = _add_prose(claims, cuts, prose, open_claim)
        if match is None:
            break
        if claims:
            claim = claims[-1]
            segment = _tidy(claim.text[cuts[-1] :]) or _tidy(claim.text)
            quote = match.group(2).strip() if match.group(2) else None
            for n in (int(x) for x in match.group(1).split(",") if x.strip().isdigit()):
                claim.refs.append(Ref(n=n, quote=quote, segment=segment))
            cuts[-1] = len(claim.text)
        pos = match.end()
    for claim in claims:
        claim.text = _tidy(claim.text)
        for ref in claim.refs:
            if ref.segment.rstrip(".!?") == claim.text.rstrip(".!?"):
                ref.segment = ""
    return [c for c in claims if c.text]


def stream_prefix(text: str) -> str:
    """The part of a still-arriving text before an unclosed citation (`[1: "half a quo`)."""
    opened = text.rfind("[")
    return text[:opened] if opened > text.rfind("]") else text


def complete_claims(text: str) -> list[Claim]:
    """Claims of a still-arriving text that can no longer change: all but the last one."""
    return parse_claims(stream_prefix(text))[:-1]


def _add_prose(claims: list[Claim], cuts: list[int], prose: str, open_claim: bool) -> bool:
    """Append the sentences of a stretch of text between citations; returns whether the last is open."""
    if not prose.strip():
        return open_claim
    stripped = prose.lstrip()
    closes_previous = not open_claim or stripped[0] in ".!?;" or "\n" in prose[: len(prose) - len(stripped)]
    for i, (lo, hi) in enumerate(split_sentences(prose)):
        sentence = prose[lo:hi]
        if not re.search(r"\w", sentence):  # a lone full stop after a citation
            if claims:
                claims[-1].text += sentence.strip()
            continue
        if i == 0 and claims and not closes_previous:
            claims[-1].text += " " + sentence
        else:
            claims.append(Claim(text=sentence))
            cuts.append(0)
    last = prose.rstrip()
    return not ((last and last[-1] in ".!?") or "\n" in prose[len(last) :])


def _tidy(text: str) -> str:
    text = normalize_ws(MARKER.sub("", text))
    return re.sub(r"\s+([.,;:!?])", r"\1", text).strip()
