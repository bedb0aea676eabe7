// The lesson report (/report/{session_id}): attendance, every activity with each student's
// answer, episodes and alerts on the lesson clock, Q&A, and a CSV download, from
// GET /api/sessions/{id}/report (rows already cut to the caller by the server). A time on the
// lesson clock is a link "#t=SECONDS" that plays the recording from that moment here; the same
// fragment works when the page is opened (/report/12#t=95).

import { api, downloadFile, loadAuth, sessionIdFromPath } from "./api.js";
import { $, formatDuration, h } from "./dom.js";
import { halt, showSignedIn } from "./page.js";
import { table } from "./setup_kit.js";

const STATE_WORDS = { confused: "Confused", disengaged: "Disengaged", pressed: "Pressed \"I'm confused\"" };
const KIND_WORDS = { poll: "Poll", question: "Question", check: "Yes/no check" };
const CHAT_TO = { everyone: "everyone", site: "their site", teacher: "the teacher (private)" };

function yesNo(value) {
  return value === true ? "yes" : value === false ? "no" : "";
}

class Report {
  constructor(sessionId, data) {
    this.sessionId = sessionId;
    this.data = data;
    this.names = new Map(data.students.map((s) => [s.user_id, s.name]));
    this.siteNames = new Map(data.sites.map((s) => [s.site_id, s.name]));
    this.player = $("#player");
    this.loading = null;
  }

  site(id) {
    return id === null || id === undefined ? "At home" : this.siteNames.get(id) ?? `Site ${id}`;
  }

  person(id) {
    return id === null ? "" : this.names.get(id) ?? `Student ${id}`;
  }

  /** A lesson-clock time: a link into the recording when there is one. */
  moment(seconds) {
    if (seconds === null || seconds === undefined) return "";
    const text = formatDuration(seconds);
    if (!this.data.recordings.length) return text;
    return h("a", { href: `#t=${Math.floor(seconds)}`, "aria-label": `Play the recording from ${text}`, text });
  }

  render() {
    const { session, attendance, activities, episodes, alerts, qna } = this.data;
    $("#title").textContent = `Report: ${session.title}`;
    document.title = `${session.title} · Lesson report · HyFlex Live`;
    $("#summary-h").textContent = session.title;
    const status = $("#session-status");
    status.hidden = false;
    status.textContent = session.ended ? "ended" : "in progress";
    status.className = `chip chip-${session.ended ? "ended" : "live"}`;
    $("#summary").textContent = `${session.ended ? "Lasted" : "Running for"} ${formatDuration(session.seconds)}. ` +
      `${attendance.filter((r) => r.joins > 0).length} of ${attendance.length} students attended; ` +
      `${activities.length} ${activities.length === 1 ? "activity" : "activities"}.`;
    const csv = $("#csv-link");
    csv.href = this.data.csv_url;
    csv.hidden = false;
    csv.addEventListener("click", (ev) => {
      ev.preventDefault();
      this.download().catch((err) => { $("#summary").textContent = `The CSV could not be loaded (${err.message}).`; });
    });
    if (this.data.course_report_url) {
      const course = $("#course-link");
      course.href = this.data.course_report_url;
      course.hidden = false;
    }
    this.renderAttendance(attendance);
    this.renderActivities(activities);
    $("#episodes").replaceChildren(table("Confusion and disengagement episodes (lesson clock)",
      ["Student", "Site", "State", "From", "To", "Why"],
      episodes.map((e) => [this.person(e.user_id), this.site(e.site_id), STATE_WORDS[e.state] ?? e.state,
        this.moment(e.start_s), formatDuration(e.end_s), e.reasons.join("; ")]),
      "No confusion or disengagement episodes."));
    $("#alerts").replaceChildren(table("Alerts (lesson clock)", ["At", "Site", "Alert", "Why"],
      alerts.map((a) => [this.moment(a.at_s), this.site(a.site_id), a.value, a.text]),
      this.data.scope.kind === "student" ? "" : "No alerts."));
    $("#qna").replaceChildren(table("Questions asked in Q&A", ["Asked at", "Question", "Asked by", "Votes", "Answered", "Hidden"],
      qna.map((q) => [this.moment(q.at_s), q.text, q.user_id === null ? "" : this.person(q.user_id),
        String(q.votes), yesNo(q.answered), yesNo(q.hidden)]),
      "No questions in Q&A."));
    $("#chat").replaceChildren(table("Chat messages (lesson clock)", ["At", "From", "To", "Message", "Deleted"],
      (this.data.chat ?? []).map((m) => [this.moment(m.at_s), m.name || this.person(m.user_id), CHAT_TO[m.to] ?? m.to,
        m.text, yesNo(m.deleted)]),
      "No chat messages."));
    this.renderRecording();
  }

