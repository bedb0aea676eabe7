// The catch-up player (/catchup/{session_id}): plays the lesson recording and stops at each
// embedded question when playback reaches the moment (lesson clock) it was shown in class; the
// student answers (`question.answer`, stored by the server as a catch-up answer) or skips, and
// playback resumes. A seek is the student's own choice: it does not stop at the questions it
// jumps over (the list on the right goes to each). The status line always tells the player's
// own position. Questions come from the welcome snapshot (shown questions with `position`).
// Recordings are listed by GET /api/sessions/{id}/recordings and fetched with the bearer token.
// The teacher's slides follow the player's position: the snapshot's slide history (each
// change's lesson-clock position) gives the page shown at any moment (slides_view.slideAt).
// A screen the teacher shared was recorded to its own file (`<camera stem>.screen.webm`): it
// plays in a second, muted video under the camera that follows it (catchup_screen.js).

import { api, loadAuth } from "./api.js";
import { $, formatDuration, h, keyed } from "./dom.js";
import { boot } from "./page.js";
import { promptCard } from "./widgets/answer_card.js";
import { SlideImages, SlidePanel, slideAt } from "./slides_view.js";
import { ScreenFollower, isScreenName, screenNameFor } from "./catchup_screen.js";

const EARLY_S = 0.05; // stop this close before the moment (timeupdate fires ~4 times a second)

/** A recording fetched with the bearer token, as an object URL for a <video>. */
async function blobUrl(url, what) {
  const response = await fetch(url, { headers: { Authorization: `Bearer ${loadAuth().token}` } });
  if (!response.ok) throw new Error(`${what}: HTTP ${response.status}`);
  return URL.createObjectURL(await response.blob());
}

class CatchUp {
  constructor(ctx) {
    this.ctx = ctx;
    this.video = $("#recording");
    this.status = $("#rec-status");
    this.slot = $("#question-slot");
    this.met = new Set(); // questions stopped at (answered or skipped) in this viewing
    this.current = null; // question id shown now
    this.lastTime = 0; // where playback was at the last check: a question between it and now is due
    this.seekingNow = false;
    this.screen = null; // the shared screen's follower, when the lesson has a screen file
    this.slides = new SlidePanel(new SlideImages(ctx.sessionId), $("#slide-panel"));
    const check = () => this.check();
    this.video.addEventListener("timeupdate", check);
    if ("requestVideoFrameCallback" in this.video) {
      const onFrame = () => {
        check();
        this.video.requestVideoFrameCallback(onFrame);
      };
      this.video.requestVideoFrameCallback(onFrame);
    }
    this.video.addEventListener("seeking", () => {
      this.seekingNow = true;
    });
    this.video.addEventListener("seeked", () => {
      this.seekingNow = false;
      const t = this.video.currentTime;
      this.lastTime = t;
      // seeking back before a question meets it again; a question on screen is left behind
      for (const q of this.questions()) if (q.position > t) this.met.delete(q.question_id);
      if (this.current !== null) this.leave();
      this.showStatus();
      this.check();
    });
    this.video.addEventListener("play", () => {
      if (this.current !== null) this.video.pause();
      else this.showStatus();
    });
    for (const type of ["pause", "ended"]) this.video.addEventListener(type, () => this.showStatus());
  }

  /** The status line, from the player's own position. */
  showStatus() {
    const at = formatDuration(this.video.currentTime);
    if (this.current !== null) this.status.textContent = `Paused at ${at}: a question from the lesson.`;
    else if (this.video.ended) this.status.textContent = "The end of the recording.";
    else this.status.textContent = this.video.paused ? `Paused at ${at}.` : "Playing.";
  }

  questions() {
    return [...this.ctx.state.questions.values()]
      .filter((q) => typeof q.position === "number")
      .sort((a, b) => a.position - b.position || a.question_id - b.question_id);
  }

  async load() {
    const recordings = await api(`/api/sessions/${this.ctx.sessionId}/recordings`);
    const cameras = recordings.filter((r) => !isScreenName(r.name)); // a screen file is never the main one
    if (!cameras.length) {
      this.status.textContent = "There is no recording of this lesson yet. The questions are listed on the right.";
      return;
    }
    const item = cameras[cameras.length - 1];
    this.video.src = await blobUrl(item.url, "recording");
    this.video.dataset.loaded = "1";
    const screen = recordings.find((r) => r.name === screenNameFor(item.name));
    if (screen) {
      this.screen = new ScreenFollower(this.video);
      try {
        this.screen.load(await blobUrl(screen.url, "shared screen"));
      } catch {
        this.screen.remove(); // the camera plays on without it
        this.screen = null;
      }
    }
    await this.loadCaptions().catch(() => {}); // a lesson without captions plays on
    this.status.textContent = "Press play. The video stops at each question.";
    this.video.play().catch(() => {});
  }

