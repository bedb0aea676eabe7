// /courses: a teacher's courses (an admin sees every course): lessons (schedule, start, end,
// console, report, join links) and the roster per site; teachers create their own courses.

import { api, clearAuth, loadAuth } from "./api.js";
import { $, h } from "./dom.js";
import { lessonsTable, scheduleForm } from "./lessons_panel.js";
import { bindForm, Directory, say, table } from "./setup_kit.js";

const auth = loadAuth();

function signOut() {
  clearAuth();
  location.assign("/");
}

function rosterBySite(course, enrolments, people, dir) {
  const bySite = new Map();
  for (const e of enrolments) {
    if (!bySite.has(e.site_id)) bySite.set(e.site_id, []);
    bySite.get(e.site_id).push(people.get(e.student_id) ?? { display_name: `Student ${e.student_id}`, email: "" });
  }
  if (!enrolments.length) return [h("p", { class: "muted", text: "No students enrolled yet." })];
  const sites = [...course.site_ids, ...(bySite.has(null) ? [null] : [])]; // remote ones last
  return sites.map((id) => {
    const students = (bySite.get(id) ?? []).sort((a, b) => a.display_name.localeCompare(b.display_name));
    return table(`${dir.siteName(id)}: ${students.length} ${students.length === 1 ? "student" : "students"}`,
      ["Student", "E-mail"], students.map((s) => [s.display_name, s.email]),
      `${dir.siteName(id)}: no students.`);
  });
}

async function courseCard(course, lessons, dir, people, reload) {
  const enrolments = await api(`/api/courses/${course.id}/enrolments`);
  const zones = dir.zonesOf(course);
  const offered = course.site_ids.map((id) => dir.siteName(id)).join(", ") || "no site yet";
  return h("section", { class: "card course-card", "aria-labelledby": `course-${course.id}-h`, "data-course": course.code },
    h("h2", { id: `course-${course.id}-h`, text: `${course.title} (${course.code})` }),
    h("p", { class: "muted small", text: `Offered at: ${offered}. Times in ${zones.join(", ")}.` }),
    h("p", { class: "row" },
      h("a", { class: "btn btn-small", href: `/courses/${course.id}/bank`, text: "Question bank" }),
      h("a", { class: "btn btn-small", href: `/course-report/${course.id}`, text: "Course view" })),
    h("h3", { text: "Lessons" }),
    lessonsTable(course, lessons, dir, { reload }),
    h("details", { class: "setup-details" }, h("summary", { text: "Schedule a lesson" }), scheduleForm(course, zones, reload)),
    h("h3", { text: "Students by site" }),
    h("div", { class: "table-wrap" }, rosterBySite(course, enrolments, people, dir)));
}

async function render() {
  const [schools, sites, courses, lessons, users] = await Promise.all([
    api("/api/schools"), api("/api/sites"), api("/api/courses"), api("/api/sessions"), api("/api/users"),
  ]);
  const dir = new Directory(schools, sites);
  const people = new Map(users.map((u) => [u.id, u]));
  const box = $("#courses");
  const cards = [];
  for (const course of courses) {
    cards.push(await courseCard(course, lessons.filter((l) => l.course_id === course.id), dir, people, render));
  }
  box.replaceChildren(...(cards.length ? cards
    : [h("p", { class: "muted", text: "You have no courses yet." })]));
  const checks = $("#course-sites");
  checks.replaceChildren(h("legend", { text: "Offered at" }), ...sites.map((s) => h("label", { class: "check" },
    h("input", { type: "checkbox", name: "site_ids", value: String(s.id) }), s.name)));
}

async function main() {
  if (!auth || !["teacher", "admin"].includes(auth.user.role)) {
    location.assign("/");
    return;
  }
  $("#who").textContent = `${auth.user.display_name} (${auth.user.role})`;
  $("#sign-out").addEventListener("click", signOut);
  $("#admin-link").hidden = auth.user.role !== "admin";
  if (auth.user.role === "teacher") {
    $("#new-course").hidden = false;
    const form = $("#course-form");
    bindForm(form, (data) => api("/api/courses", {
      method: "POST",
      body: {
        code: data.get("code"), title: data.get("title"), teacher_id: auth.user.id,
        site_ids: data.getAll("site_ids").map(Number),
      },
    }), async (course) => {
      form.reset();
      say(form, `Created ${course.title}.`);
      await render();
    });
  }
  try {
    await render();
  } catch (err) {
    if (err.status === 401) return signOut();
    const box = $("#page-error");
    box.textContent = `The courses could not be loaded: ${err.message}`;
    box.hidden = false;
  }
}

main();