  renderAttendance(rows) {
    $("#attendance").replaceChildren(table("Attendance of students (joins and leaves on the lesson clock)",
      ["Student", "Site", "First joined", "Last left", "Times joined", "Minutes present", "Connected"],
      rows.map((r) => [r.name, this.site(r.site_id),
        r.first_join_s === null ? "never" : formatDuration(r.first_join_s),
        r.last_leave_s === null ? "" : r.connected_at_end ? "at the end" : formatDuration(r.last_leave_s),
        String(r.joins), String(r.minutes),
        r.intervals.map(([a, b]) => `${formatDuration(a)}–${formatDuration(b)}`).join(", ")]),
      "No students."));
  }

  renderActivities(activities) {
    const blocks = activities.map((a) => {
      const t = a.totals;
      const counts = [`${t.answered} answered`, t.correct === null ? null : `${t.correct} correct`,
        t.catch_up ? `${t.catch_up} in catch-up` : null, t.yes === undefined ? null : `${t.yes} yes`].filter(Boolean).join(", ");
      const caption = `${KIND_WORDS[a.kind]} ${a.activity_id} at ${formatDuration(a.at_s ?? 0)}: ${a.prompt} (${counts})`;
      const body = a.anonymous && !a.answers.length && this.data.scope.kind !== "student"
        ? h("p", { class: "muted", text: `${caption}. Anonymous: who answered what is not shown.` })
        : table(caption, ["Student", "Site", "Answer", "Correct", "Seconds to answer", "When", "Changed"],
          a.answers.map((x) => [this.person(x.user_id), this.site(x.site_id), x.answer, yesNo(x.correct),
            x.seconds === null ? "" : x.seconds.toFixed(1), x.catch_up ? "catch-up" : "live",
            x.changes ? `${x.changes}×` : ""]),
          `${caption}: no answers.`);
      return h("div", { class: "report-activity", "data-key": a.key },
        h("p", { class: "small" }, "Asked at ", this.moment(a.at_s)), body);
    });
    $("#activities").replaceChildren(...(blocks.length ? blocks : [h("p", { class: "muted", text: "No activities." })]));
  }

  renderRecording() {
    const status = $("#rec-status");
    if (!this.data.recordings.length) {
      status.textContent = "There is no recording of this lesson.";
      return;
    }
    status.replaceChildren("A recording exists. Times in this report are links into it. ",
      h("button", { class: "btn btn-small", type: "button", on: { click: () => this.seek(0) } }, "Play the recording"), " ",
      h("button", { class: "btn btn-small btn-quiet", type: "button", id: "captions-vtt",
        on: { click: () => downloadFile(`/api/sessions/${this.data.session.session_id}/captions.vtt`, "captions.vtt")
          .catch((err) => { status.textContent = `The captions could not be loaded (${err.message}).`; }) } },
      "Captions (WebVTT)"));
  }

  /** Fetch the newest recording with the bearer token (once), then play from `seconds`. */
  async seek(seconds) {
    if (!this.data.recordings.length) return;
    if (this.loading === null) {
      const item = this.data.recordings[this.data.recordings.length - 1];
      this.loading = fetch(item.url, { headers: { Authorization: `Bearer ${loadAuth()?.token}` } })
        .then((r) => { if (!r.ok) throw new Error(`HTTP ${r.status}`); return r.blob(); })
        .then((blob) => { this.player.src = URL.createObjectURL(blob); this.player.hidden = false; });
    }
    try {
      await this.loading;
    } catch (err) {
      this.loading = null;
      $("#rec-status").textContent = `The recording could not be loaded (${err.message}).`;
      return;
    }
    this.player.currentTime = seconds;
    this.player.dataset.seekedTo = String(seconds);
    $("#rec-status").textContent = `Playing from ${formatDuration(seconds)}.`;
    this.player.play().catch(() => {});
    this.player.focus();
  }

  download() {
    return downloadFile(this.data.csv_url, `lesson-${this.sessionId}-report.csv`);
  }
}

function fragmentTime() {
  const match = /^#t=(\d+(?:\.\d+)?)$/.exec(location.hash);
  return match ? Number(match[1]) : null;
}

async function main() {
  const sessionId = sessionIdFromPath();
  const auth = loadAuth();
  const signIn = { href: "/", text: "Sign in" };
  if (sessionId === null || auth === null) return halt("You are not signed in.", signIn);
  showSignedIn(auth);
  let data;
  try {
    data = await api(`/api/sessions/${sessionId}/report`);
  } catch (err) {
    return halt(err.status === 404 ? "There is no such lesson for you." : `The report could not be loaded (${err.message}).`, signIn);
  }
  const report = new Report(sessionId, data);
  report.render();
  window.__hyflex = { report };
  const follow = () => {
    const t = fragmentTime();
    if (t !== null) report.seek(t);
  };
  window.addEventListener("hashchange", follow);
  follow();
}

main();
