"""rag.web over real HTTP (uvicorn on 127.0.0.1, the session's real engine): the page and its assets,
the offline docs, the OpenAPI document (bearer scheme, error responses, key guard), /passages and
/feedback with the shared feedback store. The page itself is driven in a browser in tests/browser/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
import yaml

from rag.api import create_app
from rag.cli import main as cli_main
from rag.feedback import FeedbackStore
from rag.settings import Settings
from tests.support.http import UvicornThread, derive

QUESTION = "How many Chinese were killed in the Karachi airport bombing?"
KEY = "web-key-7f3a9c"
EXTERNAL_URL = re.compile(
    r"""(?:src|href)\s*=\s*["']?(?:https?:)?//|url\(\s*["']?(?:https?:)?//|fetch\(\s*["']https?:"""
)


@pytest.fixture(scope="module")
def web_settings(seeded_settings, tmp_path_factory) -> Settings:
    """The engine reads the seeded index; feedback goes to this module's own data dir."""
    return derive(seeded_settings, rate_limit_per_minute=0, data_dir=tmp_path_factory.mktemp("web-data"))


@pytest.fixture(scope="module")
def web(web_settings, engine) -> Iterator[httpx.Client]:
    server = UvicornThread(create_app(web_settings, engine=engine)).start()
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        yield client
    server.stop()


@pytest.fixture(scope="module")
def secured(seeded_settings, engine) -> Iterator[httpx.Client]:
    server = UvicornThread(create_app(derive(seeded_settings, api_keys=KEY, rate_limit_per_minute=0), engine=engine))
    server.start()
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        yield client
    server.stop()


