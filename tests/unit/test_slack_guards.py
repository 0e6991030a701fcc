from __future__ import annotations

from bot.guards import TTLSet
from bot.slack import clean_question, thread_turns
from rag.access import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_ttl_set_dedupes_until_expiry():
    clock = Clock()
    seen = TTLSet(ttl_s=10, clock=clock)
    assert seen.add("Ev1") is True
    assert seen.add("Ev1") is False
    clock.now += 11
    assert "Ev1" not in seen
    assert seen.add("Ev1") is True


def test_ttl_set_bounded():
    seen = TTLSet(ttl_s=100, max_items=3)
    for i in range(5):
        seen.add(str(i))
    assert len(seen) == 3 and "0" not in seen and "4" in seen


def test_rate_limiter_window():
    clock = Clock()
    limiter = RateLimiter(2, clock=clock)
    assert limiter.allow("U1")[0] and limiter.allow("U1")[0]
    allowed, wait = limiter.allow("U1")
    assert not allowed and 0 < wait <= 60
    assert limiter.allow("U2")[0]
    clock.now += 61
    assert limiter.allow("U1")[0]
    assert RateLimiter(0).allow("U1") == (True, 0.0)


def test_clean_question():
    text = "<@UBOT> who is &lt;X&gt; &amp; <@U2|bob>? see <https://a.b/c|this> <!here>"
    assert clean_question(text, "UBOT") == "who is <X> & @U2? see this @here"


def test_thread_turns_roles_and_order():
    msgs = [
        {"ts": "1.000001", "user": "U1", "text": "<@UBOT> How many were killed?"},
        {"ts": "1.000002", "user": "UBOT", "bot_id": "BB", "text": "Two [1]."},
        {"ts": "1.000003", "user": "UBOT", "bot_id": "BB", "text": ":warning: failed (request id `x`)"},
        {"ts": "1.000004", "bot_id": "BOTHER", "text": "other bot"},
        {"ts": "1.000005", "user": "U2", "text": "and who claimed it?"},
    ]
    turns = thread_turns(msgs, "1.000005", "UBOT", "BB")
    assert [(t.role, t.content) for t in turns] == [("user", "How many were killed?"), ("assistant", "Two [1].")]
