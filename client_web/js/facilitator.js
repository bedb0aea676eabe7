// A facilitator's view of their own site: roster with presence, the site's answers, a hand
// for the room, Q&A moderation for questions from the site.

import { $, h, iconText, keyed } from "./dom.js";
import { siteKey } from "./live_state.js";
import { boot } from "./page.js";
import { PENDING_FAMILIES } from "./protocol.js";
import { Directory } from "./widgets/names.js";
import { ChatPanel } from "./chat_panel.js";
import { ParticipantsPanel } from "./participants_panel.js";
import { wireModeration } from "./moderation_notice.js";
import { wireRecording } from "./recording_view.js";
import { CaptionsPanel } from "./captions_panel.js";
import { renderQna } from "./widgets/qna.js";
import { resultsChart } from "./widgets/results.js";
import { attempt } from "./widgets/status.js";
import { EngagementModel, confusedNames, confusedVersion, pulseBody, pulseColour, renderAlerts } from "./engagement_view.js";
import { LessonPlayer } from "./lesson_media.js";
import { SlideImages, SlidePanel } from "./slides_view.js";
import { timer } from "./widgets/timer.js";

function roster(state, dir, siteId) {
  const students = dir.enrolments.filter((e) => siteKey(e.site_id) === siteKey(siteId))
    .map((e) => ({ id: e.student_id, name: dir.person(e.student_id), present: state.isPresent(e.student_id) }))
    .sort((a, b) => b.present - a.present || a.name.localeCompare(b.name));
  $("#roster-count").textContent = `${students.filter((s) => s.present).length} of ${students.length} connected`;
  keyed($("#roster"), students, (s) => s.id, (s) => String(s.present), (s) =>
    h("li", { class: `roster-row${s.present ? " is-present" : ""}`, "data-user": s.id },
      h("span", { class: "dot", "aria-hidden": "true" }),
      h("span", { class: "grow", text: s.name }),
      h("span", { class: "muted small", text: s.present ? "connected" : "not connected" })));
}

const STATUS = { open: "Open", closed: "Closed", revealed: "Revealed" }; // as the teacher's

function results(state, conn, dir, siteId) {
  const cards = [];
  for (const p of state.polls.values()) cards.push({ key: `p${p.poll_id}`, tag: "Poll", item: p, t: p.opened_at ?? 0 });
  for (const q of state.questions.values()) cards.push({ key: `q${q.question_id}`, tag: "Question", item: q, t: q.shown_at ?? 0 });
  for (const c of state.checks.values()) cards.push({ key: `c${c.check_id}`, tag: "Yes/no check", item: c, t: c.opened_at ?? 0 });
  cards.sort((a, b) => (a.item.status === "open" ? 0 : 1) - (b.item.status === "open" ? 0 : 1) || b.t - a.t);
  $("#results-empty").hidden = cards.length > 0;
  keyed($("#results"), cards.slice(0, 8), (c) => c.key,
    (c) => JSON.stringify([c.item.status, [...(c.item.results?.sites ?? new Map())]]),
    (c) => h("article", { class: `card result-card is-${c.item.status}`, "data-ref": c.key },
      h("header", { class: "card-head" }, h("span", { class: "tag", text: c.tag }),
        h("span", { class: `chip chip-${c.item.status}`, text: STATUS[c.item.status] ?? c.item.status }), timer(c.item)),
      h("h3", { class: "prompt", text: c.item.prompt }),
      resultsChart(c.item, { siteIds: [siteId], siteName: (id) => dir.site(id), enrolledAt: (id) => dir.enrolledAt(id), showTotal: false })));
}

function render(state, conn, dir) {
  const siteId = state.me.site_id;
  roster(state, dir, siteId);
  results(state, conn, dir, siteId);
  const raised = state.handRaised("site", siteId);
  const onStage = state.hands.stage.some((e) => e.kind === "site" && e.site_id === siteId);
  const hand = $("#site-hand");
  hand.classList.toggle("is-on", raised);
  hand.replaceChildren(...iconText("✋", raised ? "Lower the room's hand" : "Raise hand for the room"));
  hand.disabled = onStage || state.status !== "live";
  const report = $("#report-link"); // after the lesson: its report (this site's rows)
  report.hidden = state.status !== "ended";
  report.href = location.pathname.replace("/facilitator/", "/report/");
  $("#stage-note").textContent = onStage ? "Your room is on stage." : raised ? "Your room's hand is up." : "";
  renderQna($("#qna-list"), state, conn, {
    asker: (i) => (siteKey(i.site_id) === siteKey(siteId) ? dir.person(i.user_id) : "Another site"),
    canVote: false, canAnswer: false, canHide: (i) => siteKey(i.site_id) === siteKey(siteId),
  });
}

