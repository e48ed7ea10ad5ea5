// akapit's search page. Every piece of document text reaches the page through
// textContent, never as HTML: a document holding <script> or <img onerror> stays text.
"use strict";

const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem("akapit-token") || "";
let pending = null;

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props || {});
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

async function api(path, params) {
  const url = path + "?" + params.toString();
  const headers = token ? { Authorization: "Bearer " + token } : {};
  const response = await fetch(url, { headers });
  const body = await response.json().catch(() => ({ error: "the server sent no JSON" }));
  if (response.status === 401) {
    $("token").hidden = false;
    $("secret").focus();
  }
  if (!response.ok) throw new Error(body.error || "HTTP " + response.status);
  return body;
}

function status(text, isError) {
  $("state").textContent = text;
  $("state").className = isError ? "error" : "";
}

// "seeds/a.txt p. 3, "Section" ¶2, lines 4–6"
function citation(r) {
  let text = r.doc;
  if (r.page !== null) text += " p. " + r.page + ",";
  if (r.section) text += " \u201c" + r.section.split(" \u203a ").pop() + "\u201d";
  text += " \u00b6" + r.paragraph;
  if (r.start_line !== null) {
    text += r.start_line === r.end_line ? ", line " + r.start_line : ", lines " + r.start_line + "\u2013" + r.end_line;
  }
  return text;
}

// The passage with its highlights marked; offsets count characters (code points).
function highlighted(text, spans) {
  const chars = Array.from(text);
  const node = el("p", { className: "text" });
  let at = 0;
  for (const span of spans || []) {
    if (span.start > at) node.append(chars.slice(at, span.start).join(""));
    node.append(el("mark", { textContent: chars.slice(span.start, span.end).join("") }));
    at = span.end;
  }
  if (at < chars.length) node.append(chars.slice(at).join(""));
  return node;
}

function result(r) {
  const item = el("li");
  const where = el("div", { className: "cite" },
    el("span", { className: "score", textContent: r.score.toFixed(3) }),
    el("cite", { textContent: citation(r) }));
  if (r.section) where.title = r.section;
  const context = el("div", { className: "context", hidden: true });
  const show = el("button", { type: "button", textContent: "in context" });
  show.setAttribute("aria-expanded", "false");
  show.addEventListener("click", () => toggleContext(r, context, show));
  const related = el("button", { type: "button", textContent: "related" });
  related.addEventListener("click", () => relatedTo(r));
  item.append(where, highlighted(r.text, r.highlights), el("div", { className: "actions" }, show, related), context);
  return item;
}

async function toggleContext(r, box, button) {
  if (!box.hidden) {
    box.hidden = true;
    button.setAttribute("aria-expanded", "false");
    return;
  }
  const params = new URLSearchParams({ doc: r.doc, paragraph: r.paragraph, context: 2 });
  try {
    const shown = await api("/api/show", params);
    box.replaceChildren(el("div", { className: "cite", textContent: shown.title || shown.doc }));
    for (const p of shown.passages) {
      box.append(el("p", { className: p.target ? "target" : "", textContent: "\u00b6" + p.paragraph + " " + p.text }));
    }
    box.hidden = false;
    button.setAttribute("aria-expanded", "true");
  } catch (e) {
    status(e.message, true);
  }
}

function show(heading, results) {
  $("heading").textContent = heading;
  $("heading").hidden = false;
  $("results").replaceChildren(...results.map(result));
  status(results.length ? results.length + " passages" : "nothing found");
}

async function search(q, mode) {
  const ticket = {};
  pending = ticket;
  status("searching\u2026");
  try {
    const answer = await api("/api/search", new URLSearchParams({ q, mode, k: 10 }));
    if (pending !== ticket) return;
    show("Results for \u201c" + answer.query + "\u201d", answer.results);
    history.replaceState(null, "", "?" + new URLSearchParams({ q, mode }).toString());
  } catch (e) {
    if (pending === ticket) status(e.message, true);
  }
}

async function relatedTo(r) {
  status("looking for related passages\u2026");
  try {
    const mode = $("mode").value;
    const answer = await api("/api/related", new URLSearchParams({ doc: r.doc, paragraph: r.paragraph, mode, k: 10 }));
    show("Related to " + citation(r), answer.results);
    $("heading").focus();
  } catch (e) {
    status(e.message, true);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("ask").addEventListener("submit", (event) => {
    event.preventDefault();
    const q = $("q").value.trim();
    if (q) search(q, $("mode").value);
  });
  $("token").addEventListener("submit", (event) => {
    event.preventDefault();
    token = $("secret").value.trim();
    sessionStorage.setItem("akapit-token", token);
    $("token").hidden = true;
    const q = $("q").value.trim();
    if (q) search(q, $("mode").value);
  });
  const start = new URLSearchParams(location.search);
  if (start.get("q")) {
    $("q").value = start.get("q");
    if (start.get("mode")) $("mode").value = start.get("mode");
    search(start.get("q"), $("mode").value);
  }
});
