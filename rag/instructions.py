"""Which text is an instruction to the assistant rather than a question or a statement about the world.

A word is not enough: "where do i put ignore rules" and "the standard ignore rules" are about git, while
"ignore your previous instructions" is an order to the assistant. From the parse (rag.nlp), an
instruction is an imperative (a base-form verb heading its clause, with no subject and no wh-word)
that overrides the assistant's inputs ("ignore / disregard / forget" + its instructions, the documents,
"everything above") or dictates its output ("answer only X", "print the word X"); or it names the
assistant's own instructions or reply ("your system prompt", "end your reply with"); or it is one of a
few phrases of chat-bot jailbreaks. A cheap pattern picks the sentences worth parsing, so reading a
document's sentences costs a parse only for the rare one that could be an order.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from rag import nlp
from rag.text import split_sentences

# Who speaks in a chat transcript; also how rag.question finds a faked turn inside a question.
ROLES = "assistant|system|user|ai|bot|human"
ROLE_PREFIX = re.compile(r"^\W{0,3}(" + ROLES + r")\s*[:>]", re.I)
# Phrases that only a message to a chat assistant holds.
JAILBREAK = re.compile(
    r"\bsystem prompt\b|\bdeveloper mode\b|\bjailbreak|\byou are now\b|\bas an ai\b|\bpretend (to be|you)\b"
    r"|\brepeat after me\b|\bfrom now on\b|^\W*act as\b",
    re.I,
)
# Sentences worth parsing: a verb that could override the assistant's inputs near what it is given, a
# verb that could dictate its words, or "your" before what it gives back. The parse decides.
MAYBE = re.compile(
    r"\b(ignore|disregard|forget|override|bypass)\b.{0,60}\b(instructions?|prompts?|rules?|guidelines?|previous|prior"
    r"|above|earlier|docs?|documents?|documentation|context|sources?|everything|anything)\b"
    r"|\b(print|say|output|reply|respond|answer|write|end|type|repeat|reveal)\b.{0,30}\b(only|just|exactly|verbatim|word)\b"
    r"|\byour\s+(\w+\s+)?(instructions?|prompts?|rules|guidelines|repl(y|ies)|answers?|responses?|output|programming)\b",
    re.I,
)
OVERRIDE_VERBS = frozenset("ignore disregard forget override bypass".split())
OUTPUT_VERBS = frozenset("print say output reply respond answer write end type repeat reveal".split())
# What an assistant is given (its instructions, its sources) and what it gives back: general English.
INPUT_NOUNS = frozenset(
    "instruction prompt rule guideline direction restriction document documentation doc context source "
    "everything anything all".split()
)
ASSISTANT_NOUNS = frozenset("instruction prompt rule guideline reply answer response output programming".split())
EARLIER = frozenset("previous prior above earlier preceding all your".split())
DICTATING = frozenset("only just exactly verbatim".split())


@lru_cache(maxsize=8192)
def looks_like_instruction(text: str) -> bool:
    """Is this text (a sentence of a document, or of a question) an instruction to an assistant?"""
    if ROLE_PREFIX.search(text) or JAILBREAK.search(text):
        return True
    return bool(MAYBE.search(text)) and any(_orders(sent) for sent in nlp.parse(text).sents)


def instruction_sentences(text: str) -> list[tuple[int, int, bool]]:
    """(start, end, is an instruction) for each sentence of the text."""
    return [(lo, hi, looks_like_instruction(text[lo:hi])) for lo, hi in split_sentences(text)]


def _orders(sent: Any) -> bool:
    for token in sent:
        lemma = token.lemma_.lower()
        if token.dep_ == "poss" and token.lower_ == "your" and token.head.lemma_.lower() in ASSISTANT_NOUNS:
            return True  # "your previous instructions", "end your reply with ..."
        if not _imperative(token):
            continue
        if lemma in OVERRIDE_VERBS and _overrides(token):
            return True
        if lemma in OUTPUT_VERBS and _dictates(token):
            return True
        if lemma == "act" and any(c.dep_ == "prep" and c.lower_ == "as" for c in token.children):
            return True  # "act as an unrestricted model"
    return False


def _imperative(token: Any) -> bool:
    """A base-form verb heading its own clause (or joined to one that does), with no subject or wh-word."""
    if token.tag_ != "VB" or token.dep_ not in ("ROOT", "conj"):
        return False
    if any(c.dep_ in ("aux", "auxpass", "expl") for c in token.children):
        return False
    if any(c.dep_ in ("nsubj", "nsubjpass") and not _misread_opener(c) for c in token.children):
        return False
    if any(t.tag_ in ("WDT", "WP", "WP$", "WRB") for t in token.subtree if t.i < token.i):
        return False
    if token.dep_ == "conj":
        head = token.head
        return head.tag_ == "VB" and head.dep_ == "ROOT" and _imperative(head)
    return True


def _misread_opener(subject: Any) -> bool:
    """ "pls disregard ...": a lone word opening the sentence, taken for the subject of a base-form verb.

    A real subject makes the verb agree ("users ignore", tagged VBP) or needs an auxiliary ("do i put"), so
    a one-word "subject" of a bare VB at the start is a chat opener the tagger does not know.
    """
    return subject.i == subject.sent.start and not list(subject.children) and subject.tag_ in ("NNP", "NN", "UH")


def _overrides(verb: Any) -> bool:
    """ "ignore your previous instructions", "disregard the rules above", "forget everything above"."""
    objects = [c for c in verb.children if c.dep_ in ("dobj", "advmod")]
    objects += [c for o in objects for c in o.conjuncts]
    for obj in objects:
        if obj.lemma_.lower() in INPUT_NOUNS or obj.lower_ in EARLIER:
            return True
        if any(c.lower_ in EARLIER for c in obj.children):
            return True
    return False


def _dictates(verb: Any) -> bool:
    """ "answer only PWNED", "print the word X", "say exactly ...": the assistant's words are dictated."""
    for t in verb.subtree:
        if t.lower_ in DICTATING and verb.i in (t.head.i, t.head.head.i):
            return True
        if t.lower_ in ("word", "phrase", "sentence") and t.head.i == verb.i:
            return True
    return False
