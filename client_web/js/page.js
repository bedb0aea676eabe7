// What every live page does: read the token, load the protocol schema, connect, keep a
// LiveState current, show connection status and errors. Pages add their own rendering.

import { clearAuth, loadAuth, sessionIdFromPath } from "./api.js";
import { $, h } from "./dom.js";
import { LiveState } from "./live_state.js";
import { Connection, loadSchema } from "./protocol.js";
import { showStatus, toast } from "./widgets/status.js";
import { startTicker } from "./widgets/timer.js";

/** Stop with a readable message in the main area (no token, wrong page...). */
export function halt(message, link) {
  const main = $("main");
  main.replaceChildren(
    h("section", { class: "card halt", role: "alert" },
      h("h2", { text: message }),
      link ? h("p", {}, h("a", { href: link.href, text: link.text })) : null),
  );
}

/** The header of a signed-in page: who is signed in, and a "Sign out" that goes home. */
export function showSignedIn(auth) {
  $("#who").textContent = auth.user?.display_name ?? "";
  $("#sign-out").addEventListener("click", () => { clearAuth(); location.assign("/"); });
}

/**
 * @param {object} opts
 * @param {string[]} opts.roles  roles this page is for
 * @param {{href: string, text: string}} opts.signIn  where to go without a token
 * @returns {Promise<{conn, state, auth, schema, sessionId} | null>}
 */
export async function boot({ roles, signIn }) {
  const sessionId = sessionIdFromPath();
  const auth = loadAuth();
  if (sessionId === null || auth === null) {
    halt("You are not signed in for this session.", signIn);
    return null;
  }
  if (!roles.includes(auth.user?.role)) {
    halt(`This page is not for a ${auth.user?.role ?? "guest"}.`, signIn);
    return null;
  }
  const who = document.getElementById("who");
  if (who) who.textContent = auth.user.display_name;
  const out = document.getElementById("sign-out");
  if (out) {
    out.addEventListener("click", () => {
      clearAuth();
      location.assign(signIn.href);
    });
  }
  const schema = await loadSchema();
  const state = new LiveState();
  const conn = new Connection({ schema, sessionId, token: auth.token, onStatus: showStatus });
  conn.onWelcome((welcome) => {
    state.reset(welcome.snapshot, welcome);
    if (welcome.replay_truncated) toast("You were away a while: showing the current state.");
  });
  conn.onAny((frame, meta) => state.apply(frame, meta));
  window.addEventListener("hyflex:error", (ev) => toast(ev.detail.message ?? "error", "error"));
  window.__hyflex = { conn, state, schema };
  conn.connect();
  startTicker();
  return { conn, state, auth, schema, sessionId };
}
