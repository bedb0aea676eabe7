// Media for the views: the local camera/microphone going out (media_devices.js), the receiving
// leg with slots attached to <video>/<audio> elements, live-track and stage updates, and the
// connection indicator from getStats.
//
// After a drop-out the media comes back by itself: when the websocket resumes, both legs are
// set up again on fresh peer connections (the server closes the legs of someone away for a few
// seconds), the receiving leg in the mode the page wants now (the same as before unless the link
// is still weak), the sending leg only while this person may send. A failed request is retried
// a few times with growing pauses. People read only sentences meant for them: a refusal's own
// words, otherwise "Video is reconnecting…".

import { h } from "./dom.js";
import { IceServers } from "./ice.js";
import { LinkMonitor } from "./link_quality.js";
import {
  adaptConnection, closeMedia, currentPeer, onMedia, publish, receivedFrames, setMode,
  startStatsReporting, subscribe, unpublish,
} from "./media.js";
import { acquire, attach, describeProblem } from "./media_devices.js";

export const RECONNECTING = "Video is reconnecting…";
const RETRY_MS = [1000, 2000, 4000, 8000, 15000];
const GAVE_UP = {
  receive: "Live video could not be set up again. Questions and polls still work; reload the page to try again.",
  publish: "Your video could not be sent. The class goes on; reload the page to try again.",
};

// Failures whose message media.js wrote for people (no route through the network).
const ROUTE_CODES = new Set(["turn_refused", "no_route"]);

/** What a person may read about a failed media request: a refusal's own (server-written)
 *  sentence or a network route problem (media.js), otherwise the generic reconnecting text
 *  (internal failures, timeouts, closed legs). */
export function forPeople(err) {
  if (ROUTE_CODES.has(err?.code) && err.message) return err.message;
  return err?.code === "not_permitted" && err.message ? err.message : RECONNECTING;
}

const QUALITY_TEXT = {
  good: "Video: good", fair: "Video: fair", poor: "Video: weak link", none: "Video: off",
  starting: "Video: starting",
};

export class MediaSession {
  /**
   * @param {object} ctx  from page.boot()
   * @param {object} opts
   * @param {HTMLElement} opts.notice   role=alert paragraph for device/permission problems
   * @param {HTMLElement} [opts.quality] connection indicator
   * @param {(slot, stream, track) => void} [opts.onSlot]
   * @param {(live: Set<string>, stage: string|null) => void} [opts.onTracks]
   * @param {(sample) => void} [opts.onSample]
   * @param {() => string} [opts.wantedMode]  the mode to receive in after a drop-out
   * @param {() => boolean} [opts.mayPublish]  whether to send again after a drop-out
   */
  constructor(ctx, opts) {
    const { notice, quality = null, onSlot = () => {}, onTracks = () => {}, onSample = () => {} } = opts;
    this.ctx = ctx;
    this.conn = adaptConnection(ctx.conn);
    this.ice = new IceServers(ctx.sessionId);
    this.noticeEl = notice;
    this.qualityEl = quality;
    this.onSlot = onSlot;
    this.onTracks = onTracks;
    this.onSample = onSample;
    this.wantedMode = opts.wantedMode ?? (() => this.mode);
    this.mayPublish = opts.mayPublish ?? (() => true);
    this.problems = new Map(); // key -> message
    this.local = { camera: null, microphone: null, screen: null };
    this.publishing = false;
    this.receiving = null; // {mode, publishers}
    this.subscriptions = 0; // receiving legs set up so far (1 + one per recovery)
    this.slots = new Map(); // slot -> MediaStream
    this.live = new Set();
    this.stage = null;
    this.mode = "full";
    this.needsClick = new Set();
    this.tries = { receive: 0, publish: 0 };
    this.timers = { receive: null, publish: null };
    this.closed = false;
    this.previews = new Set(); // <video> elements showing this page's own camera
    onMedia(this.conn, "media.tracks", (data) => {
      this.live = new Set(data.live ?? []);
      this.stage = data.stage ?? null;
      this.onTracks(this.live, this.stage);
    });
    onMedia(this.conn, "media.closed", (data) => {
      if (data.reason === "session_ended") this.problem("ended", "The lesson has ended: live video stopped.");
      else if (data.leg === "publish") this.problem("publish", "You left the stage: your camera and microphone are no longer sent.");
      if (data.leg === "publish" || data.leg === "all") this.publishing = false;
      if (data.leg === "subscribe" || data.leg === "all") this.receiving = null;
      this.setQuality("none");
    });
    ctx.conn.onWelcome(() => {
      if (ctx.conn.welcomes > 1) this.recover();
    });
    // the end of the lesson: every camera, microphone and screen stops and the legs close
    ctx.state?.subscribe?.((state) => {
      if (state.status === "ended" && !this.closed) this.close().catch(() => {});
    });
    this.monitor = new LinkMonitor({
      getPeer: () => currentPeer(this.conn, "subscribe"),
      expecting: () => this.online() && [...this.live].some((s) => this.slots.has(s)),
      onSample: (sample) => {
        if (!this.online()) return; // the websocket is down: the resume sets media up again
        this.setQuality(sample.quality);
        this.onSample(sample);
      },
    });
    this.stopReports = null;
  }

