// The teacher console: launcher, live results by site, hands and stage, Q&A, attendance, and
// the laid-out places for the video grid and the per-site pulse / alert tray.

import { $, h, keyed } from "./dom.js";
import { boot } from "./page.js";
import { siteKey } from "./live_state.js";
import { renderHands, wireHands } from "./widgets/hands.js";
import { renderPrepared, wireBankPicker, wireLauncher } from "./widgets/launcher.js";
import { Directory } from "./widgets/names.js";
import { renderQna } from "./widgets/qna.js";
import { ResultsColumn } from "./widgets/results_column.js";
import { attempt, toast } from "./widgets/status.js";
import { EngagementModel, confusedNames, confusedVersion, pulseBody, pulseColour, renderAlerts } from "./engagement_view.js";
import { VideoGrid } from "./teacher_media.js";
import { SlidesControl } from "./slides_teacher.js";
import { ChatPanel } from "./chat_panel.js";
import { ParticipantsPanel } from "./participants_panel.js";
import { wireRecording } from "./recording_view.js";
import { CaptionsPanel } from "./captions_panel.js";

function pulseTile(id, state, dir, eng, conn) {
  const key = siteKey(id);
  const pulse = eng.pulses.get(key);
  return h("article", { class: "pulse-tile", "data-site": key, "data-pulse": pulseColour(pulse), "data-level": eng.ended ? "ended" : pulse?.level ?? "none" },
    h("h3", { text: dir.site(id) }),
    h("p", { class: "present" }, h("b", { text: String(state.presentBySite.get(key) ?? 0) }), ` of ${dir.enrolledAt(id)} present`),
    pulseBody(pulse, { ended: eng.ended }),
    confusedNames(eng, key, (uid) => dir.person(uid), conn));
}

function renderAttendance(state, dir, eng, conn) {
  const enrolled = dir.enrolments.length;
  $("#attendance").textContent = `${state.presentStudents} of ${enrolled} students present`;
  const sites = dir.siteIds().map((id) => ({ id, key: siteKey(id) }));
  keyed($("#pulse"), sites, (site) => site.key,
    (site) => JSON.stringify([state.presentBySite.get(site.key) ?? 0, eng.pulses.get(site.key) ?? null,
      confusedVersion(eng, site.key), eng.ended]),
    (site) => pulseTile(site.id, state, dir, eng, conn));
}

function renderLifecycle(state, conn) {
  $("#session-status").textContent = state.status;
  $("#session-status").className = `chip chip-${state.status}`;
  const button = $("#lifecycle");
  button.hidden = state.status === "ended";
  const report = $("#report-link"); // after the lesson: its report
  report.hidden = state.status !== "ended";
  report.href = location.pathname.replace("/teacher/", "/report/");
  button.textContent = state.status === "scheduled" ? "Start session" : "End session";
  button.onclick = () => {
    if (state.status === "scheduled") attempt(conn.send("session.start"));
    else if (confirm("End the session for everyone?")) attempt(conn.send("session.end"));
  };
}

function render(state, conn, dir, eng, column) {
  if (state.status === "ended") eng.end();
  const live = state.status !== "ended";
  column.render(state);
  renderPrepared(state, conn);
  renderHands(state, conn, dir);
  renderQna($("#qna-list"), state, conn, {
    asker: (i) => `${dir.person(i.user_id)} · ${dir.site(i.site_id)}`,
    canVote: false, canAnswer: live, canHide: () => live,
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
  const courseId = dir.session.course_id;
  Object.assign($("#bank-link"), { href: `/courses/${courseId}/bank?lesson=${ctx.sessionId}`, hidden: false });
  Object.assign($("#links-link"), { href: `/sessions/${ctx.sessionId}/links`, hidden: false });
  wireBankPicker(ctx.sessionId, courseId, (msg) => toast(msg, "error"));
  wireHands(ctx.conn);
  new ChatPanel($("#chat"), ctx, { channels: ["everyone"], moderate: true, name: (uid) => dir.person(uid) });
  new ParticipantsPanel($("#people"), ctx, dir, { act: true });
  new CaptionsPanel($("#captions"), ctx, { download: true });
  wireRecording(ctx, { toggle: $("#rec-toggle") });
  const eng = new EngagementModel().attach(ctx.conn);
  const column = new ResultsColumn(ctx.conn, dir, ctx.sessionId);
  const redraw = () => render(ctx.state, ctx.conn, dir, eng, column);
  ctx.state.subscribe(redraw);
  eng.subscribe(() => {
    renderAttendance(ctx.state, dir, eng, ctx.conn);
    renderAlerts($("#alert-tray"), eng, ctx.conn, (id) => dir.site(id));
  });
  ctx.state.changed();
  const slides = new SlidesControl(ctx);
  window.__hyflex.slides = slides;
  slides.load().catch((err) => toast(`Slides: ${err.message ?? err}`, "error"));
  const grid = new VideoGrid(ctx, dir);
  ctx.state.subscribe((state) => {
    if (state.status === "ended") grid.end();
  });
  window.__hyflex.engagement = eng;
  window.__hyflex.media = grid.media;
  window.__hyflex.grid = grid;
  grid.start();
}
