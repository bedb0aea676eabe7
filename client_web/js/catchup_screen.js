// The lesson's shared screen in the catch-up player: a second, muted <video> under the camera
// recording that follows it (play, pause, seek, rate; a drift over DRIFT_S is corrected).
// Both files are on the lesson clock (seconds from the lesson's start): the camera file from 0,
// the screen file from the moment the share began (streaming/recording.py). Chromium keeps a
// WebM's own timestamps: the screen video's currentTime is the lesson time (it reads the
// share's start right after loading, and a seek before that snaps to it), so a position maps
// one to one; before the share began and after it ended the screen stands still, dimmed.

import { formatDuration, h } from "./dom.js";

export const DRIFT_S = 0.3;

/** The screen file recorded with this camera file: same stem, ".screen" before the extension. */
export function screenNameFor(name) {
  const dot = name.lastIndexOf(".");
  return dot > 0 ? `${name.slice(0, dot)}.screen${name.slice(dot)}` : `${name}.screen`;
}

/** A screen file (never offered as the main recording). */
export const isScreenName = (name) => /\.screen\.[a-z0-9]+$/i.test(name);

export class ScreenFollower {
  /** `main`: the camera <video>; the panel is built here and placed right after it. */
  constructor(main) {
    this.main = main;
    this.start = null; // lesson time of the share's first picture (known once loaded)
    this.video = h("video", { id: "catchup-screen", class: "catchup-video", muted: true, playsinline: true,
      preload: "auto", "aria-label": "Shared screen" });
    this.video.muted = true;
    this.caption = h("figcaption", { class: "muted small", text: "Shared screen" });
    this.panel = h("figure", { class: "catchup-screen", "data-sharing": "0" }, this.video, this.caption);
    main.after(this.panel);
    this.video.addEventListener("loadeddata", () => {
      if (this.start === null) this.start = this.video.currentTime;
      this.video.dataset.start = String(this.start);
      this.sync(true);
    });
    const follow = () => this.sync(false);
    for (const type of ["play", "pause", "ratechange", "timeupdate", "ended"]) main.addEventListener(type, follow);
    for (const type of ["seeking", "seeked"]) main.addEventListener(type, () => this.sync(true));
  }

  load(src) {
    this.video.src = src;
    this.video.dataset.loaded = "1";
  }

  remove() {
    this.panel.remove();
  }

  /** Bring the screen to the main player's position and state; `exact`: after a seek. */
  sync(exact) {
    const s = this.video;
    if (this.start === null) return; // not loaded yet: loadeddata syncs
    const t = this.main.currentTime;
    const end = Number.isFinite(s.duration) ? s.duration : Infinity;
    const sharing = t >= this.start && t < end;
    if (s.playbackRate !== this.main.playbackRate) s.playbackRate = this.main.playbackRate;
    const caption = t < this.start ? `Shared screen (the teacher shared it from ${formatDuration(this.start)})`
      : sharing ? "Shared screen" : "Shared screen (the share had ended)";
    if (this.caption.textContent !== caption) this.caption.textContent = caption;
    this.panel.dataset.sharing = sharing ? "1" : "0";
    const target = sharing ? t : (t < this.start ? this.start : end);
    if (Math.abs(s.currentTime - target) > (exact ? 0.05 : DRIFT_S)) s.currentTime = target;
    const run = sharing && !this.main.paused && !this.main.seeking && !this.main.ended;
    if (run && s.paused) s.play().catch(() => {});
    else if (!run && !s.paused) s.pause();
  }
}
