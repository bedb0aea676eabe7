// A course's lessons, for its teacher and admins: the list (times in the zones of the course's
// schools), scheduling, start and end, the console, the report of an ended lesson, and the
// students' join links with a copy button each.

import { api } from "./api.js";
import { h } from "./dom.js";
import { bindForm, say, table, timeInZones } from "./setup_kit.js";

const STATUS_WORDS = { scheduled: "scheduled", live: "live", ended: "ended" };

/** The schedule form: title, start (wall clock in a zone of the course's schools), zone. */
export function scheduleForm(course, zones, onCreated) {
  const p = `c${course.id}-lesson`;
  const form = h("form", { class: "form-grid setup-form", "aria-label": `Schedule a lesson of ${course.title}` },
    h("label", { for: `${p}-title`, text: "Lesson title" }),
    h("input", { id: `${p}-title`, name: "title", required: true, maxlength: "200" }),
    h("label", { for: `${p}-at`, text: "Starts at (optional)" }),
    h("input", { id: `${p}-at`, name: "scheduled_at", type: "datetime-local" }),
    h("label", { for: `${p}-zone`, text: "Time zone of that time" }),
    h("select", { id: `${p}-zone`, name: "timezone" }, zones.map((z) => h("option", { value: z, text: z }))),
    h("p", { class: "error form-error", role: "alert", hidden: true }),
    h("button", { class: "btn btn-primary", type: "submit", text: "Schedule lesson" }),
    h("p", { class: "form-ok muted", role: "status" }));
  bindForm(form, (data) => api("/api/sessions", {
    method: "POST",
    body: {
      course_id: course.id,
      title: data.get("title"),
      scheduled_at: data.get("scheduled_at") || null,
      timezone: data.get("timezone"),
    },
  }), async (lesson) => {
    form.reset();
    say(form, `Scheduled "${lesson.title}".`);
    await onCreated(lesson);
  });
  return form;
}

/** Students' join links of one lesson: a table with a copy button per link. */
async function showJoinLinks(lesson, dir, region) {
  region.replaceChildren(h("p", { class: "muted", text: "Loading the join links…" }));
  let links;
  try {
    links = await api(`/api/sessions/${lesson.id}/join-links`, { method: "POST" });
  } catch (err) {
    region.replaceChildren(h("p", { class: "error", role: "alert", text: err.message }));
    return;
  }
  const status = h("p", { class: "muted small", role: "status" });
  const rows = links.map((link) => {
    const field = h("input", { class: "link-field mono", readonly: true, value: link.url,
      "aria-label": `Join link for ${link.display_name}` });
    const copy = h("button", { class: "btn btn-small", type: "button", text: "Copy",
      "aria-label": `Copy the link for ${link.display_name}`,
      on: { click: async () => {
        try {
          await navigator.clipboard.writeText(link.url);
          status.textContent = `Copied the link for ${link.display_name}.`;
        } catch {
          field.select();
          status.textContent = "Copying is not allowed here: the link is selected, press Ctrl+C.";
        }
      } } });
    return [link.display_name, dir.siteName(link.site_id), field, copy];
  });
  region.replaceChildren(
    h("h4", { text: `Join links: ${lesson.title}` }),
    h("p", { class: "muted small", text: "Each student's own link; send it to them only. Ended lessons' links open the catch-up player." }),
    table(`Join links for ${lesson.title}`, ["Student", "Attends from", "Link", "Copy"], rows,
      "No students are enrolled in this course yet."),
    status);
}

async function lifecycle(lesson, action, message) {
  await api(`/api/sessions/${lesson.id}/${action}`, { method: "POST" });
  message.textContent = action === "start" ? `"${lesson.title}" is live.` : `"${lesson.title}" has ended.`;
}

/** The lessons table of `course` into `box`; `reload()` redraws after a change. */
export function lessonsTable(course, lessons, dir, { consoleView = "teacher", reload }) {
  const zones = dir.zonesOf(course);
  const message = h("p", { class: "muted small", role: "status" });
  const problem = h("p", { class: "error", role: "alert", hidden: true });
  const links = h("div", { class: "join-links table-wrap" });
  const act = (lesson, action) => async () => {
    problem.hidden = true;
    if (action === "end" && !window.confirm(`End "${lesson.title}" for everyone?`)) return;
    try {
      await lifecycle(lesson, action, message);
      await reload();
    } catch (err) {
      problem.textContent = err.message;
      problem.hidden = false;
    }
  };
  const rows = lessons.map((lesson) => {
    const named = (verb) => `${verb} ${lesson.title}`;
    const actions = h("span", { class: "row" },
      lesson.status === "scheduled" ? h("button", { class: "btn btn-small btn-primary", type: "button", text: "Start",
        "aria-label": named("Start"), on: { click: act(lesson, "start") } }) : null,
      lesson.status !== "ended" ? h("a", { class: "btn btn-small", href: `/${consoleView}/${lesson.id}`, text: "Open console",
        "aria-label": named("Open the console of") }) : null,
      lesson.status === "live" ? h("button", { class: "btn btn-small", type: "button", text: "End",
        "aria-label": named("End"), on: { click: act(lesson, "end") } }) : null,
      lesson.status === "ended" ? h("a", { class: "btn btn-small", href: `/report/${lesson.id}`, text: "Report",
        "aria-label": named("Report of") }) : null,
      h("a", { class: "btn btn-small", href: `/sessions/${lesson.id}/links`, text: "Print links",
        "aria-label": named("Printable join links of") }),
      h("button", { class: "btn btn-small", type: "button", text: "Join links", "aria-label": named("Join links of"),
        on: { click: () => showJoinLinks(lesson, dir, links) } }));
    return [lesson.title, h("span", { class: `chip chip-${lesson.status}`, text: STATUS_WORDS[lesson.status] ?? lesson.status }),
      timeInZones(lesson.scheduled_at, zones) || "not set", timeInZones(lesson.started_at, zones), actions];
  });
  return h("div", { class: "lessons" },
    h("div", { class: "table-wrap" }, table(`Lessons of ${course.title} (times in ${zones.join(", ")})`,
      ["Lesson", "Status", "Scheduled", "Started", "Actions"], rows, "No lessons yet: schedule the first below.")),
    problem, message, links);
}