def _answer(client: httpx.Client, question: str = QUESTION, **headers: str) -> dict:
    resp = client.post("/ask", json={"question": question}, headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


# -- the page and its assets ---------------------------------------------------------------------------
def test_root_serves_the_chat_page_with_a_strict_content_security_policy(web):
    resp = web.get("/")

    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    html = resp.text
    assert '<label for="question">' in html and 'id="ask-form"' in html and 'id="documents-list"' in html
    csp = resp.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in html  # no inline script: the CSP would block it
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
        got = web.get(asset)
        assert got.status_code == 200 and got.content, asset


@pytest.mark.parametrize("name", ["index.html", "app.js", "app.css", "docs.html", "redoc.html", "docs.js"])
def test_no_asset_of_ours_points_outside_the_service(web, name):
    text = web.get("/" if name == "index.html" else f"/static/{name}").text
    assert not EXTERNAL_URL.search(text), f"{name} loads something from another host"


def test_the_page_sets_untrusted_text_only_as_text(web):
    script = web.get("/static/app.js").text
    assert "innerHTML" not in script and "outerHTML" not in script and "insertAdjacentHTML" not in script
    assert "document.write" not in script and "eval(" not in script


def test_docs_and_redoc_are_served_from_the_package(web):
    for path, vendor in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
        page = web.get(path)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert f"/static/vendor/{vendor}" in page.text
        script = web.get(f"/static/vendor/{vendor}")
        assert script.status_code == 200 and len(script.content) > 500_000
    assert "cdn.redoc.ly" not in web.get("/static/vendor/redoc.standalone.js").text
    assert web.get("/static/vendor/swagger-ui.css").status_code == 200
    assert web.get("/static/../pyproject.toml").status_code == 404


# -- the OpenAPI document --------------------------------------------------------------------------------
def test_openapi_declares_the_bearer_scheme_on_the_guarded_routes(web):
    spec = web.get("/openapi.json").json()

    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert scheme == {"type": "http", "scheme": "bearer", "description": scheme["description"]}
    guarded = {
        ("post", "/ask"),
        ("get", "/documents"),
        ("delete", "/documents/{doc_id}"),
        ("get", "/passages/{chunk_id}"),
        ("post", "/feedback"),
    }
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if (method, path) in guarded:
                assert operation["security"] == [{"bearerAuth": []}], (method, path)
                assert "401" in operation["responses"]
            else:
                assert "security" not in operation, (method, path)
            assert "500" in operation["responses"], (method, path)
    ask = spec["paths"]["/ask"]["post"]["responses"]
    for status in ("401", "413", "415", "422", "429", "500", "503"):
        example = ask[status]["content"]["application/json"]["example"]
        assert example["error"] and example["message"], status
    assert {"/healthz", "/readyz", "/metrics"} <= spec["paths"].keys()
    assert "/" not in spec["paths"] and "/docs" not in spec["paths"]


def test_openapi_examples_come_from_the_data_file(web):
    import json
    from importlib import resources

    data = json.loads(resources.files("rag.resources").joinpath("openapi_examples.json").read_text())
    spec = web.get("/openapi.json").json()
    ask = spec["paths"]["/ask"]["post"]
    assert ask["requestBody"]["content"]["application/json"]["examples"] == data["ask_requests"]
    example = ask["responses"]["200"]["content"]["application/json"]["example"]
    assert example["answer"] == data["answer"]["answer"] and example["citations"] == data["answer"]["citations"]


def test_with_keys_the_openapi_document_needs_the_key_and_the_docs_page_asks_for_it(secured):
    refused = secured.get("/openapi.json")
    assert refused.status_code == 401 and refused.json()["error"] == "unauthorized"
    assert refused.headers["www-authenticate"] == "Bearer"
    wrong = secured.get("/openapi.json", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    ok = secured.get("/openapi.json", headers={"Authorization": f"Bearer {KEY}"})
    assert ok.status_code == 200 and ok.json()["paths"]["/ask"]
    # the HTML shells hold no API detail: they load, then fetch /openapi.json with the tab's key
    assert secured.get("/docs").status_code == 200 and secured.get("/").status_code == 200
    assert "KEY" not in secured.get("/docs").text and KEY not in secured.get("/static/docs.js").text
    assert secured.get("/passages/any").status_code == 401
    assert secured.post("/feedback", json={}).status_code == 401


# -- /passages -----------------------------------------------------------------------------------------
def test_a_citation_chunk_id_gives_the_stored_text_that_holds_the_quote(web, engine):
    answer = _answer(web)
    citation = answer["citations"][0]

    resp = web.get(f"/passages/{citation['chunk_id']}")

    assert resp.status_code == 200, resp.text
    passage = resp.json()
    stored = engine.store.chunks_by_id([citation["chunk_id"]])[0]
    assert passage["text"] == stored.text and passage["chunk_id"] == citation["chunk_id"]
    assert passage["title"] == citation["title"] and passage["source"] == citation["source"]
    assert " ".join(citation["quote"].split()) in " ".join(passage["text"].split())


def test_an_unknown_passage_is_a_json_404(web):
    resp = web.get("/passages/no-such-chunk:0001")
    assert resp.status_code == 404
    body = resp.json()
    assert body["error"] == "not_found" and "re-ingested" in body["message"]
    assert body["request_id"] == resp.headers["x-request-id"]


# -- /feedback ----------------------------------------------------------------------------------------
def test_a_web_vote_is_stored_with_the_slack_votes_and_exported(web, web_settings, monkeypatch, tmp_path):
    answer = _answer(web)
    body = {"question": QUESTION, "answer": answer, "vote": "up", "client_id": "tab-0123456789"}

    first = web.post("/feedback", json=body)
    assert first.status_code == 200, first.text
    assert first.json() == {"answer_id": f"web-{answer['request_id']}", "vote": "up"}
    changed = web.post("/feedback", json={**body, "vote": "down"})  # the same tab changes its mind
    assert changed.status_code == 200

    store = FeedbackStore.for_settings(web_settings)
    votes = [v for v in store.votes() if v.answer_id == f"web-{answer['request_id']}"]
    assert len(votes) == 1 and votes[0].vote == "down" and votes[0].channel == "web"
    assert votes[0].question == QUESTION and votes[0].answer == answer["answer"]
    assert votes[0].citations[0]["quote"] == answer["citations"][0]["quote"]
    assert votes[0].user.startswith("web:ip:") and votes[0].user.endswith(":tab-0123456789")

    monkeypatch.setenv("CITEBOT_DATA_DIR", str(web_settings.data_dir))
    out = tmp_path / "cases.yaml"
    assert cli_main(["feedback", "export", "--to", str(out)]) == 0
    cases = yaml.safe_load(out.read_text())["questions"]
    assert any(c["question"] == QUESTION and c["feedback"]["channel"] == "web" for c in cases)


def test_a_vote_on_a_made_up_answer_is_refused(web, web_settings):
    answer = _answer(web)
    forged = {**answer, "citations": [{**answer["citations"][0], "quote": "Something no article says at all."}]}

    resp = web.post("/feedback", json={"question": QUESTION, "answer": forged, "vote": "down"})

    assert resp.status_code == 422 and resp.json()["error"] == "invalid_request"
    assert "does not quote a stored passage" in resp.json()["message"]
    store = FeedbackStore.for_settings(web_settings)
    assert not [v for v in store.votes() if v.answer_id == f"web-{answer['request_id']}"]


@pytest.mark.parametrize(
    "patch",
    [
        {"vote": "maybe"},
        {"client_id": "bad id with spaces"},
        {"question": ""},
        {"answer": {"answer": "x"}},
        {"extra": 1},
    ],
)
def test_bad_feedback_is_a_clear_422(web, patch):
    answer = _answer(web)
    body = {"question": QUESTION, "answer": answer, "vote": "up", **patch}
    resp = web.post("/feedback", json=body)
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"] == "invalid_request" and "Traceback" not in resp.text


def test_feedback_must_be_json(web):
    resp = web.post("/feedback", content=b"vote=up", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status_code == 415 and resp.json()["error"] == "unsupported_media_type"
