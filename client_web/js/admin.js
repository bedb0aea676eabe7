// /admin: a consortium admin sets up schools (with their time zones), sites and their
// facilitators, staff and passwords; courses, enrolments, the roster import and lessons are in
// admin_courses.js. Every list comes from the REST API; every form shows the API's message.

import { api, clearAuth, loadAuth } from "./api.js";
import { $, h } from "./dom.js";
import { wireCourses } from "./admin_courses.js";
import { wireOneRoster } from "./admin_oneroster.js";
import { bindForm, Directory, knownZones, options, say, table } from "./setup_kit.js";

const ROLE_WORDS = { admin: "Consortium admin", teacher: "Teacher", facilitator: "Facilitator", student: "Student" };

/** What the page shows, reloaded after every change. */
const state = { schools: [], sites: [], users: [], courses: [], dir: new Directory([], []) };

function signOut() {
  clearAuth();
  location.assign("/");
}

function renderOrg() {
  const { schools, sites, users, dir } = state;
  $("#schools").replaceChildren(table("Schools", ["School", "Code", "Time zone", "Sites"],
    schools.map((s) => [s.name, s.code, s.timezone, String(sites.filter((x) => x.school_id === s.id).length)]),
    "No schools yet: add the first below."));
  const facilitators = (siteId) => users.filter((u) => u.role === "facilitator" && u.home_site_id === siteId)
    .map((u) => u.display_name).join(", ") || "none yet";
  $("#sites").replaceChildren(table("Sites and their facilitators", ["Site", "Code", "School", "Facilitators"],
    sites.map((s) => [s.name, s.code, dir.schools.get(s.school_id)?.name ?? "", facilitators(s.id)]),
    "No sites yet: add a school first, then its sites."));
  const staff = users.filter((u) => u.role !== "student");
  $("#staff").replaceChildren(table("Staff", ["Name", "E-mail", "Role", "Home site"],
    staff.map((u) => [u.display_name, u.email, ROLE_WORDS[u.role] ?? u.role,
      u.home_site_id ? dir.siteName(u.home_site_id) : ""]), "No staff yet."));
  const schoolItems = schools.map((s) => ({ value: s.id, label: `${s.name} (${s.timezone})` }));
  options($("#zone-school"), schoolItems, "Choose a school");
  options($("#site-school"), schoolItems, "Choose a school");
  options($("#user-site"), sites.map((s) => ({ value: s.id, label: s.name })), "No home site");
  options($("#pw-user"), staff.map((u) => ({ value: u.id, label: `${u.display_name} (${u.email})` })), "Choose a member of staff");
}

async function reload() {
  const [schools, sites, users, courses] = await Promise.all([
    api("/api/schools"), api("/api/sites"), api("/api/users"), api("/api/courses"),
  ]);
  Object.assign(state, { schools, sites, users, courses, dir: new Directory(schools, sites) });
  renderOrg();
  await state.renderCourses?.();
}

function wireOrg() {
  $("#zones").replaceChildren(...knownZones().map((z) => h("option", { value: z })));
  const school = $("#school-form");
  bindForm(school, (data) => api("/api/schools", {
    method: "POST", body: { name: data.get("name"), code: data.get("code"), timezone: data.get("timezone").trim() },
  }), async (made) => { school.reset(); say(school, `Added ${made.name} (${made.timezone}).`); await reload(); });
  const zone = $("#zone-form");
  $("#zone-school").addEventListener("change", () => {
    $("#zone-name").value = state.dir.schools.get(Number($("#zone-school").value))?.timezone ?? "";
  });
  bindForm(zone, (data) => api(`/api/schools/${Number(data.get("school_id"))}`, {
    method: "PATCH", body: { timezone: data.get("timezone").trim() },
  }), async (made) => { say(zone, `${made.name} now shows times in ${made.timezone}.`); await reload(); });
  const site = $("#site-form");
  bindForm(site, (data) => api("/api/sites", {
    method: "POST", body: { school_id: Number(data.get("school_id")), name: data.get("name"), code: data.get("code") },
  }), async (made) => { site.reset(); say(site, `Added ${made.name}.`); await reload(); });
  const user = $("#user-form");
  bindForm(user, (data) => api("/api/users", {
    method: "POST",
    body: {
      display_name: data.get("display_name"), email: data.get("email"), role: data.get("role"),
      home_site_id: data.get("home_site_id") ? Number(data.get("home_site_id")) : null, password: data.get("password"),
    },
  }), async (made) => { user.reset(); say(user, `Added ${made.display_name}; they can sign in now.`); await reload(); });
  const password = $("#password-form");
  bindForm(password, async (data) => {
    await api(`/api/users/${Number(data.get("user_id"))}/password`, { method: "PUT", body: { password: data.get("password") } });
    return state.users.find((u) => u.id === Number(data.get("user_id")));
  }, (who) => { password.reset(); say(password, `Password set for ${who?.display_name ?? "them"}.`); });
}

async function main() {
  const auth = loadAuth();
  if (!auth || auth.user.role !== "admin") {
    location.assign("/");
    return;
  }
  $("#who").textContent = `${auth.user.display_name} (admin)`;
  $("#sign-out").addEventListener("click", signOut);
  wireOrg();
  wireCourses(state, reload);
  wireOneRoster(reload);
  try {
    await reload();
  } catch (err) {
    if (err.status === 401) return signOut();
    const box = $("#page-error");
    box.textContent = `The consortium could not be loaded: ${err.message}`;
    box.hidden = false;
  }
}

main();
