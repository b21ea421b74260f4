// The scanner page's DOM (templates/checkin/scanner.html): the result screen, the network
// state, the counters, the queue badge, sync notices, search results and the inputs. The other
// modules never touch the page; they call these.
import { feedback } from "./feedback.js";

export function createScreen(doc, text) {
  const $ = (id) => doc.getElementById(id);
  const result = $("result");
  const network = $("network");
  const noticeBox = $("sync-notice");
  let hideTimer = null;

  function focusCode() {  // a USB/Bluetooth scanner types the next ticket at once
    $("code").focus();
  }

  function hide() {
    result.hidden = true;
    focusCode();
  }

  // `shown`: { tone, title, name, detail, offerOverride } (see answers.view).
  function show(shown, onOverride) {
    result.dataset.tone = shown.tone;
    result.querySelector(".result-title").textContent = shown.title;
    result.querySelector(".result-name").textContent = shown.name || "";
    result.querySelector(".result-detail").textContent = shown.detail || "";
    const old = result.querySelector("button");
    if (old) old.remove();
    if (shown.offerOverride) {
      result.insertBefore(button(text.override, onOverride), result.querySelector(".result-hint"));
    }
    result.hidden = false;
    focusCode();
    feedback(shown.tone);
    clearTimeout(hideTimer);
    hideTimer = setTimeout(hide, shown.tone === "green" ? 2500 : 6000);
  }

  function button(label, onClick) {
    const b = doc.createElement("button");
    b.className = "button";
    b.type = "button";
    b.textContent = label;
    b.addEventListener("click", onClick);
    return b;
  }

  function setOnline(online) {
    network.dataset.state = online ? "online" : "offline";
  }

  function isOnline() {
    return network.dataset.state === "online";
  }

  function showCounters(counters) {
    const parts = Object.keys(counters).map((mode) => {
      const c = counters[mode];
      return `${text[mode]} ${c.checked_in} / ${c.expected}`;
    });
    $("counters").textContent = parts.join(" · ") + " " + text.checked_in;
  }

  function showQueued(n, label) {
    const badge = $("queued");
    badge.hidden = !n;
    badge.textContent = label;
  }

  // What sync has to say stays beside the network state until read (tapped): the result
  // screen is for the person at the door. A kept notice is not cleared by the next sync.
  function notice(message, keep) {
    if (!message && noticeBox.dataset.keep) return;
    noticeBox.textContent = message;
    noticeBox.hidden = !message;
    noticeBox.dataset.keep = keep ? "1" : "";
  }

  function renderResults(people, onPick) {
    const list = $("search-results");
    list.textContent = "";
    if (!people.length) return list.appendChild(item(text.no_results));
    for (const p of people) {
      const li = item("");
      li.appendChild(item(p.name + (p.organisation ? " — " + p.organisation : ""), "span"));
      li.appendChild(button(text.check_in, () => onPick(p)));
      list.appendChild(li);
    }
    return list;
  }

  function item(label, tag) {
    const el = doc.createElement(tag || "li");
    el.textContent = label;
    return el;
  }

  function setUndo(enabled) {
    $("undo").disabled = !enabled;
  }

  // The inputs: the code field, the search form, the undo button.
  function onInputs(handlers) {
    $("code-form").addEventListener("submit", (event) => {
      event.preventDefault();
      handlers.code($("code").value);
      $("code").value = "";
    });
    $("search-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const q = $("search").value.trim();
      if (q) handlers.search(q);
    });
    $("undo").addEventListener("click", () => handlers.undo());
  }

  result.addEventListener("click", (event) => { if (event.target.tagName !== "BUTTON") hide(); });
  noticeBox.addEventListener("click", () => { noticeBox.dataset.keep = ""; notice(""); });
  return {
    show, hide, focusCode, setOnline, isOnline, showCounters, showQueued, notice, renderResults, setUndo,
    onInputs,
  };
}
