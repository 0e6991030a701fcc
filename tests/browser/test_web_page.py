"""The chat page and the API docs in a real headless Chromium, against a real `citebot serve`.

A person's path: the page lists the documents, a question typed and sent with Enter is answered over
the SSE stream, a citation opened with the keyboard shows the stored chunk with the quote highlighted,
a follow-up sends the conversation, an unanswerable question shows the "not found" state, a vote lands
in the feedback store, a service with keys asks for the key once. Every request the browser makes is
recorded: none leaves 127.0.0.1.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from rag.feedback import FeedbackStore
from rag.settings import Settings
from tests.support.browser import console_errors
from tests.support.http import ServeProcess, derive
from tests.support.openai_server import Error, OpenAIServer

QUESTION = "How many Chinese were killed in the Karachi airport bombing?"
FOLLOW_UP = "Who claimed responsibility for it?"
UNANSWERABLE = "What is the recipe for banana bread with walnuts?"
WAIT_S = 90


def squash(text: str) -> str:
    return " ".join(text.split())


def wait(browser, condition, timeout: float = WAIT_S):
    return WebDriverWait(browser, timeout, poll_frequency=0.1).until(condition)


def css(browser, selector: str):
    return browser.find_elements(By.CSS_SELECTOR, selector)


def open_page(browser, base_url: str) -> None:
    browser.get(base_url + "/")
    wait(browser, lambda b: "documents," in b.find_element(By.ID, "documents-status").text)


def ask(browser, question: str):
    """Type the question, send it with Enter, return the finished answer element."""
    before = len(css(browser, ".message.assistant"))
    box = browser.find_element(By.ID, "question")
    box.send_keys(question)
    box.send_keys(Keys.ENTER)
    wait(browser, lambda b: len(css(b, ".message.assistant")) > before)
    reply = css(browser, ".message.assistant")[-1]
    wait(browser, lambda b: "streaming" not in reply.get_attribute("class"))
    assert "failed" not in reply.get_attribute("class"), reply.text
    return reply


def assert_only_local(browser) -> None:
    hosts = browser.requests.hosts()
    assert hosts == {"127.0.0.1"}, f"requests left 127.0.0.1: {hosts}"


def test_ask_read_the_cited_answer_and_open_its_quoted_passage(service, browser, engine, artifacts):
    open_page(browser, service.base_url)
    docs = httpx.get(service.base_url + "/documents").json()
    listed = css(browser, "#documents-list li")
    assert len(listed) == len(docs) and docs[0]["title"] in listed[0].text
    assert browser.switch_to.active_element == browser.find_element(By.ID, "question")  # ready to type

    reply = ask(browser, QUESTION)

    expected = httpx.post(service.base_url + "/ask", json={"question": QUESTION}, timeout=60).json()
    assert squash(reply.find_element(By.CSS_SELECTOR, "p.text").text) == squash(expected["answer"])
    meta = reply.find_element(By.CSS_SELECTOR, ".meta").text
    assert "support 100%" in meta and "mode extractive" in meta and "not degraded" in meta
    sent = browser.requests.to("/ask")
    assert len(sent) == 1 and sent[0]["headers"]["accept"] == "text/event-stream"
    assert json.loads(sent[0]["body"]) == {"question": QUESTION}
    listed_quotes = [squash(q.text.strip('“”"')) for q in reply.find_elements(By.CSS_SELECTOR, ".citations q")]
    assert listed_quotes == [squash(c["quote"]) for c in expected["citations"]]

    citation = expected["citations"][0]
    marker = reply.find_element(By.CSS_SELECTOR, f'button.cite[data-n="{citation["n"]}"]')
    assert marker.text == f"[{citation['n']}]" and citation["title"] in marker.get_attribute("aria-label")
    marker.send_keys(Keys.ENTER)  # keyboard, not a mouse click
    wait(browser, lambda b: "highlighted" in b.find_element(By.ID, "passage-status").text)

    stored = engine.store.chunks_by_id([citation["chunk_id"]])[0]
    shown = browser.find_element(By.ID, "passage-text").text
    assert squash(shown) == squash(stored.text)
    marks = css(browser, "#passage-text mark")
    assert len(marks) == 1 and squash(marks[0].text) == squash(citation["quote"])
    assert browser.find_element(By.ID, "passage-doc").text == citation["title"]
    assert browser.find_element(By.ID, "passage-source").text == citation["source"]
    assert browser.find_element(By.ID, "passage-section").text == (citation.get("section") or "—")
    browser.set_window_size(1360, 1200)
    browser.execute_script("window.scrollTo(0, 0)")
    browser.save_screenshot(str(artifacts / "answer-with-source.png"))

    browser.switch_to.active_element.send_keys(Keys.ESCAPE)
    wait(browser, lambda b: not b.find_element(By.ID, "passage").is_displayed())
    assert browser.switch_to.active_element == marker  # focus goes back to the citation
    assert_only_local(browser)
    assert console_errors(browser) == []


def test_a_follow_up_sends_the_conversation_as_history(service, browser):
    open_page(browser, service.base_url)
    first = ask(browser, QUESTION)
    first_text = first.find_element(By.CSS_SELECTOR, "p.text").text

    ask(browser, FOLLOW_UP)

    asks = browser.requests.to("/ask")
    assert len(asks) == 2
    body = json.loads(asks[1]["body"])
    assert body["question"] == FOLLOW_UP
    assert [t["role"] for t in body["history"]] == ["user", "assistant"]
    assert body["history"][0]["content"] == QUESTION
    assert squash(body["history"][1]["content"]) == squash(first_text)

    browser.find_element(By.ID, "new-conversation").click()  # a new conversation sends no history
    assert css(browser, ".turn") == []
    ask(browser, QUESTION)
    assert "history" not in json.loads(browser.requests.to("/ask")[2]["body"])
    assert_only_local(browser)


def test_an_unanswerable_question_shows_the_not_found_state(service, browser, artifacts):
    open_page(browser, service.base_url)

    reply = ask(browser, UNANSWERABLE)

    assert "abstained" in reply.get_attribute("class")
    assert "Not found in the documents" in reply.find_element(By.CSS_SELECTOR, ".abstained-title").text
    assert reply.find_elements(By.CSS_SELECTOR, ".citations") == []
    assert reply.find_elements(By.CSS_SELECTOR, "button.cite") == []
    assert "support 0%" in reply.find_element(By.CSS_SELECTOR, ".meta").text
    browser.save_screenshot(str(artifacts / "not-found.png"))
    assert_only_local(browser)


def test_a_thumbs_down_lands_in_the_feedback_store(service, browser, served_data):
    open_page(browser, service.base_url)
    reply = ask(browser, QUESTION)

    down = reply.find_element(By.CSS_SELECTOR, "button.vote.down")
    down.click()
    status = reply.find_element(By.CSS_SELECTOR, ".feedback [role=status]")
    wait(browser, lambda b: "Thanks" in status.text or "not saved" in status.text)
    assert status.text == "Thanks: marked as not helpful."
    assert down.get_attribute("aria-pressed") == "true"
    assert reply.find_element(By.CSS_SELECTOR, "button.vote.up").get_attribute("aria-pressed") == "false"

    store = FeedbackStore.for_settings(Settings(_env_file=None, data_dir=served_data))
    votes = [v for v in store.votes("down") if v.question == QUESTION and v.channel == "web"]
    assert len(votes) == 1
    assert squash(votes[0].answer) == squash(reply.find_element(By.CSS_SELECTOR, "p.text").text)
    assert votes[0].citations and votes[0].user.startswith("web:ip:127.0.0.1:")
    assert_only_local(browser)


def test_with_keys_the_page_asks_for_the_key_once(secured_service, browser):
    browser.get(secured_service.base_url + "/")
    dialog = browser.find_element(By.ID, "key-dialog")
    wait(browser, lambda b: dialog.is_displayed())
    key_box = browser.find_element(By.ID, "api-key")
    assert browser.switch_to.active_element == key_box

    key_box.send_keys("not-the-key", Keys.ENTER)
    wait(browser, lambda b: b.find_element(By.ID, "key-error").is_displayed())
    assert "refused" in browser.find_element(By.ID, "key-error").text
    browser.find_element(By.ID, "api-key").send_keys("browser-key-5e1d", Keys.ENTER)
    wait(browser, lambda b: "documents," in b.find_element(By.ID, "documents-status").text)
    assert not dialog.is_displayed()

    reply = ask(browser, QUESTION)
    assert reply.find_elements(By.CSS_SELECTOR, "button.cite")
    sent = browser.requests.to("/ask")[-1]
    assert sent["headers"]["authorization"] == "Bearer browser-key-5e1d"

    browser.refresh()  # kept for the browser session: not asked again
    wait(browser, lambda b: "documents," in b.find_element(By.ID, "documents-status").text)
    assert not browser.find_element(By.ID, "key-dialog").is_displayed()
    browser.get(secured_service.base_url + "/docs")  # the docs use the same key for /openapi.json
    wait(browser, lambda b: css(b, ".opblock"))
    assert_only_local(browser)


@pytest.mark.parametrize(
    ("path", "ready", "shot"),
    [("/docs", ".opblock-summary-path", "swagger-ui.png"), ("/redoc", "[role=navigation], .menu-content", "redoc.png")],
)
def test_the_api_docs_render_with_no_request_leaving_localhost(service, browser, artifacts, path, ready, shot):
    browser.get(service.base_url + path)

    wait(browser, lambda b: css(b, ready))

    text = browser.find_element(By.TAG_NAME, "body").text
    assert "/ask" in text and "Ask a question about the articles" in text
    browser.save_screenshot(str(artifacts / shot))
    assert_only_local(browser)
    assert console_errors(browser) == []


@pytest.fixture(scope="module")
def llm_service(seeded_settings, served_data, tmp_path_factory) -> Iterator[tuple[ServeProcess, OpenAIServer]]:
    """`citebot serve` with the openai generator, pointed at a local OpenAI-protocol server."""
    data = tmp_path_factory.mktemp("browser-llm") / "data"
    shutil.copytree(served_data, data)
    with OpenAIServer() as provider:
        settings = derive(
            seeded_settings,
            data_dir=data,
            rate_limit_per_minute=0,
            generator="openai",
            openai_base_url=provider.base_url,
            openai_api_key="sk-browser-test",
            openai_max_retries=0,
            openai_timeout_s=5,
        )
        with ServeProcess(settings, data.parent / "serve.log") as server:
            yield server, provider


def test_a_streamed_llm_answer_and_a_degraded_fallback_are_shown_plainly(llm_service, browser, artifacts):
    server, provider = llm_service
    open_page(browser, server.base_url)

    streamed = ask(browser, QUESTION)  # the local provider streams a cited answer in small chunks
    assert "mode openai" in streamed.find_element(By.CSS_SELECTOR, ".meta").text
    assert "not degraded" in streamed.find_element(By.CSS_SELECTOR, ".meta").text
    assert streamed.find_elements(By.CSS_SELECTOR, "button.cite")
    assert provider.chat_requests and provider.chat_requests[-1].body.get("stream") is True

    provider.script(Error(500, message="the model server broke"))
    degraded = ask(browser, QUESTION)

    meta = degraded.find_element(By.CSS_SELECTOR, ".meta").text
    assert "degraded: fallback answer" in meta and "mode extractive (fallback)" in meta
    assert degraded.find_element(By.CSS_SELECTOR, ".badge.warn").is_displayed()
    assert degraded.find_elements(By.CSS_SELECTOR, "button.cite")  # the fallback still cites
    browser.save_screenshot(str(artifacts / "degraded.png"))
    assert_only_local(browser)
