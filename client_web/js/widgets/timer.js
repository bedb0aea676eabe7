// Timers on open prompts: elapsed time, or a countdown where a time limit is set.

import { formatDuration, h } from "../dom.js";

let ticking = false;

/** Elements with data-since (epoch seconds) show the time elapsed; data-until a countdown. */
export function startTicker() {
  if (ticking) return;
  ticking = true;
  setInterval(() => {
    const now = Date.now() / 1000;
    for (const el of document.querySelectorAll("[data-since]")) {
      el.textContent = formatDuration(now - Number(el.dataset.since));
    }
    for (const el of document.querySelectorAll("[data-until]")) {
      el.textContent = formatDuration(Number(el.dataset.until) - now);
    }
  }, 1000);
}

export function timer(item) {
  // The domain has no time limit on prompts yet; a `time_limit` (seconds) would count down.
  const opened = item.shown_at ?? item.opened_at;
  if (item.status !== "open" || typeof opened !== "number") return null;
  if (typeof item.time_limit === "number") {
    return h("span", { class: "timer", role: "timer", "aria-label": "time left", "data-until": opened + item.time_limit,
      text: formatDuration(opened + item.time_limit - Date.now() / 1000) });
  }
  return h("span", { class: "timer", title: "open for", "aria-hidden": "true", "data-since": opened,
    text: formatDuration(Date.now() / 1000 - opened) });
}
