// A student's card for one poll, embedded question or yes/no check: the prompt, an answer
// form fitting its kind, the student's own answer, and the totals once revealed.

import { h } from "../dom.js";
import { timer } from "./timer.js";
import { summaryBody } from "./results.js";
import { attempt, toast } from "./status.js";

const TOO_BIG = "That is not a number we can take (too large?). Enter a number such as 9.8 or -3.";

function describe(item, value) {
  if (value === null || value === undefined) return "";
  if (item.kind === "single") return item.options[value] ?? String(value);
  if (item.kind === "multiple") return value.map((i) => item.options[i] ?? i).join(", ");
  return String(value);
}

/** What the student answered: poll -> value; question -> {value, correct}. */
function mineOf(item, isQuestion) {
  if (!isQuestion) return item.mine ?? null;
  return item.mine?.value ?? null;
}

function answerForm(item, send, mine) {
  const id = `${item.ref}`;
  const legendId = `${id}-prompt`;
  if (item.kind === "single") {
    return h("div", { class: "options", role: "group", "aria-labelledby": legendId },
      item.options.map((opt, i) => h("button", {
        class: `btn option${mine === i ? " is-on" : ""}`, "aria-pressed": String(mine === i), "data-fk": `${id}-o${i}`,
        on: { click: () => send({ choices: [i] }) },
      }, opt)));
  }
  if (item.kind === "multiple") {
    const boxes = item.options.map((opt, i) => h("label", { class: "check" },
      h("input", { type: "checkbox", value: String(i), checked: Array.isArray(mine) && mine.includes(i), "data-fk": `${id}-o${i}` }),
      h("span", { text: opt })));
    return h("form", { class: "options", "aria-labelledby": legendId, on: { submit: (ev) => {
      ev.preventDefault();
      const choices = [...ev.target.querySelectorAll("input:checked")].map((b) => Number(b.value));
      send({ choices });
    } } }, boxes, h("button", { class: "btn btn-primary", type: "submit", "data-fk": `${id}-send` }, mine ? "Change answer" : "Send answer"));
  }
  const numeric = item.kind === "numeric";
  const input = h("input", {
    id: `${id}-input`, type: numeric ? "number" : "text", step: numeric ? "any" : null,
    min: item.min_value ?? null, max: item.max_value ?? null, maxlength: numeric ? null : item.max_length || null,
    required: true, autocomplete: "off", "data-fk": `${id}-input`, value: mine ?? "",
  });
  input.addEventListener("input", () => input.setCustomValidity(""));
  // the browser refuses what is not a number (1e400 is not one it can hold) without a word
  // on some screens: say it in the page too
  input.addEventListener("invalid", () => {
    if (numeric && input.validity.badInput) input.setCustomValidity(TOO_BIG);
    toast(input.validationMessage || TOO_BIG, "error");
  });
  return h("form", { class: "inline-form", on: { submit: (ev) => {
    ev.preventDefault();
    const number = Number(input.value);
    if (numeric && !Number.isFinite(number)) { // 1e400 and the like: too big to be a number here
      input.setCustomValidity(TOO_BIG);
      input.reportValidity(); // fires "invalid": the toast says it
      return;
    }
    send(numeric ? { number } : { text: input.value });
  } } },
    h("label", { class: "sr-only", for: `${id}-input`, text: "Your answer" }),
    input,
    h("button", { class: "btn btn-primary", type: "submit", "data-fk": `${id}-send` }, mine !== null ? "Change" : "Send"));
}

export function promptCard(item, conn, { isQuestion, ended }) {
  const ref = isQuestion ? `q${item.question_id}` : `p${item.poll_id}`;
  item = { ...item, ref };
  const mine = mineOf(item, isQuestion);
  const open = item.status === "open";
  const send = (answer) => isQuestion
    ? attempt(conn.send("question.answer", { question_id: item.question_id, answer }), "Answer sent")
    : attempt(conn.send("poll.answer", { poll_id: item.poll_id, answer }), "Answer sent");
  const statusText = { open: "Open", closed: "Closed", revealed: "Results" }[item.status] ?? item.status;
  const canAnswer = isQuestion ? (mine === null && (open || ended)) : open;
  const parts = [
    h("header", { class: "card-head" },
      h("span", { class: "tag", text: isQuestion ? "Question" : "Poll" }),
      h("span", { class: `chip chip-${item.status}`, text: statusText }),
      h("span", { class: "spacer" }),
      timer(item)),
    h("h3", { id: `${ref}-prompt`, class: "prompt", text: item.prompt }),
  ];
  if (canAnswer) parts.push(answerForm(item, send, mine));
  if (mine !== null && !(canAnswer && item.kind === "single")) {
    const verdict = isQuestion && typeof item.mine?.correct === "boolean" ? (item.mine.correct ? " ✓ correct" : " ✗ not quite") : "";
    parts.push(h("p", { class: "mine" }, "Your answer: ", h("b", { text: describe(item, mine) }), verdict));
  } else if (mine === null && !canAnswer) {
    parts.push(h("p", { class: "muted", text: "You did not answer this one." }));
  }
  const totals = item.revealed ?? (item.status === "revealed" ? item.results?.total : null);
  if (totals) {
    parts.push(h("div", { class: "chart" }, h("section", { class: "chart-block is-total" },
      h("h4", {}, h("span", { text: "Class results" }), h("small", { text: `${totals.answered} answered` })),
      summaryBody(item, totals))));
  }
  return h("article", { class: `card prompt-card is-${item.status}`, "data-ref": ref, "aria-labelledby": `${ref}-prompt` }, parts);
}

export function checkCard(check, conn) {
  const open = check.status === "open";
  const ref = `c${check.check_id}`;
  const answer = (yes) => attempt(conn.send("check.answer", { check_id: check.check_id, yes }));
  return h("article", { class: `card check-card is-${check.status}`, "data-ref": ref, "aria-labelledby": `${ref}-prompt` },
    h("header", { class: "card-head" },
      h("span", { class: "tag", text: "Quick check" }),
      h("span", { class: "muted small", text: "only your teacher sees the counts" })),
    h("h3", { id: `${ref}-prompt`, class: "prompt", text: check.prompt }),
    open
      ? h("div", { class: "options options-2", role: "group", "aria-labelledby": `${ref}-prompt` },
        h("button", { class: `btn option${check.mine === true ? " is-on" : ""}`, "aria-pressed": String(check.mine === true), "data-fk": `${ref}-yes`, on: { click: () => answer(true) } }, "Yes"),
        h("button", { class: `btn option${check.mine === false ? " is-on" : ""}`, "aria-pressed": String(check.mine === false), "data-fk": `${ref}-no`, on: { click: () => answer(false) } }, "No"))
      : h("p", { class: "muted", text: check.mine === null ? "Closed." : `Closed. You said ${check.mine ? "yes" : "no"}.` }),
  );
}
