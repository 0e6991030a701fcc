"""What a new user's folder holds (found by dogfooding): stubs, rich HTML, odd names and suffixes."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.discovery import discover
from ingest.loaders import LoadError, load_file

RICH = """<html><head><title>Rich structure</title></head><body><main>
<h1>Rich structure</h1>
<p>This page has a table, a code block and a definition list, and every one of them must survive ingest.</p>
<h2>Ports</h2>
<table><tr><th>Service</th><th>Port</th></tr><tr><td>web</td><td>8080</td></tr><tr><td>metrics</td><td>9102</td></tr></table>
<h2>Install</h2>
<p>Run the installer with the prefix option to choose the folder:</p>
<pre><code>./configure --prefix=/opt/tool
make install</code></pre>
<h2>Terms</h2>
<dl><dt>Replica</dt><dd>A copy of the service that answers requests on its own.</dd></dl>
</main></body></html>"""


def test_tables_code_and_definition_lists_are_kept_and_headings_become_sections(tmp_path: Path) -> None:
    path = tmp_path / "rich.html"
    path.write_text(RICH, encoding="utf-8")
    doc = load_file(path, tmp_path)
    assert doc.title == "Rich structure"
    assert "Service web — Port: 8080." in doc.text and "Service metrics — Port: 9102." in doc.text
    assert "./configure --prefix=/opt/tool\nmake install" in doc.text  # verbatim, lines kept
    assert "Replica" in doc.text and "A copy of the service that answers requests on its own." in doc.text
    assert doc.section_at(doc.text.index("make install")) == "Rich structure > Install"
    assert doc.section_at(doc.text.index("Service web — Port")) == "Rich structure > Ports"
    assert len(doc.code_spans) == 1  # the code block is never split into sentences; the table's rows are


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        (
            '<html><head><title>Frames</title></head><frameset cols="20%,80%">'
            '<frame src="toc.html"><frame src="main.html"></frameset></html>',
            "frameset: its text is in the frame pages (toc.html, main.html)",
        ),
        (
            '<html><head><meta http-equiv="Refresh" content="0; url=new.html"><title>Moved</title></head>'
            '<body><p>This page has moved to <a href="new.html">new.html</a>.</p></body></html>',
            "redirect page to new.html",
        ),
    ],
)
def test_frameset_and_redirect_stubs_are_refused_with_where_the_text_is(tmp_path: Path, html: str, reason: str) -> None:
    path = tmp_path / "stub.html"
    path.write_text(html, encoding="utf-8")
    with pytest.raises(LoadError, match="stub.html") as caught:
        load_file(path, tmp_path)
    assert reason in str(caught.value)


def test_a_page_with_a_refresh_tag_and_real_text_is_kept(tmp_path: Path) -> None:
    words = " ".join(["The status page refreshes itself every minute and lists the running jobs."] * 8)
    html = f'<html><head><meta http-equiv="refresh" content="60; url=status.html"></head><body><p>{words}</p></body></html>'
    path = tmp_path / "status.html"
    path.write_text(html, encoding="utf-8")
    assert "lists the running jobs" in load_file(path, tmp_path).text


def test_names_with_spaces_and_unicode_and_every_supported_suffix(tmp_path: Path) -> None:
    files = {
        "meeting notes 2024.txt": "Notes with spaces\n\nThe quarterly meeting moved to Thursday.\n",
        "résumé_zürich.text": "Résumé of the Zürich trip\n\nWe visited the lake and the old town.\n",
        "cache.markdown": "# Cache settings\n\nThe cache expires after ten minutes.\n",
        "office.htm": "<html><body><h1>Office hours</h1><p>The office closes at six on Fridays, and the doors "
        "lock automatically afterwards, so visitors must leave before then.</p></body></html>",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "guide.adoc").write_text("= Guide\n\nText.\n", encoding="utf-8")
    found = discover([tmp_path])
    assert sorted(c.source for c in found.candidates) == sorted(files)
    assert [(name, reason.split(";")[0]) for name, reason in found.skipped] == [
        ("guide.adoc", "unsupported type .adoc")
    ]
    titles = {c.source: load_file(c.path, c.root, key=c.key, source=c.source).title for c in found.candidates}
    assert titles == {
        "meeting notes 2024.txt": "Notes with spaces",
        "résumé_zürich.text": "Résumé of the Zürich trip",
        "cache.markdown": "Cache settings",
        "office.htm": "Office hours",
    }


RST = """Deployment guide
================

The service is deployed with **two** replicas behind a load balancer.

Rolling updates
---------------

Each replica is drained before it is restarted, so no request is lost.

.. code-block:: bash

   kubectl rollout restart deployment/api

.. note::
   Use :func:`os.path.join` to build paths, see :ref:`the monitoring page <monitoring>`.

.. toctree::

   intro

.. include:: /etc/passwd
"""


def test_restructuredtext_keeps_sections_code_and_notes_and_reads_no_other_file(tmp_path: Path) -> None:
    path = tmp_path / "guide.rst"
    path.write_text(RST, encoding="utf-8")
    doc = load_file(path, tmp_path)
    assert doc.title == "Deployment guide"
    assert "deployed with two replicas" in doc.text  # inline markup dropped
    assert "```\nkubectl rollout restart deployment/api\n```" in doc.text
    assert doc.section_at(doc.text.index("kubectl")) == "Deployment guide > Rolling updates"
    assert "Note: Use os.path.join to build paths, see the monitoring page." in doc.text  # Sphinx roles -> text
    assert "root:" not in doc.text and "toctree" not in doc.text and "intro" not in doc.text


def test_restructuredtext_without_a_document_title_takes_its_first_heading(tmp_path: Path) -> None:
    path = tmp_path / "faq.rst"
    path.write_text("Question one\n------------\n\nAnswer one is short.\n\nQuestion two\n------------\n\nAnswer two.\n")
    doc = load_file(path, tmp_path)
    assert doc.title == "Question one" and "<string>" not in doc.text
    assert "Answer two." in doc.text


def test_a_symlink_loop_is_reported_as_a_loop_whatever_its_name(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    (tmp_path / "c.txt").symlink_to(tmp_path / "a")
    found = discover([tmp_path])
    assert found.candidates == []
    assert sorted(found.skipped) == [(name, "symlink loop: not followed") for name in ("a", "b", "c.txt")]


def test_a_raised_number_after_a_digit_is_a_power_and_after_a_word_a_footnote(tmp_path: Path) -> None:
    path = tmp_path / "limits.html"
    path.write_text(
        "<html><body><main><h1>Limits</h1><p>A string holds up to 2<small><sup>31</sup></small>-1 bytes, "
        "a page 10<sup>6</sup> rows, as the design notes say<sup>3</sup>.</p></main></body></html>",
        encoding="utf-8",
    )
    text = load_file(path, tmp_path).text
    assert "up to 2^31-1 bytes" in text and "10^6 rows" in text
    assert "notes say3." in text and "say^3" not in text
