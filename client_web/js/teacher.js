// The teacher console: launcher, live results by site, hands and stage, Q&A, attendance, and
// the laid-out places for the video grid and the per-site pulse / alert tray.

import { $, h, keyed } from "./dom.js";
import { boot } from "./page.js";
import { siteKey } from "./live_state.js";
import { renderHands, wireHands } from "./widgets/hands.js";
import { renderPrepared, wireLauncher } from "./widgets/launcher.js";
import { Directory } from "./widgets/names.js";
import { renderQna } from "./widgets/qna.js";
import { resultsChart } from "./widgets/results.js";
import { attempt, toast } from "./widgets/status.js";
import { EngagementModel, confusedNames, confusedVersion, pulseBody, pulseColour, renderAlerts } from "./engagement_view.js";
import { VideoGrid } from "./teacher_media.js";
import { timer } from "./widgets/timer.js";

function resultCards(state) {
  const cards = [];
  for (const p of state.polls.values()) cards.push({ key: `p${p.poll_id}`, type: "poll", item: p, t: p.opened_at ?? 0 });
  for (const q of state.questions.values()) {
    if (q.status !== "prepared") cards.push({ key: `q${q.question_id}`, type: "question", item: q, t: q.shown_at ?? 0 });
  }
  for (const c of state.checks.values()) cards.push({ key: `c${c.check_id}`, type: "check", item: c, t: c.opened_at ?? 0 });
  const rank = (x) => (x.item.status === "open" ? 0 : 1);
  return cards.sort((a, b) => rank(a) - rank(b) || b.t - a.t).slice(0, 10);
}

function controls(card, conn) {
  const { type, item } = card;
  const out = [];
  if (type === "poll" && item.status === "open") {
    out.push(h("button", { class: "btn btn-small", "data-fk": `close-${card.key}`, on: { click: () => attempt(conn.send("poll.close", { poll_id: item.poll_id })) } }, "Close"));
  }
  if (type === "poll" && item.status === "closed") {
    out.push(h("button", { class: "btn btn-small btn-primary", "data-fk": `reveal-${card.key}`, on: { click: () => attempt(conn.send("poll.reveal", { poll_id: item.poll_id })) } }, "Reveal to class"));
  }
  if (type === "question" && item.status === "open") {
    out.push(h("button", { class: "btn btn-small", "data-fk": `close-${card.key}`, on: { click: () => attempt(conn.send("question.close", { question_id: item.question_id })) } }, "Close"));
  }
  if (type === "check" && item.status === "open") {
    out.push(h("button", { class: "btn btn-small", "data-fk": `close-${card.key}`, on: { click: () => attempt(conn.send("check.close", { check_id: item.check_id })) } }, "Close"));
  }
  return out;
}

function resultCard(card, conn, dir) {
  const { type, item } = card;
  const tag = { poll: item.anonymous ? "Anonymous poll" : "Poll", question: "Question", check: "Yes/no check" }[type];
  const status = { open: "Open", closed: "Closed", revealed: "Revealed" }[item.status] ?? item.status;
  return h("article", { class: `card result-card is-${item.status}`, "data-ref": card.key, "aria-labelledby": `${card.key}-h` },
    h("header", { class: "card-head" },
      h("span", { class: "tag", text: tag }),
      h("span", { class: `chip chip-${item.status}`, text: status }),
      timer(item),
      h("span", { class: "spacer" }),
      controls(card, conn)),
    h("h3", { id: `${card.key}-h`, class: "prompt", text: item.prompt }),
    resultsChart(item, { siteIds: dir.siteIds(), siteName: (id) => dir.site(id), enrolledAt: (id) => dir.enrolledAt(id), showTotal: true }),
  );
}

function pulseTile(id, state, dir, eng, conn) {
  const key = siteKey(id);
  const pulse = eng.pulses.get(key);
  return h("article", { class: "pulse-tile", "data-site": key, "data-pulse": pulseColour(pulse), "data-level": pulse?.level ?? "none" },
    h("h3", { text: dir.site(id) }),
    h("p", { class: "present" }, h("b", { text: String(state.presentBySite.get(key) ?? 0) }), ` of ${dir.enrolledAt(id)} present`),
    pulseBody(pulse),
    confusedNames(eng, key, (uid) => dir.person(uid), conn));
}

function renderAttendance(state, dir, eng, conn) {
  const enrolled = dir.enrolments.length;
  $("#attendance").textContent = `${state.presentStudents} of ${enrolled} students present`;
  const sites = dir.siteIds().map((id) => ({ id, key: siteKey(id) }));
  keyed($("#pulse"), sites, (site) => site.key,
    (site) => JSON.stringify([state.presentBySite.get(site.key) ?? 0, eng.pulses.get(site.key) ?? null,
      confusedVersion(eng, site.key)]),
    (site) => pulseTile(site.id, state, dir, eng, conn));
}

function renderLifecycle(state, conn) {
  $("#session-status").textContent = state.status;
  $("#session-status").className = `chip chip-${state.status}`;
  const button = $("#lifecycle");
  button.hidden = state.status === "ended";
  button.textContent = state.status === "scheduled" ? "Start session" : "End session";
  button.onclick = () => {
    if (state.status === "scheduled") attempt(conn.send("session.start"));
    else if (confirm("End the session for everyone?")) attempt(conn.send("session.end"));
  };
}

function render(state, conn, dir, eng) {
  const cards = resultCards(state);
  $("#results-empty").hidden = cards.length > 0;
  keyed($("#results"), cards, (c) => c.key,
    (c) => JSON.stringify([c.item.status, c.item.correct ?? null, [...(c.item.results?.sites ?? new Map())]]),
    (c) => resultCard(c, conn, dir));
  renderPrepared(state, conn);
  renderHands(state, conn, dir);
  renderQna($("#qna-list"), state, conn, {
    asker: (i) => `${dir.person(i.user_id)} · ${dir.site(i.site_id)}`,
    canVote: false, canAnswer: true, canHide: () => true,
  });
  $("#qna-count").textContent = String(state.qna.size);
  renderAttendance(state, dir, eng, conn);
  renderLifecycle(state, conn);
  $("#reaction-counts").textContent = Object.entries(state.reactions).map(([k, n]) => `${k.replace("_", " ")} ${n}`).join(" · ") || "None yet";
}

const ctx = await boot({ roles: ["teacher", "admin"], signIn: { href: "/", text: "Sign in" } });
if (ctx) {
  const dir = await Directory.load(ctx.sessionId);
  $("#title").textContent = dir.session.title;
  wireLauncher(ctx.conn, (msg) => toast(msg, "error"));
  wireHands(ctx.conn);
  const eng = new EngagementModel().attach(ctx.conn);
  const redraw = () => render(ctx.state, ctx.conn, dir, eng);
  ctx.state.subscribe(redraw);
  eng.subscribe(() => {
    renderAttendance(ctx.state, dir, eng, ctx.conn);
    renderAlerts($("#alert-tray"), eng, ctx.conn, (id) => dir.site(id));
  });
  ctx.state.changed();
  const grid = new VideoGrid(ctx, dir);
  window.__hyflex.engagement = eng;
  window.__hyflex.media = grid.media;
  window.__hyflex.grid = grid;
  grid.start();
}