  online() {
    return this.ctx.conn.status === "live";
  }

  /** Nothing to set up again once the lesson has ended. */
  ended() {
    return this.ctx.state?.status === "ended";
  }

  /** The page's own participant id in the relay (the stage never shows oneself). */
  ownPid() {
    const me = this.ctx.state?.me ?? {};
    if (me.role === "student") return `user-${me.user_id}`;
    if (me.role === "facilitator") return `site-${me.site_id}`;
    return me.role === "teacher" ? "teacher" : null;
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

  /** A failed leg is tried again after a pause (not while the websocket is down: the resume
   *  does it); after the last pause the person is told plainly. */
  retryLater(leg) {
    clearTimeout(this.timers[leg]);
    const tries = (this.tries[leg] += 1);
    if (tries > RETRY_MS.length) {
      const route = this.problems.get(leg)?.startsWith("Video could not connect");
      this.problem(leg, route ? `${this.problems.get(leg)} ${GAVE_UP[leg]}` : GAVE_UP[leg]);
      return;
    }
    this.timers[leg] = setTimeout(() => {
      if (this.closed || !this.online() || this.ended()) return;
      if (leg === "receive" && this.receiving) this.resubscribe();
      if (leg === "publish") this.republish();
    }, RETRY_MS[tries - 1]);
  }

  // --- sending --------------------------------------------------------------------------

  /** Start the camera and microphone (whatever works) and publish them. */
  async startLocal({ camera = true, microphone = true, preview = null } = {}) {
    const got = await acquire({ camera, microphone });
    if (this.closed) { // the lesson ended while the devices were starting
      for (const kind of ["camera", "microphone"]) got[kind]?.stop();
      return got;
    }
    this.problem("devices", got.problems.join(" ") || null);
    for (const kind of ["camera", "microphone"]) {
      const track = got[kind];
      if (!track) continue;
      this.local[kind] = track;
      track.addEventListener("ended", () => {
        if (this.local[kind] !== track) return;
        this.local[kind] = null;
        this.problem(`${kind}-lost`, `Your ${kind} stopped (permission withdrawn or device unplugged). The class goes on; reload to try again.`);
        this.republish().catch(() => {});
        if (preview && kind === "camera") preview.srcObject = null;
      });
    }
    if (preview && this.local.camera) {
      this.previews.add(preview);
      attach(preview, new MediaStream([this.local.camera]));
    }
    await this.republish();
    return got;
  }

  /** Stop sending: the camera and microphone are released and the publish leg closed. */
  async stopLocal() {
    for (const kind of ["camera", "microphone"]) {
      this.local[kind]?.stop();
      this.local[kind] = null;
    }
    this.problem("devices", null);
    await this.republish();
  }

  /** (Re)publish what is available now; nothing to send just stops sending. */
  async republish() {
    clearTimeout(this.timers.publish);
    const { camera, microphone, screen } = this.local;
    if (!camera && !microphone && !screen) {
      this.publishing = false;
      this.problem("publish", null);
      await unpublish(this.conn);
      return null;
    }
    try {
      const ice = await this.ice.current();
      const out = await publish(this.conn, { camera: camera ?? false, microphone: microphone ?? false, screen: screen ?? false, ...ice });
      this.publishing = true;
      this.tries.publish = 0;
      this.problem("publish", null);
      return out;
    } catch (err) {
      this.publishing = false;
      if (err?.code === "not_permitted") {
        this.problem("publish", forPeople(err));
      } else if (ROUTE_CODES.has(err?.code)) {
        this.ice.forget(); // the next try fetches fresh TURN credentials
        this.problem("publish", forPeople(err));
        this.retryLater("publish");
      } else {
        this.problem("publish", `Your video: ${RECONNECTING}`);
        this.retryLater("publish");
      }
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
    if (this.closed) {
      track?.stop();
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
    if (this.closed) return;
    clearTimeout(this.timers.receive);
    this.receiving = { mode, publishers };
    this.mode = mode;
    try {
      const ice = await this.ice.current();
      await subscribe(this.conn, {
        ...ice,
        mode,
        publishers,
        onTrack: (slot, track, stream) => {
          this.slots.set(slot, stream);
          this.onSlot(slot, stream, track);
        },
      });
      this.subscriptions += 1;
      this.tries.receive = 0;
      this.problem("receive", null);
      // until the link monitor's first measurement (two samples, about 4 s), not "off"
      if (this.qualityEl?.dataset.quality === "none") this.setQuality("starting");
    } catch (err) {
      this.problem("receive", forPeople(err));
      if (ROUTE_CODES.has(err?.code)) this.ice.forget();
      if (err?.code !== "not_permitted") this.retryLater("receive");
      return;
    }
    this.monitor.start();
    if (this.stopReports === null) this.stopReports = startStatsReporting(this.conn, { intervalMs: 5000 });
  }

  /** A fresh receiving leg with the same publishers, in the mode the page wants now. */
  resubscribe() {
    return this.receive({ mode: this.wantedMode(), publishers: this.receiving?.publishers ?? null });
  }

  /** Change what is received (no renegotiation); a leg the server has closed meanwhile is set
   *  up again in the new mode. */
  async setMode(mode) {
    this.mode = mode;
    if (!this.receiving) return;
    this.receiving.mode = mode;
    try {
      await setMode(this.conn, mode);
    } catch (err) {
      if (err?.code === "not_permitted") this.problem("receive", forPeople(err));
      else if (this.receiving?.mode === mode) await this.resubscribe();
    }
  }

  /** After a websocket resume: both legs again, on fresh peer connections. */
  async recover() {
    if (this.closed || this.ended()) return;
    if (this.receiving) await this.resubscribe();
    const { camera, microphone, screen } = this.local;
    if (camera || microphone || screen) {
      if (this.mayPublish()) await this.republish();
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

  /** Stop everything: local tracks (camera, microphone, screen) first, then both legs. */
  async close() {
    this.closed = true;
    clearTimeout(this.timers.receive);
    clearTimeout(this.timers.publish);
    this.monitor.stop();
    this.stopReports?.();
    for (const kind of Object.keys(this.local)) {
      this.local[kind]?.stop();
      this.local[kind] = null;
    }
    for (const el of this.previews) el.srcObject = null;
    this.publishing = false;
    this.receiving = null;
    this.setQuality("none");
    await closeMedia(this.conn);
  }
}
