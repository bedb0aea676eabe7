// Connection indicator, the "reconnecting" banner and polite toasts for errors and notices.

import { $, h } from "../dom.js";

const LABELS = {
  connecting: "Connecting…",
  live: "Connected",
  reconnecting: "Reconnecting…",
  closed: "Disconnected",
  removed: "Removed",
};

export function showStatus(status, detail = "") {
  const indicator = $("#conn");
  indicator.dataset.status = status;
  indicator.textContent = LABELS[status] ?? status;
  indicator.title = detail;
  const banner = $("#banner");
  if (status === "reconnecting") {
    banner.hidden = false;
    banner.dataset.kind = "warn";
    banner.textContent = "Connection lost: reconnecting. Your answers are kept and sent when you are back.";
  } else if (status === "removed") {
    banner.hidden = false;
    banner.dataset.kind = "error";
    banner.textContent = "The teacher removed you from this lesson. You cannot rejoin until the teacher lets you back in.";
    document.body.dataset.removed = "1";
  } else if (status === "closed") {
    banner.hidden = false;
    banner.dataset.kind = "error";
    banner.textContent = `Disconnected${detail ? `: ${detail}` : ""}. Reload the page or sign in again.`;
  } else {
    banner.hidden = true;
  }
}

/** A short message in the polite live region; errors stay a little longer. */
export function toast(message, kind = "info") {
  const region = $("#toasts");
  const item = h("div", { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : null, text: message });
  region.append(item);
  setTimeout(() => item.remove(), kind === "error" ? 8000 : 4000);
  while (region.children.length > 4) region.firstChild.remove();
}

/** Run a command and tell the user if the server refused it. */
export async function attempt(promise, done) {
  try {
    const seq = await promise;
    if (done) toast(done);
    return seq;
  } catch (err) {
    toast(err.message || String(err), "error");
    return undefined;
  }
}
