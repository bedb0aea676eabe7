// The teacher console's media: the teacher's camera + microphone (and a shared screen) going
// out, and every site's room feed coming back in a grid (one labelled tile per site), plus the
// stage (a student or site brought on stage) when it is not already a tile.

import { $, h } from "./dom.js";
import { onMedia } from "./media.js";
import { MediaSession } from "./media_view.js";

/** "site-3/camera" -> {pid: "site-3", label: "camera"}; "stage:camera" -> {pid: "stage", ...}. */
export function parseSlot(slot) {
  if (slot.startsWith("stage:")) return { pid: "stage", label: slot.slice(6) };
  const i = slot.lastIndexOf("/");
  return { pid: slot.slice(0, i), label: slot.slice(i + 1) };
}

export class VideoGrid {
  constructor(ctx, dir) {
    this.ctx = ctx;
    this.dir = dir;
    this.grid = $("#video-grid");
    this.media = new MediaSession(ctx, {
      notice: $("#media-notice"),
      quality: $("#net-quality"),
      onSlot: (slot, stream) => this.slot(slot, stream),
      onTracks: (live) => this.tracks(live),
    });
    for (const id of dir.siteIds()) if (id !== null) this.tile(`site-${id}`, dir.site(id));
    onMedia(this.media.conn, "media.recording", (data) => {
      const rec = $("#rec");
      rec.dataset.state = data.state;
      rec.dataset.name = data.name ?? ""; // the file; the chip itself follows the session state
    });
    this.stageTile = this.tile("stage", "On stage");
    this.stageTile.hidden = true;
  }

  tile(pid, label) {
    let el = this.grid.querySelector(`.video-tile[data-pid="${CSS.escape(pid)}"]`);
    if (el) return el;
    const site = pid.startsWith("site-") ? pid.slice(5) : "";
    const video = h("video", { muted: true, playsinline: true, autoplay: true, "aria-label": `Video: ${label}` });
    video.muted = true;
    const status = h("small", { class: "tile-status", text: "no video yet" });
    // decoding = a frame was painted while the tile's source is live (again after a pause:
    // a second guest on stage, a room feed that comes back)
    const painted = () => {
      if (el.dataset.live !== "1" || el.dataset.decoding === "1") return;
      el.dataset.decoding = "1";
      status.textContent = "live";
    };
    video.addEventListener("playing", painted);
    if ("requestVideoFrameCallback" in video) {
      const frame = () => {
        painted();
        video.requestVideoFrameCallback(frame);
      };
      video.requestVideoFrameCallback(frame);
    }
    el = h("figure", { class: "video-tile", "data-pid": pid, "data-site": site || null, "data-live": "0" },
      video, h("audio", { autoplay: true }),
      h("figcaption", {}, h("span", { text: label }), " ", status));
    this.grid.append(el);
    return el;
  }

  slot(slot, stream) {
    const { pid, label } = parseSlot(slot);
    if (label === "screen") return;
    const site = pid.startsWith("site-") ? Number(pid.slice(5)) : null;
    const tile = pid === "stage" ? this.stageTile : this.tile(pid, site ? this.dir.site(site) : pid);
    const el = tile.querySelector(label === "microphone" ? "audio" : "video");
    this.media.show(el, stream);
    this.tracks(this.media.live);
  }

  tracks(live) {
    for (const tile of this.grid.querySelectorAll(".video-tile")) {
      const pid = tile.dataset.pid;
      const source = pid === "stage" ? this.media.stage : pid;
      const on = !this.media.closed && Boolean(source) && (live.has(`${source}/camera`) || live.has(`${source}/microphone`));
      tile.dataset.live = on ? "1" : "0";
      if (!on) {
        tile.dataset.decoding = "0";
        tile.querySelector(".tile-status").textContent = this.media.closed ? "ended" : "no video yet";
      }
    }
    // the stage shows someone the grid already has: hide it and mute it (no double audio)
    const stage = this.media.stage;
    const who = stage?.startsWith("user-") ? this.dir.person(Number(stage.slice(5)))
      : stage?.startsWith("site-") ? this.dir.site(Number(stage.slice(5))) : null;
    this.stageTile.querySelector("figcaption span").textContent = who ? `On stage: ${who}` : "On stage";
    const duplicate = this.media.stageIsDuplicate();
    this.stageTile.hidden = !this.media.stage || duplicate;
    this.stageTile.querySelector("audio").muted = duplicate;
    this.stageTile.dataset.duplicate = duplicate ? "1" : "0";
  }

  /** The end of the lesson: every tile says its video ended (MediaSession stops the media). */
  end() {
    const share = $("#share-screen");
    share.disabled = true;
    share.setAttribute("aria-pressed", "false");
    share.textContent = "Share screen";
    this.tracks(new Set());
  }

  async start() {
    const share = $("#share-screen");
    share.addEventListener("click", async () => {
      share.disabled = true;
      if (this.media.local.screen) await this.media.stopScreen();
      else await this.media.shareScreen();
      const on = Boolean(this.media.local.screen);
      share.setAttribute("aria-pressed", String(on));
      share.textContent = on ? "Stop sharing" : "Share screen";
      share.disabled = false;
    });
    await this.media.startLocal({ preview: $("#self-view") });
    await this.media.receive({ mode: "full" });
  }
}
