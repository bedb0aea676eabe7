// The lesson as students and facilitators receive it: the teacher's camera, microphone and
// shared screen, and the stage (a student or a site brought on stage). Markup: a `.lesson-video`
// root with #teacher-video, #screen-video, #teacher-audio, #stage-audio (optional
// #stage-video), a `.video-placeholder`, an optional `.audio-note`, #media-notice and
// #net-quality.
//
// A picture-in-picture (screen, stage) shows only while its source is live and once a frame of
// it has been painted (data-painting, media_devices.attach), so no empty black box ever sits on
// the page; the stage never shows the viewer themselves. In audio + slides the relay sends no
// stage video: the stage is then a label saying who is on stage (`stageName(pid)`).

import { $, h } from "./dom.js";
import { MediaSession } from "./media_view.js";

const STAGE_WORDS = (pid) => (pid.startsWith("site-") ? "A classroom" : "A classmate");

export class LessonPlayer {
  /** `media` options go to MediaSession (wantedMode, mayPublish); `stageName(pid)` names who
   *  is on stage ("user-7", "site-3"). */
  constructor(ctx, root, { onSample = () => {}, media = {}, stageName = STAGE_WORDS } = {}) {
    this.root = root;
    this.stageName = stageName;
    this.stageLabel = h("p", { class: "stage-label", id: "stage-label", hidden: true });
    root.append(this.stageLabel);
    this.camera = $("#teacher-video", root);
    this.screen = $("#screen-video", root);
    this.audio = $("#teacher-audio", root);
    this.stageAudio = $("#stage-audio", root);
    this.stageVideo = root.querySelector("#stage-video");
    this.camera.addEventListener("playing", () => (root.dataset.decoding = "1"));
    this.screen.addEventListener("playing", () => (root.dataset.decoding = "1"));
    this.media = new MediaSession(ctx, {
      ...media,
      notice: $("#media-notice"),
      quality: $("#net-quality"),
      onSlot: (slot, stream) => this.slot(slot, stream),
      onTracks: () => this.layout(),
      onSample,
    });
  }

  slot(slot, stream) {
    const el = {
      "teacher/camera": this.camera,
      "teacher/microphone": this.audio,
      "teacher/screen": this.screen,
      "stage:microphone": this.stageAudio,
      "stage:camera": this.stageVideo,
    }[slot];
    if (!el) return;
    // a picture-in-picture waits for a frame of its new stream (no black box meanwhile)
    if (el !== this.camera && el.srcObject !== stream) el.dataset.painting = "0";
    this.media.show(el, stream);
    this.layout();
  }

  /** Screen share shown big with the camera small; the stage muted when it duplicates a
   *  publisher this page already hears (the teacher) or is this page's own participant. */
  layout() {
    const { live, stage } = this.media;
    const screenOn = live.has("teacher/screen");
    this.screen.hidden = !screenOn;
    this.screen.classList.toggle("main-video", screenOn);
    this.screen.classList.toggle("pip-video", !screenOn);
    this.camera.classList.toggle("main-video", !screenOn);
    this.camera.classList.toggle("pip-video", screenOn);
    this.root.dataset.screen = screenOn ? "1" : "0";
    if (!screenOn) this.screen.dataset.painting = "0";
    if (!live.has("teacher/camera")) this.camera.dataset.painting = "0";
    const duplicate = this.media.stageIsDuplicate();
    const self = stage !== null && stage === this.media.ownPid();
    this.stageAudio.muted = duplicate || self;
    this.root.dataset.stageDuplicate = duplicate ? "1" : "0";
    const shown = Boolean(stage) && !duplicate && !self && !this.media.closed;
    const video = shown && (this.root.dataset.mode ?? "full") === "full" && live.has(`${stage}/camera`);
    if (this.stageVideo) {
      this.stageVideo.hidden = !video;
      if (!video) this.stageVideo.dataset.painting = "0";
    }
    // no stage video here (audio + slides, or no camera): who is on stage, in words
    this.stageLabel.hidden = !shown || (video && Boolean(this.stageVideo));
    this.stageLabel.textContent = shown ? `On stage: ${this.stageName(stage)} (you hear them)` : "";
  }

  setMode(mode) {
    this.root.dataset.mode = mode;
    this.layout();
  }
}
