// A staff member arriving from an LMS launch: /lti/enter?to=/teacher/5#<token>. The sign-in is
// kept (sessionStorage, like the sign-in page's), the fragment wiped, and the page opens.

import { api, saveAuth } from "./api.js";
import { $ } from "./dom.js";

const TARGET = /^\/(teacher|report|courses)(\/\d{1,9})?$/;

async function enter() {
  const token = location.hash.slice(1);
  const to = new URLSearchParams(location.search).get("to") ?? "/courses";
  history.replaceState(null, "", "/lti/enter");
  if (!token || !TARGET.test(to)) {
    $("#enter-h").textContent = "This LMS link did not open";
    $("#enter-msg").textContent = "Go back to your LMS course and open the link again.";
    return;
  }
  try {
    const user = await api("/api/auth/me", { token });
    saveAuth({ token, user });
    location.replace(to);
  } catch {
    $("#enter-h").textContent = "This LMS link did not open";
    $("#enter-msg").textContent = "Your sign-in from the LMS has expired: open the link in your LMS again.";
  }
}

enter();
