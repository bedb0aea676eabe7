// Bank items (a poll or an embedded question with its spec, as the API and the websocket
// protocol shape them) turned into words for lists and into the launcher's form fields.

import { formatDuration } from "./dom.js";

const KIND_WORDS = { single: "single choice", multiple: "multiple choice", numeric: "number", text: "short text" };

/** The key as the launcher's "Answer key" field takes it: option numbers from 1, a number, words. */
export function keyText(spec) {
  const key = spec.correct;
  if (!key) return "";
  if (key.choices) return key.choices.map((i) => i + 1).join(",");
  if (key.number !== undefined && key.number !== null) return String(key.number);
  return key.text ?? "";
}

/** "Poll · single choice" / "Embedded question · number, at 1:35". */
export function itemKind(item, position = null) {
  const use = item.use === "poll" ? "Poll" : "Embedded question";
  const at = position === null || position === undefined ? "" : `, at ${formatDuration(position)}`;
  const anon = item.anonymous ? ", anonymous" : "";
  return `${use} · ${KIND_WORDS[item.spec.kind] ?? item.spec.kind}${anon}${at}`;
}

/** Options and key in words, for a list line under the prompt. */
export function itemDetails(spec) {
  const parts = [];
  if (spec.options.length) parts.push(spec.options.map((o, i) => `${i + 1}. ${o}`).join("  "));
  if (spec.kind === "numeric" && (spec.min_value !== null || spec.max_value !== null)) {
    parts.push(`from ${spec.min_value ?? "any"} to ${spec.max_value ?? "any"}`);
  }
  const key = keyText(spec);
  if (key) parts.push(`Key: ${key}`);
  return parts.join(" · ");
}
