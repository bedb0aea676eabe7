// Staff sign-in and the list of their sessions, each opening the right console.

import { api, clearAuth, loadAuth, saveAuth } from "./api.js";
import { $, clear, h } from "./dom.js";

const CONSOLE = { teacher: "teacher", admin: "teacher", facilitator: "facilitator", student: "student" };

async function showSessions(auth) {
  $("#signin").hidden = true;
  $("#sessions").hidden = false;
  $("#sign-out").hidden = false;
  $("#hello").textContent = `Signed in as ${auth.user.display_name} (${auth.user.role}).`;
  const role = auth.user.role;
  $("#setup-links").replaceChildren(...[
    role === "admin" ? h("a", { class: "btn", href: "/admin", text: "Administration" }) : null,
    ["admin", "teacher"].includes(role) ? h("a", { class: "btn", href: "/courses", text: "Courses and lessons" }) : null,
  ].filter(Boolean));
  const list = clear($("#session-list"));
  let sessions;
  try {
    sessions = await api("/api/sessions");
  } catch (err) {
    if (err.status === 401) return signOut();
    list.append(h("li", { class: "error", text: err.message }));
    return;
  }
  if (!sessions.length) list.append(h("li", { class: "muted", text: "No sessions yet." }));
  const view = CONSOLE[auth.user.role] ?? "student";
  for (const s of sessions) {
    const when = s.started_at ?? s.scheduled_at;
    const actions = [
      s.status === "ended" ? h("a", { class: "btn", href: `/report/${s.id}`, text: "Lesson report" })
        : h("a", { class: "btn btn-primary", href: `/${view}/${s.id}`, text: view === "teacher" ? "Open console" : "Open site view" }),
      h("a", { class: "btn btn-quiet", href: `/sessions/${s.id}/links`, text: "Join links" }),
      h("a", { class: "btn btn-quiet", href: `/course-report/${s.course_id}`, text: "Course view" }),
    ];
    list.append(h("li", { class: "session-row" },
      h("span", {}, h("b", { text: s.title }), " ", h("span", { class: `chip chip-${s.status}`, text: s.status }),
        when ? h("span", { class: "muted small", text: ` ${new Date(when).toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" })}` }) : null),
      h("span", { class: "row" }, actions)));
  }
}

function signOut() {
  clearAuth();
  location.reload();
}

$("#sign-out").addEventListener("click", signOut);
$("#signin-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const error = $("#signin-error");
  error.hidden = true;
  try {
    const out = await api("/api/auth/login", {
      method: "POST", token: "",
      body: { email: $("#email").value.trim(), password: $("#password").value },
    });
    const auth = { token: out.access_token, user: out.user };
    saveAuth(auth);
    await showSessions(auth);
  } catch (err) {
    error.textContent = err.message;
    error.hidden = false;
  }
});

// Back from the school's identity provider: the access token is in the fragment (/#sso=...).
async function finishSchoolSignIn(token) {
  history.replaceState(null, "", location.pathname);
  try {
    const user = await api("/api/auth/me", { token });
    const auth = { token, user };
    saveAuth(auth);
    await showSessions(auth);
  } catch (err) {
    const error = $("#signin-error");
    error.textContent = err.message;
    error.hidden = false;
  }
}

async function offerSchoolSignIn() {
  try {
    const sso = await api("/api/auth/sso", { token: "" });
    $("#sso").hidden = !sso.enabled;
  } catch {
    $("#sso").hidden = true;
  }
}

const fromSchool = new URLSearchParams(location.hash.slice(1)).get("sso");
const existing = loadAuth();
if (fromSchool) finishSchoolSignIn(fromSchool);
else if (existing && existing.user?.role !== "student") showSessions(existing);
offerSchoolSignIn();
