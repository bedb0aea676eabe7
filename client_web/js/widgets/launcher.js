// The teacher's launcher: polls, embedded questions (now, or prepared for a lesson-clock
// position) and quiet yes/no checks, ad hoc or from the prepared list.

import { api } from "../api.js";
import { itemKind, keyText } from "../bank_items.js";
import { $, h, keyed, formatDuration } from "../dom.js";
import { attempt } from "./status.js";

const CHOICE = new Set(["single", "multiple"]);
const EXTRAS = ["min_value", "max_value", "tolerance", "max_length"];
// Bounds, tolerance and text length of the bank item last put in the form (the form has no
// fields for them): sent along while the answer type is still the item's.
let bankSpec = null;

export function parsePosition(raw) {
  const text = raw.trim();
  if (!text) return null;
  const parts = text.split(":").map(Number);
  if (parts.some((n) => !Number.isFinite(n) || n < 0)) throw new Error("Write the position as mm:ss");
  return parts.reduce((acc, n) => acc * 60 + n, 0);
}

function parseKey(kind, raw) {
  const text = raw.trim();
  if (!text) return null;
  if (CHOICE.has(kind)) {
    const picks = text.split(/[,\s]+/).filter(Boolean).map((x) => Number(x) - 1);
    if (picks.some((n) => !Number.isInteger(n) || n < 0)) throw new Error("The key names options by number: 2, or 1,3");
    return { choices: kind === "single" ? picks.slice(0, 1) : picks };
  }
  if (kind === "numeric") {
    const number = Number(text);
    if (!Number.isFinite(number)) throw new Error("The key must be a number");
    return { number };
  }
  return { text };
}

export function buildSpec(kind, prompt, optionsText, keyText) {
  const spec = { kind, prompt: prompt.trim() };
  if (CHOICE.has(kind)) spec.options = optionsText.split("\n").map((o) => o.trim()).filter(Boolean);
  const correct = parseKey(kind, keyText);
  if (correct) spec.correct = correct;
  return spec;
}

export function wireLauncher(conn, onError) {
  const form = $("#launcher");
  const what = () => form.querySelector("input[name=what]:checked").value;
  const sync = () => {
    const w = what();
    const kind = $("#l-kind").value;
    for (const el of form.querySelectorAll("[data-for]")) {
      const need = el.dataset.for;
      el.hidden = (need === "choice" && w === "check") || (need === "options" && (w === "check" || !CHOICE.has(kind)))
        || (need === "poll" && w !== "poll") || (need === "question" && w !== "question");
    }
    $("#l-go").textContent = { poll: "Open poll", question: $("#l-position").value.trim() ? "Prepare question" : "Launch question now", check: "Open check" }[w];
  };
  form.addEventListener("change", sync);
  form.addEventListener("input", sync);
  sync();
  $("#l-quick").addEventListener("click", () => {
    $("#l-kind").value = "single";
    $("#l-options").value = "A\nB\nC\nD";
    if (!$("#l-prompt").value.trim()) $("#l-prompt").value = "Which answer is right?";
    sync();
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const w = what();
    const prompt = $("#l-prompt").value;
    let sent;
    try {
      if (w === "check") {
        sent = conn.send("check.open", { prompt: prompt.trim() });
      } else {
        const spec = buildSpec($("#l-kind").value, prompt, $("#l-options").value, $("#l-key").value);
        if (bankSpec && bankSpec.kind === spec.kind) {
          for (const name of EXTRAS) if (bankSpec[name] !== null && bankSpec[name] !== undefined) spec[name] = bankSpec[name];
        }
        if (w === "poll") {
          sent = conn.send("poll.open", { spec, anonymous: $("#l-anon").checked });
        } else {
          const position = parsePosition($("#l-position").value);
          sent = position === null
            ? conn.send("question.launch", { spec })
            : conn.send("question.prepare", { spec, position });
        }
      }
    } catch (err) {
      onError(err.message);
      return;
    }
    const seq = await attempt(sent, w === "question" && $("#l-position").value.trim() ? "Question prepared" : null);
    if (seq !== undefined) {
      bankSpec = null;
      $("#l-prompt").value = "";
      $("#l-key").value = "";
      $("#l-position").value = "";
      sync();
    }
  });
}

export function renderPrepared(state, conn) {
  const prepared = [...state.questions.values()].filter((q) => q.status === "prepared")
    .sort((a, b) => a.planned_position - b.planned_position);
  $("#prepared-card").hidden = prepared.length === 0;
  keyed($("#prepared"), prepared, (q) => q.question_id, (q) => q.prompt, (q) =>
    h("li", { class: "row-item" },
      h("span", { class: "mono", text: formatDuration(q.planned_position) }),
      h("span", { class: "grow", text: q.prompt }),
      h("button", { class: "btn btn-small", "data-fk": `show-${q.question_id}`,
        on: { click: () => attempt(conn.send("question.show", { question_id: q.question_id })) } }, "Show now")));
}

/** Put a bank item in the launcher form: the teacher checks it and presses the button. */
function useBankItem(item) {
  const form = $("#launcher");
  const { spec } = item;
  form.querySelector(`input[name=what][value=${item.use}]`).checked = true;
  $("#l-kind").value = spec.kind;
  $("#l-prompt").value = spec.prompt;
  $("#l-options").value = spec.options.join("\n");
  $("#l-key").value = keyText(spec);
  $("#l-anon").checked = item.anonymous;
  $("#l-position").value = item.position === null || item.position === undefined ? "" : formatDuration(item.position);
  bankSpec = spec;
  form.dispatchEvent(new Event("change"));
  $("#l-go").focus();
}

/** "From the bank": the items the teacher attached to this lesson (GET /api/sessions/{id}/bank),
 * loaded again each time the list is opened (the bank page may have changed them). */
export function wireBankPicker(sessionId, courseId, onError) {
  const picker = $("#bank-pick");
  const bankHref = `/courses/${courseId}/bank?lesson=${sessionId}`;
  const load = async () => {
    let items;
    try {
      items = await api(`/api/sessions/${sessionId}/bank`);
    } catch (err) {
      onError(`The question bank could not be loaded: ${err.message}`);
      return;
    }
    picker.hidden = false;
    $("#bank-count").textContent = String(items.length);
    $("#bank-list").replaceChildren(...(items.length
      ? items.map((item) => h("li", { class: "row-item", "data-item": String(item.item_id) },
        h("span", { class: "grow" }, h("span", { text: item.spec.prompt }), h("span", { class: "small muted", text: ` · ${itemKind(item, item.position)}` })),
        h("button", { class: "btn btn-small", type: "button", "aria-label": `Use “${item.spec.prompt}”`, on: { click: () => useBankItem(item) } }, "Use")))
      : [h("li", { class: "muted" }, "Nothing prepared for this lesson. ", h("a", { href: bankHref, text: "Open the question bank" }))]));
  };
  picker.addEventListener("toggle", () => { if (picker.open) load(); });
  return load();
}
