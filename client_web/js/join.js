// A student's join link: /join#<token>. The token is exchanged for an access token bound to
// one session (kept in sessionStorage), the fragment is wiped, and the class page opens.

import { api, saveAuth } from "./api.js";
import { $ } from "./dom.js";

async function join() {
  const token = decodeURIComponent(location.hash.slice(1));
  history.replaceState(null, "", "/join");
  if (!token) {
    $("#join-h").textContent = "This link is incomplete";
    $("#join-msg").textContent = "Open the full link your school sent you.";
    return;
  }
  try {
    const out = await api("/api/auth/join", { method: "POST", body: { token }, token: "" });
    saveAuth({ token: out.access_token, user: out.user, session_id: out.session_id, session_title: out.session_title });
    const page = out.session_status === "ended" ? "catchup" : "student";
    location.replace(`/${page}/${out.session_id}`);
  } catch (err) {
    $("#join-h").textContent = "This link does not work";
    $("#join-msg").textContent = err.message;
  }
}

join();