  /** The slide the teacher showed at this point of the recording (lesson clock = position). */
  showSlide() {
    const history = this.ctx.state.slideHistory ?? [];
    this.slides.show(history.length ? slideAt(history, this.video.currentTime) : null);
  }

  /** The lesson's live captions (WebVTT on the lesson clock, like the recording) as the
   *  video's captions track, shown at their moments. */
  async loadCaptions() {
    const response = await fetch(`/api/sessions/${this.ctx.sessionId}/captions.vtt`,
      { headers: { Authorization: `Bearer ${loadAuth().token}` } });
    if (!response.ok) return;
    const text = await response.text();
    if (!text.includes("-->")) return; // no captions in this lesson
    const src = URL.createObjectURL(new Blob([text], { type: "text/vtt" }));
    this.video.append(h("track", { kind: "captions", label: "Captions", srclang: "en", src, default: true }));
    this.video.dataset.captions = "1";
  }

  /** Stop at the first question that playback has reached since the last check. */
  check() {
    this.showSlide();
    if (this.seekingNow || this.video.seeking) return; // seeked: handled there
    if (!this.ctx.conn.welcomes) return; // the questions are not known yet
    const from = this.lastTime;
    const t = this.video.currentTime;
    this.lastTime = t;
    if (this.current !== null) return;
    const due = this.questions().find((q) =>
      !this.met.has(q.question_id) && q.position >= from - EARLY_S && q.position <= t + EARLY_S);
    if (due) this.stopAt(due);
  }

  stopAt(q) {
    this.video.pause();
    this.current = q.question_id;
    this.video.dataset.pausedFor = String(q.question_id);
    this.showStatus();
    this.render();
  }

  /** Take the question off the screen (not answered, not skipped: met again when reached). */
  leave() {
    this.current = null;
    delete this.video.dataset.pausedFor;
    this.render();
  }

  resume() {
    if (this.current !== null) this.met.add(this.current);
    this.leave();
    this.status.textContent = "Playing.";
    this.video.play().catch(() => {});
  }

  /** A marker: play from a little before the question, which then stops the video. */
  goTo(q) {
    this.met.delete(q.question_id);
    this.video.currentTime = Math.max(0, q.position - 2);
    this.video.play().catch(() => {});
  }

  render() {
    const qs = this.questions();
    keyed($("#markers"), qs, (q) => q.question_id, (q) => JSON.stringify([q.mine, this.current === q.question_id]), (q) => {
      const answered = q.mine != null;
      return h("li", { "data-question": q.question_id, "data-state": answered ? "answered" : "open" },
        h("button", { class: "btn btn-small btn-quiet", type: "button", "aria-label": `Go to ${formatDuration(q.position)}`,
          on: { click: () => this.goTo(q) } }, formatDuration(q.position)),
        h("span", { class: "grow", text: q.prompt }),
        h("small", { class: "muted", text: answered ? (q.mine.catch_up ? "answered (catch-up)" : "answered in class") : "" }));
    });
    const q = this.current === null ? null : this.ctx.state.questions.get(this.current);
    if (!q) {
      this.slot.replaceChildren();
      return;
    }
    const card = promptCard(q, this.ctx.conn, { isQuestion: true, ended: true });
    card.classList.add("question-overlay");
    const answered = q.mine != null;
    card.append(h("div", { class: "row" },
      answered
        ? h("p", { class: "mine-note", text: q.mine.catch_up ? "Saved as a catch-up answer." : "You answered this in class." })
        : null,
      h("button", { class: `btn ${answered ? "btn-primary" : "btn-quiet"}`, type: "button", id: "resume", on: { click: () => this.resume() } },
        answered ? "Continue the video" : "Skip for now")));
    this.slot.replaceChildren(card);
  }
}

const ctx = await boot({ roles: ["student"], signIn: { href: "/join", text: "Open your join link again" } });
if (ctx) {
  if (ctx.auth.session_title) {
    $("#title").textContent = `Catch up: ${ctx.auth.session_title}`;
    document.title = `${ctx.auth.session_title} · Catch up · HyFlex Live`;
  }
  const player = new CatchUp(ctx);
  window.__hyflex.catchup = player;
  ctx.state.subscribe((state) => {
    const q = player.current === null ? null : state.questions.get(player.current);
    if (q?.mine != null) {
      player.resume(); // answered: stored as catch-up by the server; carry on
      player.status.textContent = q.mine.catch_up ? "Answer saved as a catch-up answer. Playing." : "Playing.";
    }
    player.render();
    player.check();
  });
  player.load().catch((err) => {
    player.status.textContent = `The recording could not be loaded (${err.message ?? err}).`;
  });
}
