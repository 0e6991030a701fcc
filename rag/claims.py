"""Claims of an answer and what supports them: parsing [n] markers, verbatim quotes, support checks.

A claim is one sentence of an answer with the citation markers it carries (`[3]`, `[1, 2]`,
`[3: "quote"]`). A quote supports a claim when it states every number and name of the claim and most
of its content words; a quote is verbatim when it stands in the chunk with quotes, dashes and
whitespace normalised. Text addressed to an assistant is never a supporting quote. rag.citations
verifies whole answers and streams with these parts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rag.instructions import looks_like_instruction as instruction
from rag.text import STOPWORDS, content_terms, normalize_ws, split_sentences

MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
# A citation group as a generator writes it: `[3]`, `[1, 2]`, or `[3: "verbatim quote"]`.
CITE = re.compile(r"\[\s*(\d+(?:\s*,\s*\d+)*)\s*(?::\s*[\"“”„«]([^\]]*?)[\"“”»]?\s*)?\]")
RANGE = re.compile(r"\[(\d+)\]\s*(to|through|until|-|–|—)\s*\[(\d+)\]")
MIN_CLAIM_OVERLAP = 0.6  # share of a claim's content words its quote must hold
MIN_QUOTE_CHARS = 8
CLOSERS = "\"'”’)»"  # closing quotes and brackets after a sentence's full stop

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
    """Text addressed to a model (a role label, an order about its instructions or its reply; see
    rag.instructions) rather than about the world."""
    text = normalise(text)
    return any(instruction(text[lo:hi]) for lo, hi in split_sentences(text))


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
                claims[-1].text = claims[-1].text.rstrip() + sentence.strip()
            continue
        if i == 0 and claims and not closes_previous:
            glue = "" if sentence.lstrip()[:1] in ".,;:!?" else " "  # "x [1] , y" reads "x, y"
            claims[-1].text = claims[-1].text.rstrip() + glue + sentence.lstrip()
        else:
            claims.append(Claim(text=sentence))
            cuts.append(0)
    last = prose.rstrip()
    ended = last.rstrip(CLOSERS)  # 'he said, “we will act.” [1]': the quote closes a finished sentence
    return not ((ended and ended[-1] in ".!?") or "\n" in prose[len(last) :])


def _tidy(text: str) -> str:
    """The claim without its markers; the space a marker leaves before punctuation goes ("x [1]." -> "x."),
    a space that was there stays ("the . (period) character")."""
    text = re.sub(r"\s*\x00+\s*(?=[.,;:!?])", "", MARKER.sub("\x00", text))
    return normalize_ws(text.replace("\x00", " "))
