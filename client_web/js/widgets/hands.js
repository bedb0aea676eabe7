// The hand queue and the stage, as the teacher runs them.

import { $, h, keyed } from "../dom.js";
import { attempt } from "./status.js";

function target(entry) {
  return entry.kind === "site" ? { site_id: entry.site_id } : { user_id: entry.user_id };
}

function label(entry, dir) {
  return entry.kind === "site"
    ? `🏫 ${dir.site(entry.site_id)} (whole room)`
    : `${dir.person(entry.user_id)} · ${dir.site(entry.site_id)}`;
}

const keyOf = (e) => `${e.kind}-${e.kind === "site" ? e.site_id : e.user_id}`;

export function renderHands(state, conn, dir) {
  const queue = state.hands.queue;
  $("#hand-count").textContent = String(queue.length);
  $("#hand-clear").hidden = queue.length === 0;
  keyed($("#hand-queue"), queue, keyOf, () => "1", (e) => {
    const name = label(e, dir);
    return h("li", { class: "row-item hand-entry", "data-kind": e.kind },
      h("span", { class: "grow", text: name }),
      h("button", { class: "btn btn-small btn-primary", "data-fk": `bring-${keyOf(e)}`, "aria-label": `Bring ${name} on stage`,
        on: { click: () => attempt(conn.send("stage.bring", target(e))) } }, "Bring on stage"),
      h("button", { class: "btn btn-small btn-quiet", "aria-label": `Dismiss ${name}`,
        on: { click: () => attempt(conn.send("hand.dismiss", target(e))) } }, "Dismiss"));
  });
  if (!queue.length) $("#hand-queue").dataset.empty = "No hands raised";
  keyed($("#stage"), state.hands.stage, keyOf, () => "1", (e) => {
    const name = label(e, dir);
    return h("li", { class: "row-item" },
      h("span", { class: "grow", text: `🎙 ${name}` }),
      h("button", { class: "btn btn-small", "aria-label": `Return ${name} from stage`,
        on: { click: () => attempt(conn.send("stage.return", target(e))) } }, "Return"));
  });
}

export function wireHands(conn) {
  $("#hand-clear").addEventListener("click", () => attempt(conn.send("hand.clear")));
}
