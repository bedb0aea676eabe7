// Engagement in the views: the site pulses, alerts, student states and students' own "I'm
// confused" presses the server pushes (`engagement.*` frames,
// server/realtime/engagement/bridge.py), redrawn from `engagement.snapshot` after every
// (re)connect, and the controls that answer them.

import { h, keyed } from "./dom.js";
import { siteKey } from "./live_state.js";
import { attempt } from "./widgets/status.js";

export const STATE_WORDS = {
  engaged: "engaged", confused: "confused", disengaged: "disengaged",
  connection_trouble: "connection trouble", unknown: "no signal",
};
const COLOUR = { confused: "confused", disengaged: "disengaged", connection_trouble: "connection", help: "confused" };
export const SNOOZE_MINUTES = 10;

/** Pulses by site, open alerts, students' states and active presses, as this participant may
 *  see them. */
export class EngagementModel {
  constructor() {
    this.pulses = new Map(); // siteKey -> pulse data
    this.alerts = new Map(); // id -> alert data (+ snoozedUntil)
    this.students = new Map(); // user_id -> {user_id, site_id, state, reasons}
    this.pressed = new Map(); // user_id -> {user_id, site_id, since}: active "I'm confused" presses
    this.subscribers = new Set();
    this.queued = false;
    this.ended = false; // the lesson is over: nothing is live, nothing to handle
  }

  /** The end of the lesson: alerts and presses are over; pulses read as ended. */
  end() {
    if (this.ended) return;
    this.ended = true;
    this.alerts.clear();
    this.pressed.clear();
    this.changed();
  }

  subscribe(fn) {
    this.subscribers.add(fn);
  }

  /** Tell subscribers once per task, however many frames arrived (as LiveState.changed). */
  changed() {
    if (this.queued) return;
    this.queued = true;
    queueMicrotask(() => {
      this.queued = false;
      for (const fn of this.subscribers) fn(this);
    });
  }

  /** Hook a protocol.js Connection: frames, and engagement.sync on every welcome. */
  attach(conn) {
    conn.onFamily("engagement", (frame) => {
      this.apply(frame);
      window.dispatchEvent(new CustomEvent("hyflex:engagement", { detail: frame }));
    });
    const sync = () => {
      if (conn.supports("engagement.sync")) conn.send("engagement.sync", {}).catch(() => {});
    };
    conn.onWelcome(sync);
    if (conn.status === "live") sync(); // attached after the first welcome
    return this;
  }

  apply(frame) {
    const d = frame.data ?? {};
    switch (frame.type) {
      case "engagement.snapshot":
        this.pulses = new Map((d.pulses ?? []).map((p) => [siteKey(p.site_id), p]));
        this.students = new Map((d.students ?? []).map((s) => [s.user_id, s]));
        this.pressed = new Map((d.explicit ?? []).filter((e) => e.signal === "confused").map((e) => [e.user_id, e]));
        // alerts still standing (after a reload or a reconnect the tray is right again)
        if (Array.isArray(d.alerts)) this.alerts = new Map(d.alerts.map((a) => [a.id, { ...a, snoozedUntil: a.snoozed_until ?? null }]));
        break;
      case "engagement.explicit": // the student's own word: shown at once, cleared at once
        if (d.signal !== "confused") return;
        if (d.active) this.pressed.set(d.user_id, d);
        else this.pressed.delete(d.user_id);
        break;
      case "engagement.pulse":
        this.pulses.set(siteKey(d.site_id), d);
        break;
      case "engagement.student":
        this.students.set(d.user_id, d);
        break;
      case "engagement.alert":
        this.alerts.set(d.id, d);
        break;
      case "engagement.alert_handled":
        for (const [id, a] of this.alerts) {
          const same = siteKey(a.site_id) === siteKey(d.site_id) && a.state === d.state;
          if (!(same || id === d.alert_id)) continue;
          if (d.action === "acknowledged") this.alerts.delete(id);
          else a.snoozedUntil = d.until;
        }
        break;
      default:
        return;
    }
    if (this.ended) {
      this.alerts.clear();
      this.pressed.clear();
    }
    this.changed();
  }

  /** Students of one site (key) in a state. */
  studentsIn(key, state) {
    return [...this.students.values()].filter((s) => siteKey(s.site_id) === key && s.state === state);
  }

