// Printable join-link sheets (/sessions/{id}/links): per site, each student's name, their own
// link and its QR code (an SVG made by the server), from GET /api/sessions/{id}/join-sheet.
// A facilitator gets only their own site; the teacher and admins choose a site or all.

import { api, downloadFile, loadAuth, sessionIdFromPath } from "./api.js";
import { $, h } from "./dom.js";
import { halt, showSignedIn } from "./page.js";

const STAFF = ["teacher", "admin", "facilitator"];

function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return d.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" });
}

function card(student) {
  return h("li", { class: "link-card", "data-student": String(student.student_id) },
    h("p", { class: "link-name", text: student.display_name }),
    h("img", { class: "link-qr", src: student.qr_svg, width: "160", height: "160",
      alt: `QR code of ${student.display_name}'s join link` }),
    h("p", { class: "link-url mono", text: student.url }));
}

function sheet(data, site) {
  const valid = `Valid for the lesson and for catch-up until ${when(data.expires_at)}.`;
  return h("section", { class: "link-sheet", "aria-labelledby": `sheet-${site.site_id ?? "home"}` },
    h("h2", { id: `sheet-${site.site_id ?? "home"}`, text: `${site.site_name}: ${data.title}` }),
    h("p", { class: "small", text: `${data.course_title}${data.scheduled_at ? ` · ${when(data.scheduled_at)}` : ""}. ${valid} Each link is for one student only: do not share it.` }),
    site.students.length
      ? h("ol", { class: "link-grid" }, site.students.map(card))
      : h("p", { class: "muted", text: "No students are enrolled at this site." }));
}

async function load(sessionId, siteId) {
  const query = siteId === "" ? "" : `?site_id=${siteId}`;
  return { data: await api(`/api/sessions/${sessionId}/join-sheet${query}`), query };
}

function downloadCsv(sessionId, query) {
  return downloadFile(`/api/sessions/${sessionId}/join-sheet.csv${query}`, `lesson-${sessionId}-join-links.csv`);
}

async function start(sessionId, auth) {
  const error = $("#links-error");
  const select = $("#site");
  let current = await load(sessionId, "");
  const facilitator = auth.user.role === "facilitator";
  const sites = current.data.sites;
  select.replaceChildren(
    ...(facilitator ? [] : [h("option", { value: "", text: "Every site" })]),
    ...sites.map((s) => h("option", { value: String(s.site_id ?? 0), text: s.site_name })));
  select.disabled = facilitator;
  const render = () => {
    $("#title").textContent = `Join links: ${current.data.title}`;
    document.title = `${current.data.title} · Join links · HyFlex Live`;
    $("#sheets").replaceChildren(...current.data.sites.map((site) => sheet(current.data, site)));
  };
  render();
  select.addEventListener("change", async () => {
    try {
      current = await load(sessionId, select.value);
      error.hidden = true;
      render();
    } catch (err) {
      error.textContent = `The links could not be loaded: ${err.message}`;
      error.hidden = false;
    }
  });
  $("#print").addEventListener("click", () => window.print());
  $("#csv").addEventListener("click", () => downloadCsv(sessionId, current.query).catch((err) => {
    error.textContent = `Not downloaded: ${err.message}`;
    error.hidden = false;
  }));
}

const auth = loadAuth();
const sessionId = sessionIdFromPath() ?? Number(location.pathname.split("/")[2]);
const signIn = { href: "/", text: "Sign in" };
if (!Number.isInteger(sessionId) || sessionId <= 0 || auth === null) halt("You are not signed in.", signIn);
else if (!STAFF.includes(auth.user?.role)) halt("Join links are handed out by the teacher and the site's facilitator.", signIn);
else {
  showSignedIn(auth);
  start(sessionId, auth).catch((err) => halt(`The join links could not be loaded: ${err.message}`, signIn));
}
