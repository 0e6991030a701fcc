"""Understanding the question from its parse: what it asks for, its parts, and what is an instruction.

The parse (spaCy `en_core_web_sm`, see rag.nlp) gives the wh-word ("who", "how many"), the focus noun
("which *company*", "how many *engineers*") and from both the expected answer types among the OntoNotes
entity labels. A question with two wh-clauses ("who claimed it, and how many died?") has two parts,
each analysed on its own. Only general English goes into these rules: wh-words and common nouns that
name a kind of answer (a city, a year, a company), never a name from any corpus.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from rag import nlp
from rag.instructions import ROLES, looks_like_instruction
from rag.schemas import Turn
from rag.text import content_terms, dotted_numbers, split_sentences

__all__ = ["Query", "Wants", "analyse", "looks_like_instruction", "wants_of"]

NUMERIC = frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT"})
TEMPORAL = frozenset({"DATE", "TIME"})
PLACES = frozenset({"GPE", "LOC", "FAC"})
AGENTS = frozenset({"PERSON", "ORG", "NORP"})


class Wants(str, Enum):
    number = "number"
    date = "date"
    entity = "entity"  # who / which group / organisation
    place = "place"
    any = "any"


# The answer types a wh-word asks for, when no focus noun says more.
WH_TYPES: dict[str, frozenset[str]] = {
    "who": frozenset({"PERSON", "ORG"}),
    "whom": frozenset({"PERSON", "ORG"}),
    "whose": frozenset({"PERSON", "ORG"}),
    "when": TEMPORAL,
    "where": PLACES | {"ORG"},
    "how many": frozenset({"CARDINAL", "QUANTITY"}),
    "how much": NUMERIC,
    "how long": TEMPORAL | {"QUANTITY", "CARDINAL"},  # a bare number counts with a unit next to it (rag.shapes)
    "how old": frozenset({"DATE", "CARDINAL"}),
    "how soon": TEMPORAL,
    "how often": TEMPORAL,
}
MEASURE_ADJECTIVES = frozenset("big large far heavy tall high deep wide fast small strong".split())
# Common nouns naming a kind of answer: "which city", "what year". General English, not any corpus.
FOCUS_TYPES: dict[str, frozenset[str]] = {
    **dict.fromkeys(
        "person people man woman men women leader minister official chief head spokesman spokeswoman spokesperson "
        "author founder director chairman ceo driver attacker bomber victim suspect name".split(),
        frozenset({"PERSON"}),
    ),
    **dict.fromkeys(
        "group organization company firm agency ministry department body team party militia business "
        "corporation bank employer newspaper outlet publisher authority government".split(),
        frozenset({"ORG"}),
    ),
    **dict.fromkeys(
        "city country nation town capital state village province district county".split(), frozenset({"GPE"})
    ),
    **dict.fromkeys("region area continent river sea mountain ocean".split(), frozenset({"LOC", "GPE"})),
    **dict.fromkeys("airport building bridge stadium station venue".split(), frozenset({"FAC", "ORG"})),
    **dict.fromkeys("place location".split(), PLACES | {"ORG"}),
    **dict.fromkeys("year date day month week decade century".split(), frozenset({"DATE"})),
    **dict.fromkeys("time hour minute second".split(), TEMPORAL),
    **dict.fromkeys("price cost amount sum budget fee salary value".split(), frozenset({"MONEY", "QUANTITY"})),
    **dict.fromkeys("percentage percent proportion rate".split(), frozenset({"PERCENT"})),
    **dict.fromkeys("number figure total count toll".split(), frozenset({"CARDINAL", "QUANTITY"})),
    **dict.fromkeys("capacity size weight length distance height".split(), frozenset({"QUANTITY", "CARDINAL"})),
    **dict.fromkeys("nationality religion".split(), frozenset({"NORP"})),
    **dict.fromkeys("language".split(), frozenset({"LANGUAGE"})),
    **dict.fromkeys("law treaty".split(), frozenset({"LAW"})),
    **dict.fromkeys("event war".split(), frozenset({"EVENT"})),
    **dict.fromkeys("book film song".split(), frozenset({"WORK_OF_ART"})),
    **dict.fromkeys("product".split(), frozenset({"PRODUCT"})),
}
KIND_WORDS = frozenset("kind kinds type types sort sorts form forms make".split())  # "which kind of X"
GENERIC_PERSON = frozenset("person people man woman men women name names".split())  # a kind, not a role
AGENT_SUFFIXES = ("er", "or", "ist", "ian", "ant", "ent")  # "driver", "director", "journalist": people
SPEECH_VERBS = frozenset("say tell state announce add reply respond write comment remark".split())
LIGHT_VERBS = frozenset("be have do get make take go come give put set keep let seem become".split())
WH_TAGS = frozenset({"WDT", "WP", "WP$", "WRB"})
COPULAS = frozenset({"is", "was", "are", "were", "'s", "’s"})
# Nouns naming a kind of thing written as code in technical text: "which *option*", "what *setting*".
CODE_KINDS = frozenset(
    "command commands option options flag flags setting settings clause clauses keyword keywords program programs "
    "tool tools utility utilities function functions method methods strategy strategies variable variables "
    "parameter parameters argument arguments config configuration switch switches subcommand subcommands "
    "syntax statement statements file files directory folder path helper".split()
)
# Words of a question that asks for every side: "numbers seem to *differ*", "what did *each* say", "A *vs* B".
COMPARE_LEMMAS = frozenset("different difference each various".split())
# ... and verbs saying so: "the figures *conflict*", not the noun ("stash pop hit *conflicts*" in a VCS manual)
COMPARE_VERBS = frozenset("differ vary disagree conflict contradict compare".split())
CONTRASTS = frozenset({"vs", "vs.", "versus"})  # "the command for A vs the one for B": two parts
USE_VERBS = frozenset("use run type call pass set invoke".split())
# "can you tell me when ...", "do you know where ...": a yes/no opening around a wh-question
KNOWING_VERBS = SPEECH_VERBS | frozenset(
    "know show explain ask wonder remember find see".split()
)  # "what do i *use* to restore ..."

# Chat spellings the parser misreads: "whats the max" (no verb), "u" (a noun).
CHAT_SPELLINGS = {"whats": "what's", "whos": "who's", "wheres": "where's", "hows": "how's", "u": "you"}
CHAT_WORD = re.compile(r"\b(" + "|".join(CHAT_SPELLINGS) + r")\b", re.I)
FOLLOW_UP = re.compile(r"\b(it|they|them|that|this|those|these|he|she|his|her|their|there)\b", re.I)

# A chat role marker at the start of the question, after markup or after a sentence: a faked turn.
ROLE_TURN = re.compile(r"(?:^\W{0,3}|(?<=>)\s*|(?<=[.!?])\s+)(" + ROLES + r")\s*:\s*", re.I)
USER_ROLES = frozenset({"user", "human"})
MARKUP = re.compile(r"</?\w+[^>]{0,80}>")


@dataclass
class Query:
    original: str
    text: str  # what is searched and answered: the question without injected instructions
    wants: Wants
    terms: list[str] = field(default_factory=list)
    injected: bool = False
    context: str = ""  # earlier user turns, for follow-ups
    context_terms: list[str] = field(default_factory=list)  # words of the earlier question, for follow-ups
    focus: list[str] = field(default_factory=list)  # stems a quantity must stand next to ("how many X")
    wh: str = ""  # "who", "which", "how many", ... ("" for yes/no questions and requests)
    focus_noun: str = ""  # "company" in "which company ..."
    concept: str = ""  # the focus noun past a kind word: "index" in "which kind of index" (rag.focus)
    types: frozenset[str] = frozenset()  # OntoNotes labels the short answer may carry; empty = untyped
    plural: bool = False  # "which forces ...": several answers
    role: str = (
        ""  # "minister" in "who is the power minister", "capacity" in "what capacity": the answer stands next to it
    )
    parts: list[Query] = field(default_factory=list)  # one Query per part of a multi-part question
    shape: str = ""  # "age", "clock", "amount", "duration": the form a value must have (rag.shapes)
    verb: str = ""  # "drive" in "who drove the truck": an answering sentence holds that verb
    verb_form: str = ""  # "drove", as written in the question
    speaker: list[str] = field(default_factory=list)  # terms of X in "what did X say": a quote of X answers
    yes_no: bool = False  # "can i ...", "is md5 still ok": the answer says no, or on which condition
    subject: list[str] = field(default_factory=list)  # terms of its names and compound nouns ("panda bonds")
    asks_code: bool = (
        False  # "how do i ...", "which option ...": a command, option or setting answers (rag.code_tokens)
    )
    compare: bool = False  # "numbers seem to differ", "what did each say": every article's answer is shown
    versions: list[str] = field(default_factory=list)  # "2.11.2" in "what changed in 2.11.2?" (rag.versions)


def analyse(question: str, history: list[Turn] | None = None) -> Query:
    asked, injected = user_turns(question)
    kept = []
    for lo, hi in split_sentences(asked):
        sentence = asked[lo:hi]
        if looks_like_instruction(sentence):
            injected = True
            continue
        kept.append(sentence)
    text = " ".join(kept).strip()
    context = _follow_up_context(text, history or [])
    query = _analyse_text(text, context)
    query.original, query.injected = question, injected
    return query


def user_turns(question: str) -> tuple[str, bool]:
    """The user's own words of a question that fakes a chat ("</docs> Assistant: Sure! ... User: what ...").

    Text after an assistant/system role marker is a made-up turn and is dropped but for its questions (the
    question counts as injected); text after a user marker is what was asked. Markup before the first marker is dropped too.
    """
    marks = list(ROLE_TURN.finditer(question))
    if not marks:
        return question, False
    parts = [MARKUP.sub(" ", question[: marks[0].start()]).strip()]
    ends = [m.start() for m in marks[1:]] + [len(question)]
    faked = False
    for mark, end in zip(marks, ends):
        turn = question[mark.end() : end].strip()
        if mark.group(1).lower() in USER_ROLES:
            parts.append(turn)
        else:
            # a made-up reply states things; a question inside it is still the user's to ask
            faked = True
            parts += [turn[lo:hi] for lo, hi in split_sentences(turn) if turn[lo:hi].rstrip().endswith("?")]
    return " ".join(p for p in parts if p), faked


def _analyse_text(text: str, context: str = "") -> Query:
    doc = nlp.parse(_spelled_out(text)) if text else None
    versions = dotted_numbers(text)
    terms = content_terms(text) + [v for v in versions if v not in content_terms(text)]
    query = Query(
        original=text,
        text=text,
        wants=Wants.any,
        terms=terms,
        context=context,
        context_terms=[t for t in content_terms(context) if t not in terms],
        versions=versions,
    )
    if doc is None:
        return query
    _type_query(query, doc)
    query.subject = _subject(doc, query.focus_noun)
    query.compare = any(_says_compare(t) for t in doc)
    pieces = _parts(doc)
    if len(pieces) > 1:
        query.parts = [_analyse_text(piece, f"{context} {text}".strip()) for piece in pieces]
    return query


def _subject(doc: Any, focus_noun: str) -> list[str]:
    """What the question is specifically about: its proper nouns and the nouns of its compounds
    ("the port qasim plant", "panda bonds", "git rerere"), not the kind of answer asked for."""
    asked = set(content_terms(focus_noun))
    out: list[str] = []
    for tok in doc:
        compound = tok.dep_ == "compound" or any(c.dep_ == "compound" for c in tok.children)
        if tok.pos_ == "PROPN" or (tok.pos_ == "NOUN" and compound):
            out += [t for t in content_terms(tok.text) if t not in asked and t not in out]
    return _hyphen_joined(out, doc.text)


def _says_compare(token: Any) -> bool:
    lemma = token.lemma_.lower()
    return lemma in COMPARE_LEMMAS or token.lower_ in CONTRASTS or (lemma in COMPARE_VERBS and token.pos_ == "VERB")


def _hyphen_joined(subject: list[str], text: str) -> list[str]:
    """The parser splits "counter-terror" into tokens, but content_terms (what sentences are matched
    with) keeps it one term: a subject made of its pieces would never be found in a sentence."""
    for term in content_terms(text):
        pieces = {p for piece in term.split("-") for p in [piece, *content_terms(piece)]} if "-" in term else set()
        if pieces & set(subject):
            subject = [t for t in subject if t not in pieces] + ([term] if term not in subject else [])
    return subject


def _spelled_out(text: str) -> str:
    """The question as the parser reads it best: chat spellings written out (same length not needed)."""
    return CHAT_WORD.sub(lambda m: CHAT_SPELLINGS[m.group(1).lower()], text)


def _type_query(query: Query, doc: Any) -> None:
    wh_token = next((t for t in doc if t.tag_ in WH_TAGS), None)
    if wh_token is not None and _condition_of_yes_no(wh_token, doc):
        wh_token = None  # "does X throw *when* the value is null": asks whether, not when
    if wh_token is None:
        first = next((t for t in doc if not t.is_punct), None)
        query.yes_no = first is not None and (first.pos_ == "AUX" or first.tag_ == "MD")
        return
    wh, focus = _wh_and_focus(wh_token)
    query.wh = wh
    query.focus_noun = focus.lower_ if focus is not None else ""
    query.concept = _kind_of(focus).lower_ if focus is not None else ""
    query.plural = wh in ("which", "what", "name of") and focus is not None and focus.tag_ in ("NNS", "NNPS")
    # "billions", "thousands": a number word as the unit ("seconds" is a span of time, not the ordinal)
    magnitude = focus is not None and not _focus_types(focus.lower_) and doc.vocab[focus.lemma_.lower()].like_num
    query.types = _types(wh, query.focus_noun, magnitude)
    if query.types == {"PERSON"} and query.focus_noun not in GENERIC_PERSON:
        query.role = query.focus_noun
    if query.types <= NUMERIC and query.types and not wh.startswith("how") and query.focus_noun:
        query.role = query.focus_noun  # "what capacity": the figure stands next to what it measures
    query.wants = _wants(wh, query.types)
    if wh == "how many" and focus is not None and not magnitude:  # "how many billions" names a unit, not a thing
        query.focus = content_terms(focus.text)
    query.shape = _shape(wh, query.focus_noun, query.types)
    if query.shape == "clock" and focus is not None and "day" in {t.lower_ for t in focus.subtree}:
        query.shape = "daytime"  # "what time of day": a part of the day ("Sunday night") answers too
    query.asks_code = _asks_code(wh, query.focus_noun, query.types, wh_token)
    _asked_verb(query, wh_token)


def _condition_of_yes_no(wh_token: Any, doc: Any) -> bool:
    """ "when" opens a condition of a yes/no question ("is it deleted when the program exits?"): an
    adverbial clause of the verb the opening auxiliary asks about. ("are they locked down where they
    stay?" keeps its place: the answer says where.)"""
    first = next((t for t in doc if not t.is_punct), None)
    if (
        wh_token.lower_ != "when"
        or first is None
        or first.i >= wh_token.i
        or not (first.pos_ == "AUX" or first.tag_ == "MD")
    ):
        return False
    clause = wh_token.head
    return wh_token.dep_ == "advmod" and clause.dep_ == "advcl" and clause.head.lemma_.lower() not in KNOWING_VERBS


def _asks_code(wh: str, focus: str, types: frozenset[str], wh_token: Any) -> bool:
    """A question a command, option, setting or keyword answers: "how do i ...", "which option ...",
    "what do i use to ..."."""
    if types:
        return False
    if wh == "how":
        return True
    if wh in ("what", "which") and focus in CODE_KINDS:
        return True
    return wh == "what" and wh_token.head.lemma_.lower() in USE_VERBS


def _shape(wh: str, focus: str, types: frozenset[str]) -> str:
    """The form the asked-for value takes beyond its entity type (checked by rag.shapes)."""
    if wh == "how old":
        return "age"
    if wh in ("what", "which") and focus in ("time", "hour"):
        return "clock"
    if wh == "how much" and types == WH_TYPES["how much"]:
        return "amount"
    if wh == "how long" or (wh == "how many" and types and types <= TEMPORAL):
        return "duration"  # "how many days after ...": a span of time too
    return ""


def _asked_verb(query: Query, wh_token: Any) -> None:
    """ "who drove the truck": the verb; "what did the minister say": the speaker."""
    head = wh_token.head
    if head.pos_ != "VERB" or head.i == wh_token.i:
        return
    if query.wh in ("who", "whom") and wh_token.dep_ in ("nsubj", "nsubjpass", "dobj"):
        verb = head
        if head.lemma_ in SPEECH_VERBS:  # "who did the group say carried out ...": the reported verb
            verb = next((c for c in head.children if c.dep_ in ("ccomp", "xcomp") and c.pos_ == "VERB"), head)
        if verb.lemma_.lower() not in LIGHT_VERBS:
            query.verb, query.verb_form = verb.lemma_.lower(), verb.lower_
    elif query.wh == "what" and wh_token.dep_ == "dobj" and head.lemma_ in SPEECH_VERBS:
        subject = next((c for c in head.children if c.dep_ in ("nsubj", "nsubjpass")), None)
        if subject is not None:
            query.speaker = content_terms(" ".join(t.text for t in subject.subtree))


def _wh_and_focus(token: Any) -> tuple[str, Any]:
    """("how many", engineers) for "how many engineers died", ("which", company) for "which company"."""
    word = token.lower_
    if word == "how":
        nxt = token.nbor(1) if token.i + 1 < len(token.doc) else None
        if nxt is not None and nxt.tag_ in ("JJ", "RB", "JJR"):
            phrase = f"how {nxt.lower_}"
            focus = nxt.head if nxt.dep_ == "amod" and nxt.head.pos_ in ("NOUN", "PROPN") else None
            if phrase not in WH_TYPES and nxt.lower_ in MEASURE_ADJECTIVES:
                return "how big", focus
            return phrase, focus
        return "how", None
    if token.dep_ == "det" and token.head.pos_ == "NOUN":  # "which company", "what year"
        return word, token.head
    if word in ("which", "what") and token.i + 1 < len(token.doc) and token.nbor(1).pos_ == "NOUN":
        j = token.i + 1  # a misparse of "in which city is ...": the noun run right after the wh-word
        while j + 1 < len(token.doc) and token.doc[j + 1].pos_ == "NOUN":
            j += 1
        return word, token.doc[j]
    if word in ("which", "what") and _misparsed_compound(token):
        return word, token.nbor(2)  # "which merge strategy ...", with "merge" read as a verb
    if word == "which" and _noun_run_end(token) is not None:
        return word, _noun_run_end(token)  # "which tcp port does ...", with "tcp" read as a proper noun
    if word in ("who", "what") and token.dep_ in ("attr", "nsubj") and token.head.lower_ in COPULAS:
        # "Who is the power minister?", "What is the name of the group?": the noun the copula links
        head = token.head
        for child in head.children:
            if child.dep_ in ("nsubj", "attr") and child.i != token.i and child.pos_ == "NOUN":
                if child.lower_ in ("name", "names"):  # "the name of the driver": the driver is asked for
                    inner = [c for p in child.children if p.dep_ == "prep" for c in p.children if c.dep_ == "pobj"]
                    return "name of", inner[0] if inner else child
                return word, child
    return word, None


def _noun_run_end(token: Any) -> Any:
    """The common noun ending a run of modifiers right after the wh-word ("which *tcp port*"), or None."""
    doc, j, last = token.doc, token.i + 1, None
    while j < len(doc) and doc[j].pos_ in ("PROPN", "ADJ", "NOUN") and j - token.i <= 3:
        last = doc[j] if doc[j].pos_ == "NOUN" else last
        j += 1
    verb_next = j == len(doc) or doc[j].pos_ in ("AUX", "VERB", "ADP", "PART")  # "... port *does* the daemon"
    return last if last is not None and last.i == j - 1 and verb_next else None


def _kind_of(focus: Any) -> Any:
    """ "which *kind* of index": the noun after a word naming no kind of thing."""
    if focus.lower_ not in KIND_WORDS:
        return focus
    inner = [c for p in focus.children if p.lower_ == "of" for c in p.children if c.dep_ == "pobj"]
    return inner[0] if inner and inner[0].pos_ in ("NOUN", "PROPN") else focus


def _misparsed_compound(token: Any) -> bool:
    """ "which merge strategy": a base-form word the tagger took for a verb, then the noun it modifies."""
    if token.i + 2 >= len(token.doc):
        return False
    first, second = token.nbor(1), token.nbor(2)
    return (
        first.tag_ in ("VB", "VBP", "JJ", "NN")
        and first.pos_ != "AUX"
        and second.pos_ == "NOUN"
        and second.tag_ == "NN"
    )


def _types(wh: str, focus: str, magnitude: bool = False) -> frozenset[str]:
    kind = _focus_types(focus)
    if wh == "name of":  # the name of a known kind ("of the group"), or of a person by role ("of the driver")
        return kind or (frozenset({"PERSON"}) if focus.rstrip("s").endswith(AGENT_SUFFIXES) else frozenset())
    if wh in ("how many", "how much"):  # the count is asked for; only a span of time changes its type
        if magnitude:
            return NUMERIC  # "how many billions": an amount in any unit, money too
        return kind if kind and kind <= TEMPORAL else WH_TYPES[wh]
    if kind:
        return kind
    if wh == "how big":  # a measurement carries its unit: "100 kg", "$65 billion", not a bare count
        return frozenset({"QUANTITY", "MONEY"})
    return WH_TYPES.get(wh, frozenset())  # "which"/"what" + an unknown noun: untyped, the noun still guides


def _focus_types(focus: str) -> frozenset[str]:
    for form in (focus, focus[:-1] if focus.endswith("s") else "", focus[:-3] + "y" if focus.endswith("ies") else ""):
        if form in FOCUS_TYPES:
            return FOCUS_TYPES[form]
    return frozenset()


def _wants(wh: str, types: frozenset[str]) -> Wants:
    if wh == "name of" and types:
        wh = "which"
    if wh.startswith("how ") and types & NUMERIC:
        return Wants.number
    if types and types <= NUMERIC:
        return Wants.number
    if types and types <= TEMPORAL | {"QUANTITY"}:
        return Wants.date
    if types and types <= PLACES | {"ORG"} and types & PLACES:
        return Wants.place
    if types and types <= AGENTS | PLACES | {"ORG"}:
        return Wants.entity
    return Wants.any


def _asks_yes_no(token: Any) -> bool:
    """ "..., and does it free the space?": an auxiliary opening a clause, its subject right after."""
    nxt = token.nbor(1) if token.i + 1 < len(token.doc) else None
    return token.pos_ == "AUX" and nxt is not None and nxt.pos_ in ("PRON", "NOUN", "PROPN", "DET")


def _parts(doc: Any) -> list[str]:
    """The clauses of a multi-part question: split before a later wh-word (or an auxiliary opening a
    yes/no clause: "and does it ...") joined by "and", a comma or a question mark."""
    cuts = []
    first_wh = next((t.i for t in doc if t.tag_ in WH_TAGS), len(doc))
    for token in doc:
        if token.lower_ in CONTRASTS and 0 < token.i < len(doc) - 1:
            cuts.append((token.idx, doc[token.i + 1].idx))
            continue
        if token.i < 2 or not (token.i > first_wh and token.tag_ in WH_TAGS or _asks_yes_no(token)):
            continue
        prev = doc[token.i - 1]
        if prev.lower_ in ("and", "also", ",", ";", "but", "?") or prev.tag_ == "CC":
            j = token.i - 1
            while j > 0 and (doc[j].is_punct or doc[j].tag_ == "CC" or doc[j].lower_ == "also"):
                j -= 1
            cuts.append((doc[j].idx + len(doc[j].text), token.idx))
    if not cuts:
        return []
    pieces, start = [], 0
    for end, nxt in cuts:
        pieces.append(doc.text[start:end])
        start = nxt
    pieces.append(doc.text[start:])
    return [p.strip(" ,;") for p in pieces if content_terms(p)]


def wants_of(text: str) -> Wants:
    return _analyse_text(text).wants


def _follow_up_context(text: str, history: list[Turn]) -> str:
    """For a short or pronoun-led question in a conversation, the previous user question gives the topic."""
    previous = [t.content for t in history if t.role == "user"]
    if not previous:
        return ""
    if (
        len(content_terms(text)) <= 4
        or FOLLOW_UP.search(text)
        or text.lower().startswith(("and ", "what about", "also"))
    ):
        return previous[-1]
    return ""
