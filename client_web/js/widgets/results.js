// Live results as CSS bar charts: a total block and one block per site (small multiples).

import { h } from "../dom.js";
import { combine, siteKey } from "../live_state.js";

function isCorrectOption(item, index) {
  const key = item.correct;
  if (key === null || key === undefined) return false;
  return Array.isArray(key) ? key.includes(index) : key === index;
}

function bar(label, count, outOf, { correct = false, fk } = {}) {
  const share = outOf > 0 ? Math.min(1, count / outOf) : 0;
  return h("div", { class: `bar-row${correct ? " is-correct" : ""}` },
    h("span", { class: "bar-label", text: correct ? `✓ ${label}` : label, title: label }),
    h("span", { class: "bar-track", role: "presentation" },
      h("span", { class: "bar-fill", style: { width: `${Math.round(share * 100)}%` } })),
    h("span", { class: "bar-count", text: String(count), "data-fk": fk }),
  );
}

function number(x) {
  return typeof x === "number" ? (Math.round(x * 100) / 100).toString() : "—";
}

/** The body of one block: bars for choices and yes/no, figures for numbers, top texts. */
export function summaryBody(item, row) {
  const answered = row?.answered ?? (row ? (row.yes ?? 0) + (row.no ?? 0) : 0);
  if (row && row.yes !== undefined) {
    return [bar("Yes", row.yes, answered), bar("No", row.no, answered)];
  }
  if (item.kind === "single" || item.kind === "multiple") {
    const counts = row?.counts ?? item.options.map(() => 0);
    return item.options.map((opt, i) => bar(opt, counts[i] ?? 0, answered, { correct: isCorrectOption(item, i) }));
  }
  if (item.kind === "numeric") {
    return h("dl", { class: "figures" },
      ["mean", "median", "min", "max"].map((k) => [h("dt", { text: k }), h("dd", { text: number(row?.[k]) })]));
  }
  const texts = (row?.texts ?? []).slice(0, 5);
  if (!texts.length) return h("p", { class: "muted", text: "No answers yet" });
  return h("ol", { class: "texts" }, texts.map(([text, n]) => h("li", {}, h("span", { text }), h("b", { text: ` ×${n}` }))));
}

/**
 * @param item  a poll / question / check from LiveState (with .results {sites: Map, total})
 * @param ctx   {siteIds: [...], siteName(id), enrolledAt(id) | null, showTotal}
 */
export function resultsChart(item, ctx) {
  const rows = item.results?.sites ?? new Map();
  const blocks = [];
  if (ctx.showTotal) {
    const total = item.results?.total ?? combine(rows.values());
    blocks.push(block("All sites", "total", total, item, null));
  }
  const ids = [...ctx.siteIds];
  for (const key of rows.keys()) {
    if (!ids.some((id) => siteKey(id) === key)) ids.push(key === "home" ? null : Number(key));
  }
  for (const id of ids) {
    const row = rows.get(siteKey(id));
    blocks.push(block(ctx.siteName(id), siteKey(id), row, item, ctx.enrolledAt ? ctx.enrolledAt(id) : null));
  }
  return h("div", { class: "chart", role: "group", "aria-label": "Results by site" }, blocks);
}

function block(title, key, row, item, enrolled) {
  const answered = row ? (row.answered ?? (row.yes ?? 0) + (row.no ?? 0)) : 0;
  const of = enrolled ? ` of ${enrolled}` : "";
  const correct = typeof row?.correct === "number" ? ` · ${row.correct} correct` : "";
  return h("section", { class: `chart-block${key === "total" ? " is-total" : ""}`, "data-site": key, "data-answered": answered },
    h("h4", {}, h("span", { text: title }), h("small", { text: `${answered}${of} answered${correct}` })),
    summaryBody(item, row),
  );
}
