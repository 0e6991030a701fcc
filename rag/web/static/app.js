// citebot chat page: asks POST /ask (server-sent events), renders the cited answer, opens the quoted
// passages (GET /passages/{chunk_id}), sends 👍/👎 (POST /feedback) and lists GET /documents.
// Everything that comes from the service or the documents is set with textContent, never as HTML.
"use strict";

(function () {
  const KEY_NAME = "citebot.apiKey";
  const CLIENT_NAME = "citebot.clientId";
  const MAX_HISTORY_ITEMS = 12; // the last 6 turns: what the engine reads

  const $ = (id) => document.getElementById(id);
  const history = [];
  let busy = false;
  let lastCiteButton = null;

  // -- small DOM helpers ----------------------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "className") node.className = value;
      else if (name === "text") node.textContent = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function clientId() {
    let id = sessionStorage.getItem(CLIENT_NAME);
    if (!id) {
      const bytes = new Uint8Array(12);
      crypto.getRandomValues(bytes);
      id = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
      sessionStorage.setItem(CLIENT_NAME, id);
    }
    return id;
  }

  // -- the API key: asked once, kept in this tab's session storage ----------------------------------
  function authHeaders() {
    const key = sessionStorage.getItem(KEY_NAME);
    return key ? { Authorization: "Bearer " + key } : {};
  }

  let keyPromise = null;
  function askForKey(refused) {
    if (keyPromise) return keyPromise;
    const dialog = $("key-dialog");
    const input = $("api-key");
    const error = $("key-error");
    error.hidden = !refused;
    error.textContent = refused ? "That key was refused: check it and try again." : "";
    input.value = "";
    keyPromise = new Promise((resolve) => {
      $("key-form").onsubmit = (event) => {
        event.preventDefault();
        const key = input.value.trim();
        if (!key) return;
        sessionStorage.setItem(KEY_NAME, key);
        dialog.close();
        keyPromise = null;
        resolve(key);
      };
    });
    dialog.showModal();
    input.focus();
    return keyPromise;
  }

  // fetch with the key; on 401 ask for a key (again) and retry
  async function apiFetch(path, options) {
    for (let attempt = 0; attempt < 4; attempt++) {
      const opts = Object.assign({}, options || {});
      opts.headers = Object.assign({}, opts.headers || {}, authHeaders());
      const resp = await fetch(path, opts);
      if (resp.status !== 401) return resp;
      const hadKey = Boolean(sessionStorage.getItem(KEY_NAME));
      sessionStorage.removeItem(KEY_NAME);
      await askForKey(hadKey);
    }
    throw new Error("the API key was refused");
  }

  async function errorMessage(resp) {
    try {
      const body = await resp.json();
      if (body && body.message) return body.message;
    } catch (_) {
      /* not JSON */
    }
    return "the service answered HTTP " + resp.status;
  }

  // -- documents --------------------------------------------------------------------------------------
  async function loadDocuments() {
    const status = $("documents-status");
    const list = $("documents-list");
    try {
      const resp = await apiFetch("/documents");
      if (!resp.ok) throw new Error(await errorMessage(resp));
      const docs = await resp.json();
      list.replaceChildren();
      const chunks = docs.reduce((sum, d) => sum + d.chunks, 0);
      status.textContent = docs.length
        ? docs.length + (docs.length === 1 ? " document, " : " documents, ") + chunks + " passages"
        : "Nothing is ingested yet: run `citebot ingest <folder>`.";
      for (const doc of docs) {
        const details = [doc.source, doc.chunks + (doc.chunks === 1 ? " passage" : " passages")];
        if (doc.date) details.push(doc.date);
        if (doc.ingested_at) details.push("ingested " + doc.ingested_at.slice(0, 10));
        list.append(
          el("li", { className: "document" },
            el("span", { className: "doc-title", text: doc.title || doc.source }),
            el("span", { className: "doc-meta muted small", text: details.join(" · ") }))
        );
      }
    } catch (err) {
      status.textContent = "Could not list the documents: " + err.message;
    }
  }

  // -- server-sent events over fetch (POST) -------------------------------------------------------------
  async function* sseEvents(resp) {
    const reader = resp.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (value) buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, "");
        let event = "message";
        const data = [];
        for (const line of block.split(/\r?\n/)) {
          if (line.startsWith("event:")) event = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        }
        if (data.length) yield { event, data: JSON.parse(data.join("\n")) };
      }
      if (done) return;
    }
  }

  // -- asking -------------------------------------------------------------------------------------------
  function showAskError(message) {
    const error = $("ask-error");
    error.textContent = message;
    error.hidden = !message;
  }

  function setBusy(value) {
    busy = value;
    $("ask-button").disabled = value;
    $("ask-button").textContent = value ? "Answering…" : "Ask";
    $("conversation").setAttribute("aria-busy", value ? "true" : "false");
  }

  async function ask(question) {
    $("empty-state").hidden = true;
    showAskError("");
    const turn = el("article", { className: "turn" });
    turn.append(el("div", { className: "message user" },
      el("span", { className: "who", text: "You" }), el("p", { className: "text", text: question })));
    const reply = el("div", { className: "message assistant streaming", "aria-label": "Answer" },
      el("span", { className: "who", text: "citebot" }),
      el("p", { className: "text", text: "" }),
      el("p", { className: "muted small progress", role: "status", text: "Searching the documents…" }));
    turn.append(reply);
    $("conversation").append(turn);
    turn.scrollIntoView({ block: "end" });

    const body = { question };
    if (history.length) body.history = history.slice(-MAX_HISTORY_ITEMS);
    setBusy(true);
    try {
      const resp = await apiFetch("/ask", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
        body: JSON.stringify(body),
      });
      if (!resp.ok) throw new Error(await errorMessage(resp));
      let answer = null;
      let streamed = "";
      for await (const { event, data } of sseEvents(resp)) {
        if (event === "delta") {
          streamed += data.text;
          reply.querySelector(".text").textContent = streamed;
          reply.querySelector(".progress").textContent = "Writing the answer…";
        } else if (event === "answer") {
          answer = data;
        } else if (event === "error") {
          throw new Error(data.message || data.error);
        }
      }
      if (!answer) throw new Error("the answer stream ended early: ask again");
      renderAnswer(reply, question, answer);
      reply.scrollIntoView({ block: "nearest" });
      history.push({ role: "user", content: question.slice(0, 8000) });
      history.push({ role: "assistant", content: answer.answer.slice(0, 8000) });
    } catch (err) {
      reply.classList.remove("streaming");
      reply.classList.add("failed");
      reply.querySelector(".progress").remove();
      reply.querySelector(".text").textContent = "No answer: " + err.message;
      reply.setAttribute("role", "alert");
    } finally {
      setBusy(false);
      $("question").focus();
    }
  }

  function percent(x) {
    return Math.round(x * 100) + "%";
  }

  // The answer text with each [n] turned into a button that opens citation n.
  function answerText(answer) {
    const byN = new Map(answer.citations.map((c) => [c.n, c]));
    const p = el("p", { className: "text" });
    const parts = answer.answer.split(/(\[\d+\])/);
    for (const part of parts) {
      const match = /^\[(\d+)\]$/.exec(part);
      const citation = match && byN.get(Number(match[1]));
      if (citation) p.append(citeButton(citation, "[" + citation.n + "]", "cite"));
      else if (part) p.append(document.createTextNode(part));
    }
    return p;
  }

  function citeButton(citation, label, className) {
    return el("button", {
      type: "button",
      className,
      "data-n": citation.n,
      "aria-label": "Source " + citation.n + ": " + citation.title,
      onclick: (event) => openPassage(citation, event.currentTarget),
    }, label);
  }

  function renderAnswer(reply, question, answer) {
    reply.classList.remove("streaming");
    reply.replaceChildren(el("span", { className: "who", text: "citebot" }));
    reply.dataset.requestId = answer.request_id || "";
    if (answer.abstained) {
      reply.classList.add("abstained");
      reply.append(
        el("p", { className: "abstained-title", role: "status" },
          el("span", { "aria-hidden": "true", text: "∅ " }), "Not found in the documents"),
        el("p", { className: "text", text: answer.answer }),
        el("p", { className: "muted small",
          text: "None of the " + answer.sources.length + " passages searched holds an answer. Try other words, or check the document list." })
      );
    } else {
      if (answer.short_answer) {
        reply.append(el("p", { className: "short-answer" },
          el("span", { className: "label", text: "Short answer: " }), el("strong", { text: answer.short_answer })));
      }
      reply.append(answerText(answer));
      const sources = el("ol", { className: "citations", "aria-label": "Cited passages" });
      for (const c of answer.citations) {
        const where = [c.source, c.section].filter(Boolean).join(" · ");
        sources.append(el("li", { value: c.n },
          citeButton(c, c.title || c.source, "cite-title"),
          el("span", { className: "muted small", text: " " + where }),
          el("q", { className: "quote", text: c.quote })));
      }
      reply.append(sources);
    }
    reply.append(answerMeta(answer), feedbackBar(question, answer));
  }

  function answerMeta(answer) {
    const items = [
      el("span", { className: "badge", title: "Share of answer sentences backed by a verified citation" },
        "support " + percent(answer.support || 0)),
      el("span", { className: "badge", title: "The generator that answered" }, "mode " + answer.mode),
      answer.degraded
        ? el("span", { className: "badge warn", title: "The configured generator failed; a fallback answered" },
          "degraded: fallback answer")
        : el("span", { className: "badge" }, "not degraded"),
    ];
    if (answer.timings_ms && answer.timings_ms.total_ms !== undefined) {
      items.push(el("span", { className: "muted small" }, Math.round(answer.timings_ms.total_ms) + " ms"));
    }
    return el("p", { className: "meta", "aria-label": "Answer details" }, ...items);
  }

  function feedbackBar(question, answer) {
    const status = el("span", { className: "muted small", role: "status" });
    const bar = el("div", { className: "feedback", role: "group", "aria-label": "Was this answer useful?" });
    const buttons = {};
    async function vote(value) {
      for (const b of Object.values(buttons)) b.disabled = true;
      status.textContent = "Saving…";
      try {
        const resp = await apiFetch("/feedback", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ question, answer, vote: value, client_id: clientId() }),
        });
        if (!resp.ok) throw new Error(await errorMessage(resp));
        for (const [name, b] of Object.entries(buttons)) b.setAttribute("aria-pressed", String(name === value));
        status.textContent = value === "up" ? "Thanks: marked as helpful." : "Thanks: marked as not helpful.";
      } catch (err) {
        status.textContent = "Feedback not saved: " + err.message;
      } finally {
        for (const b of Object.values(buttons)) b.disabled = false;
      }
    }
    buttons.up = el("button", { type: "button", className: "vote up", "aria-pressed": "false",
      onclick: () => vote("up") }, el("span", { "aria-hidden": "true", text: "👍 " }), "Helpful");
    buttons.down = el("button", { type: "button", className: "vote down", "aria-pressed": "false",
      onclick: () => vote("down") }, el("span", { "aria-hidden": "true", text: "👎 " }), "Not helpful");
    bar.append(buttons.up, buttons.down, status);
    return bar;
  }

  // -- the passage panel ------------------------------------------------------------------------------
  function escapeRegExp(text) {
    return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }

  // Text nodes with the quote wrapped in <mark> (whitespace may differ between quote and chunk).
  function highlighted(text, quote) {
    const words = quote.trim().split(/\s+/).filter(Boolean).map(escapeRegExp);
    const match = words.length ? new RegExp(words.join("\\s+")).exec(text) : null;
    if (!match) return [document.createTextNode(text)];
    return [
      document.createTextNode(text.slice(0, match.index)),
      el("mark", { className: "quote-mark", text: match[0] }),
      document.createTextNode(text.slice(match.index + match[0].length)),
    ];
  }

  async function openPassage(citation, button) {
    lastCiteButton = button || null;
    const panel = $("passage");
    $("passage-title").textContent = "Source [" + citation.n + "]";
    $("passage-doc").textContent = citation.title;
    $("passage-source").textContent = citation.source;
    $("passage-section").textContent = citation.section || "—";
    $("passage-status").textContent = "Loading the passage…";
    $("passage-text").replaceChildren(el("mark", { className: "quote-mark", text: citation.quote }));
    panel.hidden = false;
    panel.focus();
    try {
      const resp = await apiFetch("/passages/" + encodeURIComponent(citation.chunk_id));
      if (!resp.ok) throw new Error(await errorMessage(resp));
      const passage = await resp.json();
      $("passage-doc").textContent = passage.title;
      $("passage-source").textContent = passage.source;
      $("passage-section").textContent = passage.section || citation.section || "—";
      $("passage-text").replaceChildren(...highlighted(passage.text, citation.quote));
      $("passage-status").textContent = "The highlighted words are the quote cited as [" + citation.n + "].";
      const mark = $("passage-text").querySelector("mark");
      if (mark) mark.scrollIntoView({ block: "nearest" });
    } catch (err) {
      $("passage-status").textContent = "Only the quote is shown: " + err.message;
    }
  }

  function closePassage() {
    $("passage").hidden = true;
    if (lastCiteButton && document.body.contains(lastCiteButton)) lastCiteButton.focus();
  }

  // -- wiring -----------------------------------------------------------------------------------------
  function newConversation() {
    history.length = 0;
    $("conversation").replaceChildren($("empty-state"));
    $("empty-state").hidden = false;
    closePassage();
    $("question").focus();
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = $("ask-form");
    const input = $("question");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const question = input.value.trim();
      if (!question) {
        showAskError("Type a question first.");
        return;
      }
      if (busy) return;
      input.value = "";
      ask(question);
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    $("passage-close").addEventListener("click", closePassage);
    $("new-conversation").addEventListener("click", newConversation);
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !$("passage").hidden && !$("key-dialog").open) closePassage();
    });
    $("key-dialog").addEventListener("cancel", (event) => event.preventDefault());
    loadDocuments();
    input.focus();
  });
})();
