// The lesson as students and facilitators receive it: the teacher's camera, microphone and
// shared screen, and the stage (a student or a site brought on stage). Markup: a `.lesson-video`
// root with #teacher-video, #screen-video, #teacher-audio, #stage-audio (optional
// #stage-video), a `.video-placeholder`, #media-notice and #net-quality.

import { $ } from "./dom.js";
import { MediaSession } from "./media_view.js";

export class LessonPlayer {
  constructor(ctx, root, { onSample = () => {} } = {}) {
    this.root = root;
    this.camera = $("#teacher-video", root);
    this.screen = $("#screen-video", root);
    this.audio = $("#teacher-audio", root);
    this.stageAudio = $("#stage-audio", root);
    this.stageVideo = root.querySelector("#stage-video");
    this.camera.addEventListener("playing", () => (root.dataset.decoding = "1"));
    this.screen.addEventListener("playing", () => (root.dataset.decoding = "1"));
    this.media = new MediaSession(ctx, {
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
   *  publisher this page already hears (the teacher). */
  layout() {
    const live = this.media.live;
    const screenOn = live.has("teacher/screen");
    this.screen.hidden = !screenOn;
    this.screen.classList.toggle("main-video", screenOn);
    this.screen.classList.toggle("pip-video", !screenOn);
    this.camera.classList.toggle("main-video", !screenOn);
    this.camera.classList.toggle("pip-video", screenOn);
    const duplicate = this.media.stageIsDuplicate();
    this.stageAudio.muted = duplicate;
    this.root.dataset.stageDuplicate = duplicate ? "1" : "0";
    if (this.stageVideo) this.stageVideo.hidden = !this.media.stage || duplicate;
  }

  setMode(mode) {
    this.root.dataset.mode = mode;
  }
}
