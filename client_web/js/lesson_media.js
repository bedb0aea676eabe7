// The lesson as students and facilitators receive it: the teacher's camera, microphone and
// shared screen, and the stage (a student or a site brought on stage). Markup: a `.lesson-video`
// root with #teacher-video, #screen-video, #teacher-audio, #stage-audio (optional
// #stage-video), a `.video-placeholder`, an optional `.audio-note`, #media-notice and
// #net-quality.
//
// A picture-in-picture (screen, stage) shows only while its source is live and once a frame of
// it has been painted (data-painting, media_devices.attach), so no empty black box ever sits on
// the page; the stage never shows the viewer themselves.

import { $ } from "./dom.js";
import { MediaSession } from "./media_view.js";

export class LessonPlayer {
  /** `media` options go to MediaSession (wantedMode, mayPublish). */
  constructor(ctx, root, { onSample = () => {}, media = {} } = {}) {
    this.root = root;
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
    if (el) this.media.show(el, stream);
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
    if (this.stageVideo) {
      const stageOn = Boolean(stage) && !duplicate && !self && live.has(`${stage}/camera`);
      this.stageVideo.hidden = !stageOn;
      if (!stageOn) this.stageVideo.dataset.painting = "0";
    }
  }

  setMode(mode) {
    this.root.dataset.mode = mode;
  }
}
