// The course view (/course-report/{course_id}): one row per student, one column per lesson
// (minutes present, answers, correct answers, episodes), totals and, for staff, the "falling
// behind" flag with its reasons, from GET /api/courses/{id}/report (rows already cut to the
// caller by the server), and a CSV download.

import { api, downloadFile, loadAuth, sessionIdFromPath } from "./api.js";
import { $, h } from "./dom.js";
import { halt, showSignedIn } from "./page.js";

function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

/** One student's figures in one lesson (or the totals), as short lines of text. */
function figures(cell) {
  const lines = [`${cell.minutes} min`, `${cell.answered} of ${cell.activities} answered`];
  if (cell.with_key) lines.push(`${cell.correct} of ${cell.with_key} correct`);
  if (cell.confused_episodes) lines.push(plural(cell.confused_episodes, "confused episode", "confused episodes"));
  if (cell.disengaged_episodes) lines.push(plural(cell.disengaged_episodes, "disengaged episode", "disengaged episodes"));
  if (cell.pressed_confused) lines.push(`pressed "I'm confused"${cell.pressed_confused > 1 ? ` ${cell.pressed_confused}×` : ""}`);
  return lines.map((text) => h("span", { class: "cell-line", text }));
}

function lessonHeading(lesson) {
  const when = lesson.started_at === null ? "" : new Date(lesson.started_at * 1000).toLocaleDateString(undefined, { dateStyle: "medium" });
  return h("th", { scope: "col" }, h("a", { href: `/report/${lesson.session_id}`, text: lesson.title }),
    h("span", { class: "cell-line small muted", text: `${when}${lesson.ended ? "" : " (in progress)"}` }));
}

class CourseView {
  constructor(courseId, data) {
    this.courseId = courseId;
    this.data = data;
    this.staff = data.scope.kind !== "student";
    this.siteNames = new Map(data.sites.map((s) => [s.site_id, s.name]));
  }

  site(id) {
    return id === null ? "At home" : this.siteNames.get(id) ?? `Site ${id}`;
  }

  render() {
    const { course, lessons, students, rule } = this.data;
    $("#title").textContent = `Course view: ${course.title}`;
    document.title = `${course.title} · Course view · HyFlex Live`;
    $("#summary-h").textContent = course.title;
    const behind = students.filter((s) => s.falling_behind).length;
    $("#summary").textContent = `${plural(lessons.length, "lesson", "lessons")} so far, ${plural(students.length, "student", "students")}` +
      (this.staff ? `; ${behind} falling behind.` : ".");
    if (this.staff) {
      $("#rule").textContent = `Falling behind: over the last ${rule.window_lessons} lessons, missed ${rule.max_missed} or more ` +
        `(under ${rule.min_minutes} min), answered under ${Math.round(rule.min_answered_share * 100)}% of the activities, ` +
        `under ${Math.round(rule.min_correct_share * 100)}% correct, or pressed "I'm confused" in ${rule.max_pressed_lessons} lessons or more.`;
      $("#behind-filter").hidden = false;
      $("#only-behind").addEventListener("change", () => this.renderTable());
    }
    const csv = $("#csv-link");
    csv.href = this.data.csv_url;
    csv.hidden = false;
    csv.addEventListener("click", (ev) => {
      ev.preventDefault();
      this.download().catch((err) => { $("#summary").textContent = `The CSV could not be loaded (${err.message}).`; });
    });
    this.renderTable();
  }

  renderTable() {
    const { lessons, students } = this.data;
    const only = this.staff && $("#only-behind").checked;
    const rows = only ? students.filter((s) => s.falling_behind) : students;
    if (!rows.length) {
      $("#students").replaceChildren(h("p", { class: "muted", text: only ? "Nobody is falling behind." : "No students." }));
      return;
    }
    const heads = [h("th", { scope: "col", text: "Student" }), h("th", { scope: "col", text: "Site" }),
      lessons.map(lessonHeading), h("th", { scope: "col", text: "All lessons" }),
      this.staff ? h("th", { scope: "col", text: "Falling behind" }) : null];
    const body = rows.map((s) => h("tr", { "data-user": s.user_id, class: s.falling_behind ? "row-behind" : null },
      h("th", { scope: "row", text: s.name }),
      h("td", { text: this.site(s.site_id) }),
      s.lessons.map((cell) => h("td", {}, figures(cell))),
      h("td", {}, s.lessons.length ? figures(s.totals) : ""),
      this.staff ? h("td", { class: "behind-cell" }, s.falling_behind ? h("strong", { text: "Yes" }) : "No",
        s.why.map((text) => h("span", { class: "cell-line small", text }))) : null));
    $("#students").replaceChildren(h("table", { class: "report-table course-table" },
      h("caption", { text: only ? "Students falling behind, lesson by lesson" : "Each student, lesson by lesson" }),
      h("thead", {}, h("tr", {}, heads)), h("tbody", {}, body)));
  }

  download() {
    return downloadFile(this.data.csv_url, `course-${this.courseId}-report.csv`);
  }
}

async function main() {
  const courseId = sessionIdFromPath();
  const auth = loadAuth();
  const signIn = { href: "/", text: "Sign in" };
  if (courseId === null || auth === null) return halt("You are not signed in.", signIn);
  showSignedIn(auth);
  let data;
  try {
    data = await api(`/api/courses/${courseId}/report`);
  } catch (err) {
    if (err.status === 403) return halt("A join link opens one lesson only: sign in to see the course.", signIn);
    return halt(err.status === 404 ? "There is no such course for you." : `The course view could not be loaded (${err.message}).`, signIn);
  }
  const view = new CourseView(courseId, data);
  view.render();
  window.__hyflex = { courseView: view };
}

main();