  /** Active "I'm confused" presses at one site (key), oldest first. */
  pressedAt(key) {
    return [...this.pressed.values()].filter((e) => siteKey(e.site_id) === key).sort((a, b) => a.since - b.since);
  }

  /** Students of one site whose behaviour (answers, hand) says confused, who did not press. */
  inferredConfusedAt(key) {
    return this.studentsIn(key, "confused")
      .filter((s) => !this.pressed.has(s.user_id) && (s.reasons ?? []).some((r) => r.code !== "pressed_confused"));
  }
}

/** The names under a site's tile: who pressed "I'm confused" (with "Seen", which clears it
 *  for everyone and resets the student's button) and, passively, who seems confused from
 *  their answers. `person(id)` gives a display name. */
export function confusedNames(model, key, person, conn) {
  const pressed = model.pressedAt(key);
  const inferred = model.inferredConfusedAt(key);
  return [
    pressed.length
      ? h("p", { class: "confused-head small", id: `pressed-h-${key}`, text: "Pressed \u201cI'm confused\u201d:" })
      : null,
    pressed.length
      ? h("ul", { class: "confused-list pressed-list", "aria-labelledby": `pressed-h-${key}` }, pressed.map((e) =>
        h("li", { "data-user": e.user_id }, h("span", { text: person(e.user_id) }), " ",
          h("button", {
            class: "btn btn-small btn-quiet", type: "button", "data-fk": `seen-${e.user_id}`,
            "aria-label": `Seen: ${person(e.user_id)}`,
            on: { click: () => attempt(conn.send("engagement.ack_student", { user_id: e.user_id })) },
          }, "Seen"))))
      : null,
    inferred.length
      ? h("p", { class: "confused-list inferred-list muted small", text: `Seem confused: ${inferred.map((s) => person(s.user_id)).join(", ")}` })
      : null,
  ];
}

/** What confusedNames shows, for keyed redraws. */
export function confusedVersion(model, key) {
  return [model.pressedAt(key).map((e) => e.user_id), model.inferredConfusedAt(key).map((s) => s.user_id)];
}

/** data-pulse colour of a pulse: engaged / confused / disengaged / connection / unknown. */
export function pulseColour(pulse) {
  if (!pulse) return "unknown";
  if (pulse.level !== "calm" && pulse.top_state) return COLOUR[pulse.top_state] ?? "confused";
  if (pulse.level !== "calm") return "confused"; // a help request
  const known = Object.entries(pulse.counts ?? {}).some(([state, n]) => state !== "unknown" && n > 0);
  return known ? "engaged" : "unknown";
}

export function countsText(pulse) {
  if (!pulse) return "Waiting for engagement data";
  const order = ["confused", "disengaged", "connection_trouble", "engaged", "unknown"];
  const parts = order.filter((s) => (pulse.counts?.[s] ?? 0) > 0).map((s) => `${pulse.counts[s]} ${STATE_WORDS[s]}`);
  return parts.join(" · ") || "No students yet";
}

/** The body of a pulse tile: level chip, counts, reasons (after the lesson: "Lesson ended"
 *  and the last counts, nothing that asks for action). */
export function pulseBody(pulse, { ended = false } = {}) {
  const level = ended ? "ended" : pulse?.level ?? "calm";
  const levelText = { calm: "Calm", watch: "Watch", alert: "Needs attention", ended: "Lesson ended" }[level] ?? level;
  return [
    h("p", { class: "pulse-level" }, h("span", { class: `chip level-${level}`, text: levelText })),
    h("p", { class: "pulse-counts", text: countsText(pulse) }),
    !ended && pulse?.reasons?.length
      ? h("ul", { class: "pulse-reasons" }, pulse.reasons.map((r) => h("li", { text: r })))
      : null,
  ];
}

/** Alert tray with Acknowledge and Snooze buttons (teacher: every site; facilitator: own).
 *  `canHandle(alert)` false: the alert is shown without them (a facilitator's own request for
 *  help is the teacher's to acknowledge; they cancel it with their toggle). */
