"""`citebot eval --report x.html` opened in a real headless Chromium (issue 14).

The real CLI runs in a subprocess over a copy of the seeded index, on a small question file (one
question it answers, one whose gold fact it cannot hold, so that it fails with an answer and cited
quotes, and one it should refuse), and writes one self-contained HTML page. The browser opens it from
file:// and the test reads what a person sees: the headings, the metrics table, the chart, the failing
question with its answer and quotes. Every request the page makes is recorded: it loads nothing but
itself (no CDN, no fonts, nothing from the network), and shows no console error.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from rag.settings import settings_env
from tests.browser.test_web_page import css, squash
from tests.support.browser import console_errors
from tests.support.http import derive
from tests.support.servers import VENV_BIN

# Sources are the seed files' names; `fails-on-purpose` asks an answerable question with a gold fact
# that is in no article, so the engine's answer (with its citations) is listed as failing.
QUESTIONS = """\
version: 1
questions:
  - id: passes-minister
    type: single_fact
    question: "Who is China's minister of state security?"
    key_facts: [["Chen Yixin"]]
    sources: ["002_2a622b6cc212d4b9.txt"]
  - id: fails-on-purpose
    type: single_fact
    question: "How many Chinese engineers were killed in the Karachi airport bombing?"
    answer: "A gold fact that no article holds, so that this question fails."
    key_facts: [["seventeen thousand"]]
    sources: ["000_df87d34ee5b10a65.txt", "001_7d622b931650d239.txt", "002_2a622b6cc212d4b9.txt",
              "003_448ca12a3f98553f.txt", "004_c94a7dcda8e47815.txt"]
  - id: refuses-recipe
    type: unanswerable
    question: "What is the recipe for banana bread with walnuts?"
    key_facts: []
"""
FAILING_ID = "fails-on-purpose"


@pytest.fixture(scope="module")
def written_report(seeded_settings, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """Run `citebot eval --questions Q --json --report R.html` as a user would; return (R, the JSON)."""
    work = tmp_path_factory.mktemp("eval-report")
    data = work / "data"
    shutil.copytree(seeded_settings.data_dir, data)
    (work / "questions.yaml").write_text(QUESTIONS, encoding="utf-8")
    report = work / "out" / "eval.html"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CITEBOT_", "OPENAI_", "SLACK_"))}
    env.update(settings_env(derive(seeded_settings, data_dir=data)))
    done = subprocess.run(
        [str(VENV_BIN / "citebot"), "eval", "--questions", "questions.yaml", "--json", "--report", str(report)],
        cwd=work,  # no .env and no tests/eval/ here
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return report, json.loads(done.stdout)


def test_the_eval_report_renders_as_html_with_its_failing_question(browser, written_report, artifacts):
    report, out = written_report
    results = {r["id"]: r for r in out["results"]}
    failing = results[FAILING_ID]
    assert failing["correct"] is False and not failing["abstained"] and failing["citations"], failing
    assert results["passes-minister"]["correct"] is True  # so exactly one question is listed as failing

    url = report.resolve().as_uri()
    browser.get(url)

    assert browser.title == "citebot evaluation"
    assert [h.text for h in css(browser, "h1")] == ["citebot evaluation"]
    suite_headings = [h.text for h in css(browser, "h2")]
    assert len(suite_headings) == 1 and suite_headings[0]  # one suite: the question file
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "<table" not in body and "| overall |" not in body and "\\[" not in body  # rendered, not source

    table = css(browser, "table")[0]
    headers = [th.text for th in table.find_elements(By.CSS_SELECTOR, "thead th")]
    assert headers[0] == "type" and len(headers) > 3
    rows = {tr.find_elements(By.TAG_NAME, "td")[0].text for tr in table.find_elements(By.CSS_SELECTOR, "tbody tr")}
    assert {"overall", "single_fact", "unanswerable"} <= rows

    chart = browser.find_element(By.CSS_SELECTOR, ".chart svg")
    assert chart.is_displayed() and chart.size["width"] >= 500 and chart.size["height"] > 100
    bars = chart.find_elements(By.TAG_NAME, "rect")
    assert any(float(b.get_attribute("height")) > 0 for b in bars)  # bars drawn, not only the legend
    assert "single_fact" in chart.text and "unanswerable" in chart.text

    assert "Failing questions (1)" in [h.text for h in css(browser, "h3")]
    (entry,) = [h for h in css(browser, "h4") if FAILING_ID in h.text]
    details = entry.find_element(By.XPATH, "following-sibling::ul[1]")
    shown = squash(details.text)
    assert squash(f"Question: {failing['question']}") in shown
    assert squash(f"Expected: {failing['expected']}") in shown
    assert squash(failing["answer"])[:120] in shown
    quotes = details.find_elements(By.XPATH, ".//li[starts-with(normalize-space(.), 'Cited quotes')]//li")
    assert len(quotes) == len(failing["citations"])
    for item, citation in zip(quotes, failing["citations"], strict=True):
        assert item.text.startswith(f"[{citation['n']}] {citation['source']}")
        assert squash(citation["quote"])[:80] in squash(item.text)

    browser.set_window_size(1360, 1600)
    browser.execute_script("window.scrollTo(0, 0)")
    browser.save_screenshot(str(artifacts / "eval-report.png"))

    # Browser-internal loads (chrome://, data:) are not requests of the page; everything else is
    # either the report file itself or would have to be 127.0.0.1.
    sources = browser.requests.hosts()
    assert url in sources, sources  # the log does see the page's own load
    assert sources <= {url, "127.0.0.1"}, f"the report loaded something besides itself: {sources - {url}}"
    assert console_errors(browser) == []