function renderPulse(eng, dir, siteId, conn) {
  const key = siteKey(siteId);
  const pulse = eng.pulses.get(key);
  keyed($("#pulse"), [key], (k) => k, () => JSON.stringify([pulse ?? null, confusedVersion(eng, key), eng.ended]), () =>
    h("article", { class: "pulse-tile", "data-site": key, "data-pulse": pulseColour(pulse), "data-level": eng.ended ? "ended" : pulse?.level ?? "none" },
      h("h3", { text: dir.site(siteId) }), pulseBody(pulse, { ended: eng.ended }), confusedNames(eng, key, (uid) => dir.person(uid), conn)));
  // the help toggle follows the server: on while the site's pulse says help was asked for
  const help = $("#site-help");
  const asked = !eng.ended && Boolean(pulse?.reasons?.some((r) => r.includes("asked for help")));
  if (pulse || eng.ended) setHelp(help, asked);
  help.disabled = eng.ended;
}

function setHelp(button, on) {
  button.setAttribute("aria-pressed", String(on));
  button.classList.toggle("is-on", on);
  button.replaceChildren(...iconText("🆘", on ? "Help requested (cancel)" : "Site needs help"));
}

const ctx = await boot({ roles: ["facilitator"], signIn: { href: "/", text: "Sign in" } });
if (ctx) {
  const { conn, state } = ctx;
  Object.assign($("#links-link"), { href: `/sessions/${ctx.sessionId}/links`, hidden: false });
  const dir = await Directory.load(ctx.sessionId);
  new ChatPanel($("#chat"), ctx, { channels: ["everyone", "site"], moderate: true, name: (uid) => dir.person(uid) });
  const siteId = ctx.auth.user.home_site_id;
  new ParticipantsPanel($("#people"), ctx, dir, { siteId });
  wireModeration(ctx, () => window.__hyflex.media);
  new CaptionsPanel($("#captions"), ctx, { download: true });
  wireRecording(ctx);
  $("#title").textContent = dir.session.title;
  $("#site-name").textContent = dir.site(siteId);
  $("#site-hand").addEventListener("click", () => {
    const raised = state.handRaised("site", state.me.site_id);
    attempt(conn.send(raised ? "hand.lower_site" : "hand.raise_site"));
  });
  const help = $("#site-help");
  help.addEventListener("click", async () => {
    const on = help.getAttribute("aria-pressed") !== "true";
    const done = await attempt(conn.send(PENDING_FAMILIES.siteHelp, { active: on }),
      on ? "The teacher has been told your site needs help" : "Help request withdrawn");
    if (done !== undefined) setHelp(help, on);
  });
  state.subscribe((s) => render(s, conn, dir));
  state.changed();
  const eng = new EngagementModel().attach(conn);
  eng.subscribe(() => {
    renderPulse(eng, dir, siteId, conn);
    // their own site's request for help is the teacher's to acknowledge
    renderAlerts($("#alert-tray"), eng, conn, (id) => dir.site(id), {
      canHandle: (a) => !(a.state === "help" && siteKey(a.site_id) === siteKey(siteId)),
    });
  });
  state.subscribe((s) => {
    if (s.status === "ended") eng.end();
  });
  renderPulse(eng, dir, siteId, conn);
  const player = new LessonPlayer(ctx, $("#lesson"), {
    stageName: (pid) => (pid.startsWith("site-") ? dir.site(Number(pid.slice(5))) : dir.person(Number(pid.slice(5)))),
  });
  // the teacher's slides, full size, under the lesson video (for the room's screen)
  const slides = new SlidePanel(new SlideImages(ctx.sessionId), $("#slide-panel"));
  state.subscribe((s) => slides.show(s.status === "ended" ? null : s.slide));
  $("#slide-fullscreen").addEventListener("click", () => $("#slide-panel").requestFullscreen?.().catch(() => {}));
  window.__hyflex.slides = slides;
  window.__hyflex.engagement = eng;
  window.__hyflex.media = player.media;
  await player.media.startLocal({ preview: $("#self-view") });
  await player.media.receive({ mode: "full" });
}