export function renderAlerts(tray, model, conn, siteName, { canHandle = () => true } = {}) {
  const alerts = [...model.alerts.values()].sort((a, b) => b.at - a.at);
  if (!alerts.length) {
    const text = model.ended ? "The lesson has ended: no more alerts." : "No alerts. Engagement alerts (with their reasons) appear here.";
    tray.replaceChildren(h("li", { class: "muted", "data-key": "none", text }));
    return;
  }
  keyed(tray, alerts, (a) => a.id, (a) => String(a.snoozedUntil ?? ""), (a) => {
    const snoozed = a.snoozedUntil != null;
    if (!canHandle(a)) {
      return h("li", { class: `alert-item state-${a.state}`, "data-alert": a.id, "data-site": siteKey(a.site_id) },
        h("p", { class: "alert-text", title: siteName(a.site_id), text: a.text }),
        h("p", { class: "muted small", text: "Sent to the teacher, who acknowledges it. Cancel it with \u201cHelp requested (cancel)\u201d." }));
    }
    return h("li", { class: `alert-item state-${a.state}${snoozed ? " is-snoozed" : ""}`, "data-alert": a.id, "data-site": siteKey(a.site_id) },
      h("p", { class: "alert-text", title: siteName(a.site_id), text: a.text }),
      a.reasons?.length ? h("ul", { class: "alert-reasons" }, a.reasons.map((r) => h("li", { text: r }))) : null,
      h("div", { class: "row" },
        h("button", {
          class: "btn btn-small btn-primary", type: "button", "data-fk": `ack-${a.id}`,
          on: { click: () => attempt(conn.send("engagement.ack", { alert_id: a.id })) },
        }, "Acknowledge"),
        snoozed
          ? h("span", { class: "muted small", text: `Snoozed for ${SNOOZE_MINUTES} min` })
          : h("button", {
            class: "btn btn-small", type: "button", "data-fk": `snooze-${a.id}`,
            on: { click: () => attempt(conn.send("engagement.snooze", { site_id: a.site_id, state: a.state, minutes: SNOOZE_MINUTES })) },
          }, `Snooze ${SNOOZE_MINUTES} min`)));
  });
}

// --- attention telemetry (students) -------------------------------------------------------

export const TELEMETRY = Object.freeze({
  minGapMs: 2000, // at most one attention message per 2 s on changes
  heartbeatMs: 10000, // and one every 10 s anyway (the server ignores telemetry older than 20 s)
});

/**
 * Send `engagement.attention {visible, focused, idle_s}` from the Page Visibility API, window
 * focus and the time since the last input: on a change (at most one per minGapMs) and every
 * heartbeatMs; `engagement.media` with the latest link sample (if `mediaSample()` gives one)
 * with each heartbeat. Well under the server's telemetry rate (1/s, burst 10).
 */
export function startAttention(conn, { mediaSample = () => null, th = TELEMETRY } = {}) {
  let lastInput = Date.now();
  let lastSent = 0;
  let trailing = null;
  let lastKey = "";
  const bump = () => (lastInput = Date.now());
  for (const ev of ["pointerdown", "pointermove", "keydown", "wheel", "touchstart", "scroll"]) {
    window.addEventListener(ev, bump, { passive: true, capture: true });
  }
  const snapshot = () => ({
    visible: document.visibilityState === "visible",
    focused: document.hasFocus(),
    idle_s: Math.min(86400, Math.round((Date.now() - lastInput) / 1000)),
  });
  const send = () => {
    clearTimeout(trailing);
    trailing = null;
    if (conn.status !== "live") return;
    const data = snapshot();
    lastKey = `${data.visible}${data.focused}`;
    lastSent = Date.now();
    conn.send("engagement.attention", data).catch(() => {});
  };
  const changed = () => {
    const data = snapshot();
    if (`${data.visible}${data.focused}` === lastKey) return;
    const wait = lastSent + th.minGapMs - Date.now();
    if (wait <= 0) send();
    else if (trailing === null) trailing = setTimeout(send, wait);
  };
  document.addEventListener("visibilitychange", changed);
  window.addEventListener("focus", changed);
  window.addEventListener("blur", changed);
  conn.onWelcome(() => send());
  if (conn.status === "live") send();
  const heartbeat = setInterval(() => {
    send();
    const m = mediaSample();
    if (m && conn.status === "live") {
      conn.send("engagement.media", {
        loss_fraction: Math.min(1, m.loss), rtt_ms: m.rttMs ?? 0,
        no_media_s: Math.round(m.noMediaS), freezes: m.newFreezes,
      }).catch(() => {});
    }
  }, th.heartbeatMs);
  return () => clearInterval(heartbeat);
}
