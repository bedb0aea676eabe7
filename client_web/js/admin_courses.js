// The admin page's course half: courses offered at sites, enrolments (at a site or remote),
// the roster import (a check first: every bad row with its line and reason; then the import)
// and the lessons of a course.

import { api } from "./api.js";
import { $, h } from "./dom.js";
import { lessonsTable, scheduleForm } from "./lessons_panel.js";
import { bindForm, options, say, showProblem, table } from "./setup_kit.js";

function courseItems(courses) {
  return courses.map((c) => ({ value: c.id, label: `${c.title} (${c.code})` }));
}

async function renderEnrolments(state) {
  const course = state.courses.find((c) => c.id === Number($("#enrol-course").value));
  const box = $("#enrolments");
  if (!course) {
    box.replaceChildren(h("p", { class: "muted", text: "Add a course first." }));
    return;
  }
  const enrolments = await api(`/api/courses/${course.id}/enrolments`);
  const people = new Map(state.users.map((u) => [u.id, u]));
  box.replaceChildren(table(`Students of ${course.title}`, ["Student", "E-mail", "Attends from"],
    enrolments.map((e) => [people.get(e.student_id)?.display_name ?? `Student ${e.student_id}`,
      people.get(e.student_id)?.email ?? "", state.dir.siteName(e.site_id)]),
    "No students enrolled yet: enrol them below or import a roster."));
  const enrolled = new Set(enrolments.map((e) => e.student_id));
  options($("#enrol-student"), state.users.filter((u) => u.role === "student" && !enrolled.has(u.id))
    .map((u) => ({ value: u.id, label: `${u.display_name} (${u.email})` })), "Choose a student");
  options($("#enrol-site"), [{ value: "", label: "Remote (at home)" },
    ...course.site_ids.map((id) => ({ value: id, label: state.dir.siteName(id) }))]);
}

async function renderLessons(state) {
  const course = state.courses.find((c) => c.id === Number($("#lessons-course").value));
  const box = $("#lessons");
  if (!course) {
    box.replaceChildren(h("p", { class: "muted", text: "Add a course first." }));
    return;
  }
  const lessons = (await api("/api/sessions")).filter((l) => l.course_id === course.id);
  const redraw = () => renderLessons(state);
  box.replaceChildren(lessonsTable(course, lessons, state.dir, { reload: redraw }),
    h("h3", { text: "Schedule a lesson" }), scheduleForm(course, state.dir.zonesOf(course), redraw));
}

function renderCourses(state) {
  const { courses, users, sites, dir } = state;
  const names = new Map(users.map((u) => [u.id, u.display_name]));
  $("#course-list").replaceChildren(table("Courses", ["Course", "Code", "Teacher", "Offered at"],
    courses.map((c) => [c.title, c.code, names.get(c.teacher_id) ?? `User ${c.teacher_id}`,
      c.site_ids.map((id) => dir.siteName(id)).join(", ") || "no site yet"]),
    "No courses yet: add the first below."));
  options($("#course-teacher"), users.filter((u) => u.role === "teacher")
    .map((u) => ({ value: u.id, label: u.display_name })), "Choose a teacher");
  $("#course-sites").replaceChildren(h("legend", { text: "Offered at" }), ...sites.map((s) => h("label", { class: "check" },
    h("input", { type: "checkbox", name: "site_ids", value: String(s.id) }), s.name)));
  for (const id of ["#offer-course", "#enrol-course", "#lessons-course"]) options($(id), courseItems(courses));
  options($("#offer-site"), sites.map((s) => ({ value: s.id, label: s.name })), "Choose a site");
  return Promise.all([renderEnrolments(state), renderLessons(state)]);
}

function rosterReport(report, checking) {
  if (report.errors.length) {
    return [
      h("p", { class: "error", role: "alert", text:
        `${report.errors.length} ${report.errors.length === 1 ? "row has a problem" : "rows have problems"}; nothing was imported. Fix the file and check it again.` }),
      table("Rows with problems", ["Line", "Reason"], report.errors.map((e) => [String(e.line), e.reason]), ""),
    ];
  }
  if (checking) return [h("p", { role: "status", text: `All ${report.rows} rows are good. Press Import to import them.` })];
  return [h("p", { role: "status", text:
    `Imported ${report.rows} rows: ${report.users_created} people added, ${report.users_updated} updated, ${report.enrolments} enrolments.` })];
}

function wireRoster(reload) {
  const form = $("#roster-form");
  const importButton = $("#roster-import");
  const result = $("#roster-result");
  const block = () => { importButton.dataset.ready = "0"; importButton.disabled = true; };
  $("#roster-file").addEventListener("change", () => { block(); result.replaceChildren(); });
  bindForm(form, async (data, submitter) => {
    const checking = submitter?.value !== "import";
    block();
    const upload = new FormData();
    upload.append("file", data.get("file"));
    const report = await api(`/api/roster/import?dry_run=${checking}`, { method: "POST", body: upload });
    return { report, checking };
  }, async ({ report, checking }) => {
    result.replaceChildren(...rosterReport(report, checking));
    if (checking && !report.errors.length) importButton.dataset.ready = "1";
    if (!checking && report.imported) {
      say(form, "Roster imported.");
      await reload();
    }
  });
}

/** Wire the forms; `state.renderCourses` is called by the page's reload. */
export function wireCourses(state, reload) {
  state.renderCourses = () => renderCourses(state);
  const course = $("#course-form");
  bindForm(course, (data) => api("/api/courses", {
    method: "POST",
    body: {
      code: data.get("code"), title: data.get("title"), teacher_id: Number(data.get("teacher_id")),
      site_ids: data.getAll("site_ids").map(Number),
    },
  }), async (made) => { course.reset(); say(course, `Added ${made.title}.`); await reload(); });
  const offer = $("#offer-form");
  bindForm(offer, (data) => api(`/api/courses/${Number(data.get("course_id"))}/sites`, {
    method: "POST", body: { site_id: Number(data.get("site_id")) },
  }), async (made) => { say(offer, `${made.title} is offered at ${made.site_ids.length} sites.`); await reload(); });
  const enrol = $("#enrol-form");
  bindForm(enrol, (data) => api(`/api/courses/${Number($("#enrol-course").value)}/enrolments`, {
    method: "POST",
    body: { student_id: Number(data.get("student_id")), site_id: data.get("site_id") ? Number(data.get("site_id")) : null },
  }), async () => { say(enrol, "Enrolled."); await renderEnrolments(state); });
  $("#enrol-course").addEventListener("change", () => renderEnrolments(state).catch((err) => showProblem(enrol, err)));
  $("#lessons-course").addEventListener("change", () => renderLessons(state).catch((err) => {
    $("#lessons").replaceChildren(h("p", { class: "error", role: "alert", text: err.message }));
  }));
  wireRoster(reload);
}
