// `LabelPage`: the labelling page, one self-contained HTML document (CSS and JS inline, no
// CDN, works offline) served at "/". Plain DOM code: a name form, the prompt, the responses as
// they stream in, the choices with keyboard shortcuts, thumbs, a note, progress and "back".
// Leaves out styling frameworks and any storage but the labeller's name (localStorage).
enum LabelPage {
    /// The page with the session token in a meta tag (the token is letters, digits, - and _).
    static func html(token: String) -> String { template.replacingOccurrences(of: "{{TOKEN}}", with: token) }

    static let template = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="label-token" content="{{TOKEN}}">
<title>rlhf label</title>
<style>
  :root { --fg: #111; --bg: #fff; --muted: #444; --line: #767676; --accent: #0b57d0; --accent-fg: #fff; --pick: #e8f0fe; }
  * { box-sizing: border-box; }
  [hidden] { display: none !important; }
  body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
  header { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1rem; padding: .5rem 1rem; border-bottom: 1px solid var(--line); }
  header h1 { font-size: 1.1rem; margin: 0; }
  #progress { margin: 0; color: var(--muted); }
  progress { width: 10rem; height: .8rem; }
  main { max-width: 72rem; margin: 0 auto; padding: 1rem; }
  h2 { font-size: 1rem; margin: .5rem 0; }
  .prompt { white-space: pre-wrap; border-left: 4px solid var(--accent); padding: .5rem .75rem; background: #f5f5f5; }
  .prompt .role { font-weight: 600; }
  .responses { display: grid; grid-template-columns: repeat(auto-fit, minmax(16rem, 1fr)); gap: 1rem; margin: 1rem 0; }
  .card { border: 1px solid var(--line); border-radius: .4rem; padding: .75rem; display: flex; flex-direction: column; gap: .5rem; }
  .card.current { border: 3px solid var(--accent); background: var(--pick); }
  .card h3 { margin: 0; font-size: 1rem; }
  .text { white-space: pre-wrap; min-height: 4rem; overflow-wrap: anywhere; }
  .text.pending::after { content: "\2026 generating"; color: var(--muted); }
  .row { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; }
  button { font: inherit; min-height: 2.75rem; padding: .4rem .9rem; border-radius: .4rem; border: 2px solid var(--accent);
           background: var(--bg); color: var(--accent); cursor: pointer; }
  button.primary { background: var(--accent); color: var(--accent-fg); }
  button[aria-pressed="true"] { background: var(--accent); color: var(--accent-fg); }
  button:disabled { opacity: .45; cursor: not-allowed; }
  kbd { font: .85em ui-monospace, monospace; border: 1px solid var(--line); border-radius: .25rem; padding: 0 .3rem; }
  fieldset { border: 1px solid var(--line); border-radius: .4rem; margin: 0; }
  fieldset label { display: inline-flex; align-items: center; gap: .2rem; margin-right: .6rem; min-height: 2.75rem; }
  input[type=radio] { width: 1.3rem; height: 1.3rem; }
  textarea, input[type=text] { font: inherit; width: 100%; padding: .4rem; border: 1px solid var(--line); border-radius: .3rem; }
  :focus-visible { outline: 3px solid #c2410c; outline-offset: 2px; }
  #status { min-height: 1.5rem; color: var(--muted); }
  #status.error { color: #a50e0e; font-weight: 600; }
  .controls { position: sticky; bottom: 0; background: var(--bg); padding: .5rem 0; border-top: 1px solid var(--line); }
  @media (max-width: 40rem) { main { padding: .5rem; } .responses { grid-template-columns: 1fr; } button { flex: 1 1 40%; } }
</style>
</head>
<body>
<header>
  <h1>rlhf label</h1>
  <p id="progress" aria-live="polite">Loading&hellip;</p>
  <progress id="bar" max="1" value="0" aria-label="Items labelled"></progress>
  <span id="who-am-i"></span>
</header>
<main>
  <section id="who" hidden aria-labelledby="who-h">
    <h2 id="who-h">Who is labelling?</h2>
    <form id="who-form">
      <label for="name">Your name (recorded with every row; letters, digits, space . _ -)</label>
      <input id="name" type="text" autocomplete="nickname" maxlength="40" required pattern="[A-Za-z0-9 ._\-]{1,40}">
      <p><button class="primary" type="submit">Start labelling</button></p>
    </form>
  </section>

  <section id="work" hidden aria-labelledby="prompt-h">
    <h2 id="prompt-h">Prompt <span id="item-no"></span></h2>
    <div id="prompt" class="prompt"></div>
    <div id="responses" class="responses"></div>
    <div class="controls">
      <div id="pair-controls" class="row" hidden>
        <button class="primary" id="pick-A" data-choice="A" disabled>A is better <kbd>A</kbd></button>
        <button class="primary" id="pick-B" data-choice="B" disabled>B is better <kbd>B</kbd></button>
        <button id="pick-tie" data-choice="tie" disabled>Tie <kbd>T</kbd></button>
        <button id="pick-skip" data-choice="skip">Skip <kbd>S</kbd></button>
        <button id="back" type="button">Back <kbd>Z</kbd></button>
      </div>
      <div id="rate-controls" class="row" hidden>
        <button class="primary" id="submit-ratings" disabled>Save ratings <kbd>Enter</kbd></button>
        <button id="rate-skip">Skip <kbd>S</kbd></button>
        <button id="rate-back" type="button">Back <kbd>Z</kbd></button>
      </div>
      <p><label for="note">Note (optional, up to 500 characters)</label>
      <textarea id="note" rows="2" maxlength="500"></textarea></p>
    </div>
  </section>

  <section id="finished" hidden>
    <h2>All items are labelled</h2>
    <p>Thank you. You may close this page.</p>
    <button id="finished-back" type="button">Back to my last item <kbd>Z</kbd></button>
  </section>

  <p id="status" role="status" aria-live="polite"></p>

  <details>
    <summary>Keyboard shortcuts</summary>
    <ul>
      <li>Two responses: <kbd>A</kbd> or <kbd>&larr;</kbd> A is better, <kbd>B</kbd> or <kbd>&rarr;</kbd> B is better,
        <kbd>T</kbd> tie, <kbd>S</kbd> skip; thumbs <kbd>Q</kbd>/<kbd>W</kbd> up/down for A, <kbd>O</kbd>/<kbd>P</kbd> for B.</li>
      <li>Rating: <kbd>1</kbd>&ndash;<kbd>5</kbd> rate the highlighted response and move on, <kbd>J</kbd>/<kbd>K</kbd>
        next/previous response, <kbd>Enter</kbd> save, <kbd>S</kbd> skip.</li>
      <li><kbd>Z</kbd> or <kbd>Backspace</kbd>: back to the item before (to change it).</li>
      <li>Shortcuts are off while you type in a text field.</li>
    </ul>
  </details>
</main>
<script>
"use strict";
const token = document.querySelector('meta[name="label-token"]').content;
if (location.search.includes("token=")) history.replaceState(null, "", location.pathname);
const $ = (id) => document.getElementById(id);
let me = localStorage.getItem("rlhf-label-name") || "";
let cur = null;          // the item on screen: {item, mode, slots, prompt, done}
let texts = [], ready = false, busy = false, thumbs = [], ratings = [], focusSlot = 0, streamAbort = null;

function say(msg, isError) { const s = $("status"); s.textContent = msg; s.className = isError ? "error" : ""; }

async function api(path, body) {
  const r = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json", "X-Label-Token": token },
                                body: JSON.stringify(Object.assign({ labeller: me }, body || {})) });
  const j = await r.json().catch(() => ({ error: "HTTP " + r.status }));
  if (!r.ok) throw new Error(j.error || ("HTTP " + r.status));
  return j;
}

function showProgress(p) {
  $("progress").textContent = p.labelled + " / " + p.total + " labelled";
  $("bar").max = Math.max(1, p.total); $("bar").value = p.labelled;
}

function letter(i) { return cur.mode === "pair" ? "AB"[i] : String(i + 1); }

function renderPrompt(p) {
  const box = $("prompt"); box.textContent = "";
  if (typeof p === "string") { box.textContent = p; return; }
  for (const m of p) {
    const line = document.createElement("div");
    const role = document.createElement("span"); role.className = "role"; role.textContent = m.role + ": ";
    line.append(role, document.createTextNode(m.content)); box.append(line);
  }
}

function renderCards() {
  const box = $("responses"); box.textContent = "";
  for (let i = 0; i < cur.slots; i++) {
    const card = document.createElement("article"); card.className = "card"; card.id = "card-" + i;
    card.setAttribute("aria-labelledby", "card-h-" + i);
    const h = document.createElement("h3"); h.id = "card-h-" + i; h.textContent = "Response " + letter(i);
    const t = document.createElement("div"); t.className = "text pending"; t.id = "text-" + i;
    card.append(h, t);
    if (cur.mode === "pair") {
      const row = document.createElement("div"); row.className = "row";
      for (const [kind, label, key] of [["up", "Good (thumbs up)", i ? "O" : "Q"], ["down", "Bad (thumbs down)", i ? "P" : "W"]]) {
        const b = document.createElement("button"); b.type = "button"; b.id = "thumb-" + i + "-" + kind;
        b.setAttribute("aria-pressed", "false");
        b.setAttribute("aria-label", "Response " + letter(i) + ": thumbs " + kind + " (" + key + ")");
        b.textContent = label;
        b.onclick = () => toggleThumb(i, kind);
        row.append(b);
      }
      card.append(row);
    } else {
      const fs = document.createElement("fieldset");
      const lg = document.createElement("legend"); lg.textContent = "Rating for response " + (i + 1) + " (1 worst, 5 best)";
      fs.append(lg);
      for (let r = 1; r <= 5; r++) {
        const lab = document.createElement("label");
        const inp = document.createElement("input"); inp.type = "radio"; inp.name = "rate-" + i; inp.value = r; inp.id = "rate-" + i + "-" + r;
        inp.onchange = () => { ratings[i] = r; updateButtons(); };
        lab.append(inp, document.createTextNode(String(r))); fs.append(lab);
      }
      card.append(fs);
    }
    box.append(card);
  }
}

function toggleThumb(i, kind) {
  thumbs[i] = thumbs[i] === kind ? null : kind;
  for (const k of ["up", "down"]) $("thumb-" + i + "-" + k).setAttribute("aria-pressed", String(thumbs[i] === k));
}

function setRating(i, r) { ratings[i] = r; $("rate-" + i + "-" + r).checked = true; updateButtons(); }

function highlight(i) {
  focusSlot = (i + cur.slots) % cur.slots;
  for (let k = 0; k < cur.slots; k++) $("card-" + k).classList.toggle("current", k === focusSlot);
}

function updateButtons() {
  for (const id of ["pick-A", "pick-B", "pick-tie"]) $(id).disabled = !ready || busy;
  $("pick-skip").disabled = busy; $("rate-skip").disabled = busy;
  $("submit-ratings").disabled = !ready || busy || ratings.filter((r) => r).length !== (cur ? cur.slots : 0);
  for (const id of ["back", "rate-back", "finished-back"]) $(id).disabled = busy || !(cur && cur.can_back);
}

async function stream(item) {
  if (streamAbort) streamAbort.abort();
  const ctl = new AbortController(); streamAbort = ctl;
  try {
    const r = await fetch("/api/stream", { method: "POST", signal: ctl.signal,
      headers: { "Content-Type": "application/json", "X-Label-Token": token }, body: JSON.stringify({ labeller: me, item }) });
    if (!r.ok) { const j = await r.json().catch(() => ({})); throw new Error(j.error || ("HTTP " + r.status)); }
    const reader = r.body.getReader(), dec = new TextDecoder();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let cut;
      while ((cut = buf.indexOf("\n\n")) >= 0) {
        const ev = buf.slice(0, cut); buf = buf.slice(cut + 2);
        if (!ev.startsWith("data: ") || !cur || cur.item !== item) continue;
        const s = JSON.parse(ev.slice(6));
        s.texts.forEach((t, i) => { const el = $("text-" + i); el.textContent = t; el.classList.toggle("pending", !s.done); });
        texts = s.texts;
        if (s.done) {
          ready = !s.error;
          const again = cur.previous ? "Back on item #" + (cur.item + 1) + ": you chose " + cur.previous.choice + ". Choose again."
                                     : "Ready: choose with the buttons or keys.";
          say(s.error ? "This item failed to generate: " + s.error + " (skip it)" : again, !!s.error);
          updateButtons();
        }
      }
    }
  } catch (e) { if (e.name !== "AbortError") say("Stream: " + e.message, true); }
}

function show(v) {
  showProgress(v.progress);
  cur = v;
  if (v.done) {
    $("work").hidden = true; $("finished").hidden = false; say("Nothing left to label."); updateButtons(); return;
  }
  $("finished").hidden = true; $("work").hidden = false;
  $("item-no").textContent = "#" + (v.item + 1);
  texts = []; ready = false; thumbs = Array(v.slots).fill(null); ratings = Array(v.slots).fill(0);
  renderPrompt(v.prompt); renderCards();
  $("pair-controls").hidden = v.mode !== "pair"; $("rate-controls").hidden = v.mode !== "rate";
  $("note").value = "";
  if (v.previous) {
    (v.previous.thumbs || []).forEach((t, i) => { if (t) toggleThumb(i, t); });
    (v.previous.ratings || []).forEach((r, i) => setRating(i, r));
    $("note").value = v.previous.note || "";
    say("Back on item #" + (v.item + 1) + ": you chose " + v.previous.choice + ". Choose again.");
  } else {
    say("Generating responses\u2026");
  }
  if (v.mode === "rate") highlight(0);
  updateButtons();
  stream(v.item);
}

async function act(fn) {
  if (busy) return;
  busy = true; updateButtons();
  try { const v = await fn(); busy = false; show(v); } catch (e) { busy = false; updateButtons(); say(e.message, true); }
}

function decide(choice) {
  if (!cur || cur.done) return;
  if (choice !== "skip" && !ready) return;
  act(async () => {
    const body = { item: cur.item, note: $("note").value };
    if (cur.mode === "pair") { body.choice = choice; body.thumbs = thumbs; }
    else if (choice === "skip") { body.choice = "skip"; }
    else { body.ratings = ratings; }
    await api("/api/label", body);
    return api("/api/next");
  });
}

function back() { if (cur && cur.can_back) act(() => api("/api/back")); }

document.querySelectorAll("[data-choice]").forEach((b) => b.addEventListener("click", () => decide(b.dataset.choice)));
$("submit-ratings").onclick = () => decide("rated");
$("rate-skip").onclick = () => decide("skip");
for (const id of ["back", "rate-back", "finished-back"]) $(id).onclick = back;

document.addEventListener("keydown", (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey || !cur || $("work").hidden && $("finished").hidden) return;
  const tag = (e.target.tagName || "").toLowerCase();
  if (tag === "textarea" || (tag === "input" && e.target.type === "text")) return;
  const k = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  let handled = true;
  if (k === "z" || k === "Backspace") back();
  else if (cur.done) handled = false;
  else if (k === "s") decide("skip");
  else if (cur.mode === "pair") {
    if (k === "a" || k === "ArrowLeft") decide("A");
    else if (k === "b" || k === "ArrowRight") decide("B");
    else if (k === "t") decide("tie");
    else if (k === "q") toggleThumb(0, "up");
    else if (k === "w") toggleThumb(0, "down");
    else if (k === "o") toggleThumb(1, "up");
    else if (k === "p") toggleThumb(1, "down");
    else handled = false;
  } else {
    if (k >= "1" && k <= "5") { setRating(focusSlot, Number(k)); highlight(focusSlot + 1); }
    else if (k === "j") highlight(focusSlot + 1);
    else if (k === "k") highlight(focusSlot - 1);
    else if (k === "Enter" && !$("submit-ratings").disabled) decide("rated");
    else handled = false;
  }
  if (handled) e.preventDefault();
});

function start() {
  $("who").hidden = true;
  $("who-am-i").textContent = "Labeller: " + me;
  act(() => api("/api/next"));
}

$("who-form").addEventListener("submit", (e) => {
  e.preventDefault();
  me = $("name").value.trim();
  localStorage.setItem("rlhf-label-name", me);
  start();
});
if (me) start(); else { $("who").hidden = false; $("progress").textContent = ""; $("name").focus(); }
</script>
</body>
</html>
"""#
}
