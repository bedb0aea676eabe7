// The teacher's "Live results" column: every poll, question and yes/no check of the lesson,
// newest first. Open activities and the newest one are shown in full; older ones fold into a
// one-line <details> (opened on demand); past OLDER_SHOWN folded ones a "Show older" button.
// "Hide closed" takes finished activities off the column (kept per session in this tab) until
// "Show hidden". So the column stays about one screen tall however long the lesson runs.

import { $, h, keyed } from "../dom.js";
import { resultsChart } from "./results.js";
import { attempt } from "./status.js";
import { timer } from "./timer.js";

const OLDER_SHOWN = 6;
const TAGS = { question: "Question", check: "Yes/no check" };
const STATUS = { open: "Open", closed: "Closed", revealed: "Revealed" };

/** Every activity of the session, newest first. */
export function activities(state) {
  const cards = [];
  for (const p of state.polls.values()) cards.push({ key: `p${p.poll_id}`, type: "poll", item: p, t: p.opened_at ?? 0, id: p.poll_id });
  for (const q of state.questions.values()) {
    if (q.status !== "prepared") cards.push({ key: `q${q.question_id}`, type: "question", item: q, t: q.shown_at ?? 0, id: q.question_id });
  }
  for (const c of state.checks.values()) cards.push({ key: `c${c.check_id}`, type: "check", item: c, t: c.opened_at ?? 0, id: c.check_id });
  return cards.sort((a, b) => b.t - a.t || b.id - a.id);
}

function controls(card, conn) {
  const { type, item } = card;
  const close = { poll: ["poll.close", "poll_id"], question: ["question.close", "question_id"], check: ["check.close", "check_id"] }[type];
  const out = [];
  if (item.status === "open") {
    out.push(h("button", { class: "btn btn-small", "data-fk": `close-${card.key}`,
      on: { click: () => attempt(conn.send(close[0], { [close[1]]: item[close[1]] })) } }, "Close"));
  }
  if (type === "poll" && item.status === "closed") {
    out.push(h("button", { class: "btn btn-small btn-primary", "data-fk": `reveal-${card.key}`,
      on: { click: () => attempt(conn.send("poll.reveal", { poll_id: item.poll_id })) } }, "Reveal to class"));
  }
  return out;
}

function answeredCount(item) {
  const rows = [...(item.results?.sites?.values() ?? [])];
  return item.results?.total?.answered
    ?? rows.reduce((n, r) => n + (r.answered ?? (r.yes ?? 0) + (r.no ?? 0)), 0);
}

export class ResultsColumn {
  constructor(conn, dir, sessionId) {
    this.conn = conn;
    this.dir = dir;
    this.storeKey = `hyflex.hiddenResults.${sessionId}`;
    this.hidden = new Set(JSON.parse(sessionStorage.getItem(this.storeKey) ?? "[]"));
    this.unfolded = new Set(); // older activities the teacher opened
    this.showOlder = false;
    this.last = null;
    $("#results-hide").addEventListener("click", () => {
      for (const c of activities(this.last)) if (c.item.status !== "open") this.hidden.add(c.key);
      this.save();
    });
    $("#results-show").addEventListener("click", () => {
      this.hidden.clear();
      this.save();
    });
    $("#results-more").addEventListener("click", () => {
      this.showOlder = !this.showOlder;
      this.render(this.last);
    });
  }

  save() {
    sessionStorage.setItem(this.storeKey, JSON.stringify([...this.hidden]));
    this.render(this.last);
  }

  render(state) {
    this.last = state;
    const all = activities(state);
    const newest = all[0]?.key;
    const shown = all.filter((c) => c.item.status === "open" || !this.hidden.has(c.key));
    const full = (c) => c.item.status === "open" || c.key === newest;
    const folded = shown.filter((c) => !full(c));
    const older = this.showOlder ? [] : folded.slice(OLDER_SHOWN);
    const cards = shown.filter((c) => !older.includes(c));
    $("#results-empty").hidden = all.length > 0;
    $("#results-note").hidden = folded.length === 0;
    const more = $("#results-more");
    more.hidden = folded.length <= OLDER_SHOWN;
    more.textContent = this.showOlder ? "Show fewer" : `Show ${older.length} older`;
    const hideable = all.filter((c) => c.item.status !== "open" && !this.hidden.has(c.key)).length;
    $("#results-hide").hidden = hideable === 0;
    $("#results-show").hidden = this.hidden.size === 0;
    $("#results-show").textContent = `Show hidden (${all.filter((c) => this.hidden.has(c.key)).length})`;
    keyed($("#results"), cards, (c) => c.key,
      (c) => JSON.stringify([full(c), this.unfolded.has(c.key), c.item.status, c.item.correct ?? null,
        [...(c.item.results?.sites ?? new Map())], c.item.results?.total ?? null]),
      (c) => (full(c) ? this.card(c) : this.fold(c)));
  }

  chart(item) {
    const dir = this.dir;
    return resultsChart(item, { siteIds: dir.siteIds(), siteName: (id) => dir.site(id), enrolledAt: (id) => dir.enrolledAt(id), showTotal: true });
  }

  head(card) {
    const { type, item } = card;
    const tag = type === "poll" ? (item.anonymous ? "Anonymous poll" : "Poll") : TAGS[type];
    return [h("span", { class: "tag", text: tag }), h("span", { class: `chip chip-${item.status}`, text: STATUS[item.status] ?? item.status })];
  }

  card(card) {
    const { item } = card;
    return h("article", { class: `card result-card is-${item.status}`, "data-ref": card.key, "aria-labelledby": `${card.key}-h` },
      h("header", { class: "card-head" }, this.head(card), timer(item), h("span", { class: "spacer" }), controls(card, this.conn)),
      h("h3", { id: `${card.key}-h`, class: "prompt", text: item.prompt }),
      this.chart(item));
  }

  /** An older activity on one line; its results built when opened. */
  fold(card) {
    const { item } = card;
    const open = this.unfolded.has(card.key);
    const body = h("div", { class: "fold-body" }, h("div", { class: "row" }, controls(card, this.conn)), open ? this.chart(item) : null);
    const details = h("details", { class: `card result-card is-folded is-${item.status}`, "data-ref": card.key, open },
      h("summary", { class: "fold-summary", "data-fk": `fold-${card.key}` },
        this.head(card),
        h("span", { class: "fold-prompt", text: item.prompt }),
        h("small", { class: "muted", text: `${answeredCount(item)} answered` })),
      body);
    details.addEventListener("toggle", () => {
      if (details.open) {
        this.unfolded.add(card.key);
        if (!body.querySelector(".chart")) body.append(this.chart(item));
      } else {
        this.unfolded.delete(card.key);
      }
    });
    return details;
  }
}
