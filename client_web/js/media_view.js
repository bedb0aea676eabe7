// Media for the views: local camera/microphone with clear messages when a device or a
// permission is missing (the class goes on with what works), the receiving leg with slots
// attached to <video>/<audio> elements, live-track and stage updates, the connection indicator
// from getStats, and recovery after the websocket resumes.

import { h } from "./dom.js";
import { LinkMonitor } from "./link_quality.js";
import {
  adaptConnection, closeMedia, currentPeer, onMedia, publish, receivedFrames, setMode,
  startStatsReporting, subscribe,
} from "./media.js";

const PROBLEMS = {
  NotAllowedError: (what) => `${what} access is blocked. Allow it in the browser's site settings and reload; the class goes on without it.`,
  SecurityError: (what) => `${what} access is blocked. Allow it in the browser's site settings and reload; the class goes on without it.`,
  NotFoundError: (what) => `No ${what.toLowerCase()} was found. Plug one in and reload; the class goes on without it.`,
  OverconstrainedError: (what) => `No ${what.toLowerCase()} was found. Plug one in and reload; the class goes on without it.`,
  NotReadableError: (what) => `The ${what.toLowerCase()} is in use by another program. Close it and reload; the class goes on without it.`,
};

export function describeProblem(what, err) {
  const make = PROBLEMS[err?.name];
  return make ? make(what) : `${what} could not start (${err?.message ?? err}); the class goes on without it.`;
}

/** Ask for each device on its own, so a missing camera does not cost the microphone. */
export async function acquire({ camera = true, microphone = true } = {}) {
  const out = { camera: null, microphone: null, problems: [] };
  if (!navigator.mediaDevices?.getUserMedia) {
    out.problems.push("This browser cannot use a camera or microphone here (it needs https). The class goes on without them.");
    return out;
  }
  for (const [kind, want, what] of [["camera", camera, "Camera"], ["microphone", microphone, "Microphone"]]) {
    if (!want) continue;
    try {
      const stream = await navigator.mediaDevices.getUserMedia(kind === "camera" ? { video: true } : { audio: true });
      out[kind] = (kind === "camera" ? stream.getVideoTracks() : stream.getAudioTracks())[0] ?? null;
    } catch (err) {
      out.problems.push(describeProblem(what, err));
    }
  }
  return out;
}

/** Show `stream` in `el` (video or audio); video elements count painted frames in
 *  data-frames (requestVideoFrameCallback). Returns false when the browser refused to play
 *  sound without a click. */
export async function attach(el, stream) {
  if (el.srcObject !== stream) el.srcObject = stream;
  if (el.tagName === "VIDEO" && !el.dataset.counting && "requestVideoFrameCallback" in el) {
    el.dataset.counting = "1";
    el.dataset.frames = "0";
    const count = () => {
      el.dataset.frames = String(Number(el.dataset.frames) + 1);
      el.requestVideoFrameCallback(count);
    };
    el.requestVideoFrameCallback(count);
  }
  try {
    await el.play();
    return true;
  } catch {
    return false;
  }
}

const QUALITY_TEXT = { good: "Video: good", fair: "Video: fair", poor: "Video: weak link", none: "Video: off" };

export class MediaSession {
  /**
   * @param {object} ctx  from page.boot()
   * @param {object} opts
   * @param {HTMLElement} opts.notice   role=alert paragraph for device/permission problems
   * @param {HTMLElement} [opts.quality] connection indicator
   * @param {(slot, stream, track) => void} [opts.onSlot]
   * @param {(live: Set<string>, stage: string|null) => void} [opts.onTracks]
   * @param {(sample) => void} [opts.onSample]
   */
  constructor(ctx, { notice, quality = null, onSlot = () => {}, onTracks = () => {}, onSample = () => {} }) {
    this.ctx = ctx;
    this.conn = adaptConnection(ctx.conn);
    this.noticeEl = notice;
    this.qualityEl = quality;
    this.onSlot = onSlot;
    this.onTracks = onTracks;
    this.onSample = onSample;
    this.problems = new Map(); // key -> message
    this.local = { camera: null, microphone: null, screen: null };
    this.publishing = false;
    this.receiving = null; // {mode, publishers}
    this.slots = new Map(); // slot -> MediaStream
    this.live = new Set();
    this.stage = null;
    this.mode = "full";
    this.needsClick = new Set();
    onMedia(this.conn, "media.tracks", (data) => {
      this.live = new Set(data.live ?? []);
      this.stage = data.stage ?? null;
      this.onTracks(this.live, this.stage);
    });
    onMedia(this.conn, "media.closed", (data) => {
      if (data.reason === "session_ended") this.problem("ended", "The lesson has ended: live video stopped.");
      else if (data.leg === "publish") this.problem("publish", "Your video is no longer sent (you left the stage).");
      if (data.leg === "publish" || data.leg === "all") this.publishing = false;
      if (data.leg === "subscribe" || data.leg === "all") this.receiving = null;
      this.setQuality("none");
    });
    ctx.conn.onWelcome(() => {
      if (ctx.conn.welcomes > 1) this.recover();
    });
    this.monitor = new LinkMonitor({
      getPeer: () => currentPeer(this.conn, "subscribe"),
      expecting: () => [...this.live].some((s) => this.slots.has(s)),
      onSample: (sample) => {
        this.setQuality(sample.quality);
        this.onSample(sample);
      },
    });
    this.stopReports = null;
  }

