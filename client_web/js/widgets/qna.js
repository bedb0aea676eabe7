// Q&A: an ask form and the list sorted by votes. Item text is shown as text only.

import { h, keyed } from "../dom.js";
import { attempt } from "./status.js";

export function sortedQna(state) {
  return [...state.qna.values()].sort(
    (a, b) => b.votes - a.votes || a.asked_at - b.asked_at || a.qna_id - b.qna_id);
}

/** Wire the ask form (#qna-form with #qna-text) to qna.ask. */
export function askForm(form, conn, maxLength) {
  const input = form.querySelector("textarea");
  input.maxLength = maxLength;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    const seq = await attempt(conn.send("qna.ask", { text }));
    if (seq !== undefined) input.value = "";
  });
}

/**
 * @param opts {asker(item) -> string, canVote, canAnswer, canHide(item)}
 */
export function renderQna(list, state, conn, opts) {
  const items = sortedQna(state);
  keyed(list, items, (i) => i.qna_id,
    (i) => JSON.stringify([i.votes, i.voted, i.answered, i.hidden, i.text, opts.canVote, opts.canAnswer, opts.canHide(i)]),
    (i) => qnaItem(i, conn, opts));
  list.dataset.count = String(items.length);
}

function qnaItem(item, conn, opts) {
  const actions = [];
  if (opts.canVote) {
    const cmd = item.voted ? "qna.unvote" : "qna.upvote";
    actions.push(h("button", {
      class: `btn btn-small vote${item.voted ? " is-on" : ""}`, "aria-pressed": String(item.voted),
      "aria-label": `${item.voted ? "Remove upvote" : "Upvote"} (${item.votes} votes)`, "data-fk": `vote-${item.qna_id}`,
      on: { click: () => attempt(conn.send(cmd, { qna_id: item.qna_id })) },
    }, "▲ ", String(item.votes)));
  } else {
    actions.push(h("span", { class: "votes", "aria-label": `${item.votes} votes`, text: `▲ ${item.votes}` }));
  }
  if (opts.canAnswer && !item.answered) {
    actions.push(h("button", { class: "btn btn-small", "data-fk": `ans-${item.qna_id}`,
      on: { click: () => attempt(conn.send("qna.mark_answered", { qna_id: item.qna_id })) } }, "Mark answered"));
  }
  if (opts.canHide(item) && !item.hidden) {
    actions.push(h("button", { class: "btn btn-small btn-quiet", "data-fk": `hide-${item.qna_id}`,
      on: { click: () => attempt(conn.send("qna.hide", { qna_id: item.qna_id }), "Hidden") } }, "Hide"));
  }
  return h("li", { class: `qna-item${item.answered ? " is-answered" : ""}${item.hidden ? " is-hidden" : ""}` },
    h("p", { class: "qna-text", text: item.text }),
    h("div", { class: "qna-meta" },
      h("span", { class: "muted", text: opts.asker(item) }),
      item.answered ? h("span", { class: "chip chip-ok", text: "Answered" }) : null,
      item.hidden ? h("span", { class: "chip", text: "Hidden" }) : null,
      h("span", { class: "spacer" }),
      actions),
  );
}
