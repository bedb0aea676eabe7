// A student's join link: /join#<token>. The token is exchanged for an access token bound to
// one session (kept in sessionStorage), the fragment is wiped, and the class page opens. A link
// opened in the same tab later (only the fragment changes) is read again.

import { api, ApiError, saveAuth } from "./api.js";
import { $ } from "./dom.js";

const NEW_LINK = "Ask your teacher or your room's facilitator for a new link.";

/** What a student can do about a refused link, in plain words (never the server's jargon). */
function explain(err) {
  if (!(err instanceof ApiError)) {
    return ["We could not reach HyFlex Live", "Check your internet connection, then open the link again."];
  }
  if (err.status === 401 || err.status === 422) {
    return ["This link does not work", `The link is not valid or has expired. ${NEW_LINK}`];
  }
  if (err.status === 403 || err.status === 404 || err.status === 409) {
    return ["This link does not work", `The link no longer opens a class for you. ${NEW_LINK}`];
  }
  if (err.status === 429) return ["Too many tries", "Wait a minute, then open the link again."];
  return ["Something went wrong", `Open the link again in a minute. If it still fails: ${NEW_LINK.toLowerCase()}`];
}

function readToken() {
  try {
    return decodeURIComponent(location.hash.slice(1));
  } catch {
    return null; // a mangled link (a broken %-escape)
  }
}

async function join() {
  const token = readToken();
  history.replaceState(null, "", "/join");
  $("#join-h").textContent = "Joining your class…";
  $("#join-msg").textContent = "Checking your link.";
  if (token === null) {
    [$("#join-h").textContent, $("#join-msg").textContent] = explain(new ApiError(401, "invalid_token", ""));
    return;
  }
  if (!token) {
    $("#join-h").textContent = "This link is incomplete";
    $("#join-msg").textContent = `Open the full link your school sent you. ${NEW_LINK}`;
    return;
  }
  try {
    const out = await api("/api/auth/join", { method: "POST", body: { token }, token: "" });
    saveAuth({ token: out.access_token, user: out.user, session_id: out.session_id, session_title: out.session_title });
    const page = out.session_status === "ended" ? "catchup" : "student";
    location.replace(`/${page}/${out.session_id}`);
  } catch (err) {
    const [title, message] = explain(err);
    $("#join-h").textContent = title;
    $("#join-msg").textContent = message;
  }
}

// a link opened in a tab already on /join changes only the fragment: no new page load
window.addEventListener("hashchange", join);
join();