  problem(key, message) {
    if (message) this.problems.set(key, message);
    else this.problems.delete(key);
    this.noticeEl.replaceChildren(...[...this.problems.values()].map((m) => h("span", { class: "notice-line", text: m })));
    if (this.needsClick.size) {
      this.noticeEl.append(h("button", { id: "sound-on", class: "btn btn-small", type: "button", on: { click: () => this.unlockSound() } }, "🔊 Turn on sound"));
    }
    this.noticeEl.hidden = this.noticeEl.childNodes.length === 0;
  }

  setQuality(q) {
    if (!this.qualityEl) return;
    this.qualityEl.dataset.quality = q;
    this.qualityEl.textContent = QUALITY_TEXT[q] ?? q;
  }

  /** Play `stream` in `el`; a refused autoplay with sound shows a "Turn on sound" button. */
  async show(el, stream) {
    const ok = await attach(el, stream);
    if (!ok && el.tagName === "AUDIO") {
      this.needsClick.add(el);
      this.problem("sound", "Sound is off until you click.");
    }
  }

  unlockSound() {
    for (const el of this.needsClick) el.play().catch(() => {});
    this.needsClick.clear();
    this.problem("sound", null);
  }

  // --- sending --------------------------------------------------------------------------

  /** Start the camera and microphone (whatever works) and publish them. */
  async startLocal({ camera = true, microphone = true, preview = null } = {}) {
    const got = await acquire({ camera, microphone });
    this.problem("devices", got.problems.join(" ") || null);
    for (const kind of ["camera", "microphone"]) {
      const track = got[kind];
      if (!track) continue;
      this.local[kind] = track;
      track.addEventListener("ended", () => {
        if (this.local[kind] !== track) return;
        this.local[kind] = null;
        const what = kind === "camera" ? "camera" : "microphone";
        this.problem(`${kind}-lost`, `Your ${what} stopped (permission withdrawn or device unplugged). The class goes on; reload to try again.`);
        this.republish().catch(() => {});
        if (preview && kind === "camera") preview.srcObject = null;
      });
    }
    if (preview && this.local.camera) attach(preview, new MediaStream([this.local.camera]));
    await this.republish();
    return got;
  }

  /** (Re)publish what is available now; nothing to send just stops sending. */
  async republish() {
    const { camera, microphone, screen } = this.local;
    if (!camera && !microphone && !screen) {
      if (this.publishing) await this.conn.send("media.unpublish", {}).catch(() => {});
      this.publishing = false;
      return null;
    }
    try {
      const out = await publish(this.conn, { camera: camera ?? false, microphone: microphone ?? false, screen: screen ?? false });
      this.publishing = true;
      this.problem("publish", null);
      return out;
    } catch (err) {
      this.publishing = false;
      this.problem("publish", `Your video could not be sent: ${err.message ?? err}. The class goes on.`);
      return null;
    }
  }

  /** Share a screen (getDisplayMedia) next to the camera; resolves false if refused. */
  async shareScreen() {
    let track;
    try {
      const stream = await navigator.mediaDevices.getDisplayMedia({ video: true });
      track = stream.getVideoTracks()[0];
    } catch (err) {
      this.problem("screen", describeProblem("Screen sharing", err));
      return false;
    }
    this.problem("screen", null);
    this.local.screen = track;
    track.addEventListener("ended", () => {
      if (this.local.screen === track) this.stopScreen().catch(() => {});
    });
    await this.republish();
    return true;
  }

  async stopScreen() {
    const track = this.local.screen;
    this.local.screen = null;
    track?.stop();
    await this.republish();
  }

  // --- receiving ------------------------------------------------------------------------

  async receive({ mode = "full", publishers = null } = {}) {
    this.receiving = { mode, publishers };
    this.mode = mode;
    try {
      await subscribe(this.conn, {
        mode,
        publishers,
        onTrack: (slot, track, stream) => {
          this.slots.set(slot, stream);
          this.onSlot(slot, stream, track);
        },
      });
      this.problem("receive", null);
    } catch (err) {
      this.receiving = null;
      this.problem("receive", `Live video is not available (${err.message ?? err}). Questions and polls still work.`);
      return;
    }
    this.monitor.start();
    if (this.stopReports === null) this.stopReports = startStatsReporting(this.conn, { intervalMs: 5000 });
  }

  async setMode(mode) {
    this.mode = mode;
    if (this.receiving) this.receiving.mode = mode;
    await setMode(this.conn, mode);
  }

  /** After a websocket resume: rebuild legs the server closed while we were away. */
  async recover() {
    const sub = currentPeer(this.conn, "subscribe");
    if (this.receiving && (!sub || ["failed", "closed"].includes(sub.connectionState))) {
      await this.receive(this.receiving);
    }
    const pub = currentPeer(this.conn, "publish");
    if ((this.local.camera || this.local.microphone) && (!pub || ["failed", "closed"].includes(pub.connectionState))) {
      await this.republish();
    }
  }

  /** True when the stage shows a publisher this page already receives on its own slots. */
  stageIsDuplicate() {
    if (!this.stage) return false;
    return [...this.slots.keys()].some((s) => s.startsWith(`${this.stage}/`));
  }

  frames() {
    return receivedFrames(this.conn);
  }

  async close() {
    this.monitor.stop();
    this.stopReports?.();
    await closeMedia(this.conn);
    for (const t of Object.values(this.local)) t?.stop();
  }
}
