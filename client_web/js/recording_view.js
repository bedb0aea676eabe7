// The recording indicator every page shows, derived from the session state (snapshot
// "recording" and recording.started / recording.stopped), the teacher's start/stop button, and
// the consent notice students see when recording starts (its text is the server's
// HYFLEX_RECORDING_NOTICE, served in /api/protocol).

import { $, h } from "./dom.js";
import { attempt } from "./widgets/status.js";

/** @param {{conn, state, schema}} ctx
 *  @param {{toggle?: HTMLButtonElement, notice?: HTMLElement}} opts */
export function wireRecording(ctx, { toggle = null, notice = null } = {}) {
  const chip = $("#rec");
  let shownFor = null; // the start time the notice was shown for (once per start)
  if (toggle) {
    toggle.addEventListener("click", () => {
      const on = ctx.state.recording.on;
      if (on && !confirm("Stop recording?")) return;
      attempt(ctx.conn.send(on ? "recording.stop" : "recording.start"), on ? "Recording stopped" : "Recording started");
    });
  }
  ctx.state.subscribe((state) => {
    const { on, since } = state.recording;
    chip.hidden = !on;
    chip.dataset.on = on ? "1" : "0";
    document.body.dataset.recording = on ? "1" : "0";
    if (toggle) {
      toggle.hidden = state.status !== "live";
      toggle.textContent = on ? "■ Stop recording" : "● Start recording";
      toggle.setAttribute("aria-pressed", String(on));
    }
    if (!notice) return;
    if (!on) {
      notice.hidden = true;
      return;
    }
    if (shownFor === since) return;
    shownFor = since;
    const ok = h("button", { class: "btn btn-primary btn-small", type: "button", text: "I understand",
      on: { click: () => (notice.hidden = true) } });
    notice.replaceChildren(
      h("h2", { id: "rec-notice-h", text: "● This lesson is being recorded" }),
      h("p", { id: "rec-notice-text", text: ctx.schema.recording_notice ?? "This lesson is being recorded." }),
      ok);
    notice.hidden = false;
    ok.focus();
  });
}
