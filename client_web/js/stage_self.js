// A student brought on stage: their camera and microphone go out, they see themselves (their
// own stream, muted), a clear "You are on stage" state and a microphone level (Web Audio
// AnalyserNode), and all of it stops when the teacher returns them. Being on stage is the
// session's state (the hand queue's stage, which survives a drop-out), so after a resume the page
// finds itself still on stage and MediaSession.recover() sends again.

import { $ } from "./dom.js";

const LEVEL_MS = 100;

/** The microphone's level, 0..1 (RMS of the waveform, scaled), shown in a <meter>; its
 *  data-peak keeps the loudest level since start(). */
export class MicLevel {
  constructor(meter) {
    this.meter = meter;
    this.audio = null;
    this.timer = null;
  }

  start(track) {
    this.stop();
    if (!track || !window.AudioContext) return;
    const audio = new AudioContext();
    const analyser = audio.createAnalyser();
    analyser.fftSize = 1024;
    audio.createMediaStreamSource(new MediaStream([track])).connect(analyser);
    audio.resume().catch(() => {});
    const samples = new Float32Array(analyser.fftSize);
    this.audio = audio;
    this.meter.dataset.peak = "0";
    this.timer = setInterval(() => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const x of samples) sum += x * x;
      const level = Math.min(1, Math.sqrt(sum / samples.length) * 4);
      this.meter.value = level;
      if (level > Number(this.meter.dataset.peak)) this.meter.dataset.peak = level.toFixed(3);
    }, LEVEL_MS);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    this.audio?.close().catch(() => {});
    this.audio = null;
    this.meter.value = 0;
  }
}

/** Markup: #on-stage (hidden off stage) holding #self-preview and #mic-level. */
export class StageSelf {
  constructor(media, root = $("#on-stage")) {
    this.media = media;
    this.root = root;
    this.preview = $("#self-preview", root);
    this.level = new MicLevel($("#mic-level", root));
    this.on = false;
    this.chain = Promise.resolve();
  }

  /** Follow the session's stage (changes are applied one after the other). */
  update(onStage) {
    if (onStage === this.on) return this.chain;
    this.on = onStage;
    this.chain = this.chain.then(() => (onStage ? this.enter() : this.leave())).catch(() => {});
    return this.chain;
  }

  async enter() {
    if (!this.on) return; // returned from stage meanwhile: leave() follows
    this.root.hidden = false;
    this.root.dataset.state = "starting";
    await this.media.startLocal({ preview: this.preview });
    this.level.start(this.media.local.microphone);
    this.root.dataset.state = this.media.publishing ? "sending" : "not-sending";
  }

  async leave() {
    this.level.stop();
    this.preview.srcObject = null;
    this.root.hidden = true;
    delete this.root.dataset.state;
    await this.media.stopLocal();
  }
}
