// The student's view: prompts as they open, quiet checks, hand, confused, reactions, Q&A.

import { api } from "./api.js";
import { $, h, iconText, keyed } from "./dom.js";
import { boot } from "./page.js";
import { PENDING_FAMILIES } from "./protocol.js";
import { checkCard, promptCard } from "./widgets/answer_card.js";
import { askForm, renderQna } from "./widgets/qna.js";
import { attempt, toast } from "./widgets/status.js";
import { EngagementModel, startAttention } from "./engagement_view.js";
import { FallbackPolicy } from "./link_quality.js";
import { LessonPlayer } from "./lesson_media.js";
import { SlideImages, SlidePanel } from "./slides_view.js";
import { StageSelf } from "./stage_self.js";
import { ChatPanel } from "./chat_panel.js";
import { wireModeration } from "./moderation_notice.js";
import { wireRecording } from "./recording_view.js";
import { CaptionsPanel } from "./captions_panel.js";

const EMOJI = { thumbs_up: "👍", clap: "👏", heart: "❤️", laugh: "😄", surprised: "😮", thumbs_down: "👎" };
const SAVER_KEY = "hyflex.dataSaver";
const STATUS_TEXT = { scheduled: "starts soon", live: "live", ended: "ended" };

function activityItems(state) {
  const items = [];
  for (const p of state.polls.values()) items.push({ key: `p${p.poll_id}`, kind: "poll", item: p, t: p.opened_at ?? 0 });
  for (const q of state.questions.values()) {
    if (q.status !== "prepared") items.push({ key: `q${q.question_id}`, kind: "question", item: q, t: q.shown_at ?? 0 });
  }
  for (const c of state.checks.values()) items.push({ key: `c${c.check_id}`, kind: "check", item: c, t: c.opened_at ?? 0 });
  const rank = (x) => (x.item.status === "open" ? 0 : 1);
  return items.sort((a, b) => rank(a) - rank(b) || b.t - a.t).slice(0, 12);
}

function render(state, conn) {
  const me = state.me;
  const ended = state.status === "ended";
  const items = activityItems(state);
  $("#activity-empty").hidden = items.length > 0;
  const list = $("#activity");
  keyed(list, items, (x) => x.key,
    (x) => JSON.stringify([x.item.status, x.item.mine, x.item.correct, x.item.revealed ?? null, state.status]),
    (x) => {
      if (x.kind === "check") return checkCard(x.item, conn);
      return promptCard(x.item, conn, { isQuestion: x.kind === "question", ended: state.status === "ended" });
    });
  const raised = state.handRaised("user", me.user_id);
  const onStage = state.hands.stage.some((e) => e.kind === "user" && e.user_id === me.user_id);
  const hand = $("#hand");
  hand.classList.toggle("is-on", raised);
  hand.replaceChildren(...(onStage ? iconText("🎙", "You are on stage") : iconText("✋", raised ? "Lower hand" : "Raise hand")));
  hand.disabled = onStage || state.status !== "live";
  // Students see their own hand and the queue's length only (hand.count), not who else.
  hand.title = raised ? `Hands raised in the class: ${Math.max(state.hands.queued ?? 0, 1)}` : "";
  renderQna($("#qna-list"), state, conn, {
    asker: (i) => (i.user_id === me.user_id ? "You" : "A classmate"),
    canVote: !ended, canAnswer: false, canHide: () => false,
  });
  const status = $("#lesson-status");
  status.textContent = STATUS_TEXT[state.status] ?? state.status;
  status.className = `chip chip-${state.status}`;
  // after the end nothing can be sent: the controls say so by being disabled
  document.body.dataset.lesson = state.status;
  for (const el of document.querySelectorAll("#confused, #reactions button, #qna-form textarea, #qna-form button, #data-saver")) {
    el.disabled = ended;
  }
  $("#catchup-note").hidden = !ended;
  if (ended) $("#activity-empty").textContent = "The lesson has ended: nothing more to answer here.";
}

/** The end of the lesson: offer the catch-up player when there is something to catch up on
 *  (a recording, or the lesson's questions). */
async function offerCatchUp(state, sessionId) {
  $("#catchup-link").href = `/catchup/${sessionId}`;
  $("#results-link").href = `/report/${sessionId}`;
  const recordings = await api(`/api/sessions/${sessionId}/recordings`).catch(() => []);
  const questions = [...state.questions.values()].some((q) => typeof q.position === "number");
  if (recordings.length) {
    $("#catchup-link").textContent = "Watch the recording";
    $("#catchup-why").textContent = "It stops at each question so you can answer.";
  } else if (questions) {
    $("#catchup-link").textContent = "Answer the lesson's questions";
    $("#catchup-why").textContent = "There is no recording of this lesson yet.";
  } else {
    $("#ended-msg").textContent = "Live video, questions, Q&A and reactions are closed. There is no recording of this lesson.";
    return;
  }
  $("#catchup-offer").hidden = false;
}

function wireControls(ctx) {
  const { conn, state, schema } = ctx;
  $("#hand").addEventListener("click", () => {
    const raised = state.handRaised("user", state.me.user_id);
    attempt(conn.send(raised ? "hand.lower" : "hand.raise"));
  });
  wireConfused(ctx);
  const bar = $("#reactions");
  const known = Object.keys(EMOJI);
  const ordered = [...schema.reactions].sort((a, b) =>
    (known.indexOf(a) + 1 || 99) - (known.indexOf(b) + 1 || 99) || a.localeCompare(b));
  for (const name of ordered) {
    bar.append(h("button", {
      class: "btn btn-small reaction", type: "button", "aria-label": `React: ${name.replace("_", " ")}`,
      on: { click: () => attempt(conn.send("reaction.send", { reaction: name }), "Reaction sent") },
    }, EMOJI[name] ?? name));
  }
  askForm($("#qna-form"), conn, schema.limits.max_qna_text_length);
}

/** "I'm confused" follows the server's explicit fact about this student (engagement.explicit,
 *  and engagement.snapshot after a reload or on another device): on when pressed, off when
 *  withdrawn, seen by the teacher or the room's facilitator, or expired. */
function wireConfused(ctx) {
  const { conn, state } = ctx;
  const button = $("#confused");
  const set = (on) => {
    button.setAttribute("aria-pressed", String(on));
    button.classList.toggle("is-on", on);
    button.replaceChildren(...iconText("🤔", on ? "I'm confused (sent)" : "I'm confused"));
  };
  button.addEventListener("click", async () => {
    const on = button.getAttribute("aria-pressed") !== "true";
    const done = await attempt(conn.send(PENDING_FAMILIES.confused, { active: on }), on ? "Your teacher will see that you are confused" : null);
    if (done !== undefined) set(on);
  });
  state.subscribe(() => {
    if (state.status === "ended" && button.getAttribute("aria-pressed") === "true") set(false);
  });
  const eng = new EngagementModel().attach(conn);
  conn.onFamily("engagement", (frame) => {
    const d = frame.data ?? {};
    if (frame.type !== "engagement.explicit" || d.user_id !== state.me.user_id || d.active) return;
    if (d.cause === "seen") toast("Your \"I'm confused\" signal was cleared: your teacher has seen it.");
    if (d.cause === "expired") toast("Your \"I'm confused\" signal expired. Press it again if you are still stuck.");
  });
  eng.subscribe(() => {
    const on = state.status !== "ended" && eng.pressed.has(state.me.user_id);
    if ((button.getAttribute("aria-pressed") === "true") !== on) set(on);
    const me = eng.students.get(state.me.user_id);
    if (me) button.dataset.state = me.state;
  });
  return eng;
}

const onStage = (state) => state.hands.stage.some((e) => e.kind === "user" && e.user_id === state.me.user_id);

/** Data saver (chosen) and automatic fallback (weak link) both mean audio + slides. After a
 *  drop-out the media comes back in the mode wanted then; on stage, the student sends too. */
function wireMedia(ctx) {
  const player = new LessonPlayer(ctx, $("#video"), {
    onSample: (sample) => fallbackOn(sample),
    media: { wantedMode: () => mode(), mayPublish: () => onStage(ctx.state) },
  });
  const slides = wireSlides(ctx, () => mode());
  const stageSelf = new StageSelf(player.media);
  ctx.state.subscribe((state) => stageSelf.update(onStage(state)));
  const saver = $("#data-saver");
  saver.checked = localStorage.getItem(SAVER_KEY) === "1";
  const policy = new FallbackPolicy();
  let auto = false; // switched by the fallback, not by the student
  let ended = false; // the lesson is over: no more notices about the link
  const mode = () => (saver.checked || auto ? "audio_slides" : "full");
  const note = () => ($("#mode-note").textContent = ended ? "" : saver.checked
    ? "Data saver is on: audio and slides instead of full video."
    : auto ? "Weak connection: switched to audio and slides. Video comes back when the link recovers." : "");
  const apply = async () => {
    note();
    player.setMode(mode());
    slides.setMode(mode());
    window.dispatchEvent(new CustomEvent("hyflex:media-mode", { detail: { dataSaver: saver.checked, auto, mode: mode() } }));
    if (player.media.receiving && player.media.mode !== mode()) {
      await attempt(player.media.setMode(mode()));
    }
  };
  function fallbackOn(sample) {
    if (ended) return;
    const change = policy.update(sample.quality);
    if (change === "degrade" && !auto) {
      auto = true;
      apply();
    } else if (change === "restore" && auto) {
      auto = false;
      apply();
    }
  }
  saver.addEventListener("change", () => {
    localStorage.setItem(SAVER_KEY, saver.checked ? "1" : "0");
    apply();
  });
  note();
  player.setMode(mode());
  slides.setMode(mode());
  player.policy = policy;
  player.feed = (quality) => fallbackOn({ quality }); // tests drive the policy with samples
  const end = () => {
    ended = true;
    auto = false;
    note();
    player.media.monitor.stop();
    $("#media-notice").hidden = true;
    $("#video").dataset.ended = "1";
    $("#video-placeholder-text").textContent = "The lesson has ended.";
    slides.end();
  };
  return { player, slides, start: () => player.media.receive({ mode: mode() }), end };
}

/** The page the teacher presents. In audio + slides (data saver or a weak link) it takes the
 *  video's place, drawn from the small image; with full video it sits under the video, full
 *  size. Each page is fetched once. */
function wireSlides(ctx, mode) {
  const box = $("#video");
  const figure = $("#slide-panel");
  const images = new SlideImages(ctx.sessionId);
  const small = () => mode() !== "full";
  const panel = new SlidePanel(images, figure, { size: () => (small() ? "small" : "full") });
  let ended = false;
  const draw = () => {
    const slide = ended ? null : ctx.state.slide;
    box.dataset.slide = slide ? "1" : "0";
    panel.show(slide);
  };
  ctx.state.subscribe(draw);
  return {
    images,
    panel,
    setMode(m) {
      if (m !== "full") box.append(figure); // audio + slides (or audio only): in the video's place
      else box.after(figure);
      panel.refresh(ended ? null : ctx.state.slide);
      box.dataset.slide = !ended && ctx.state.slide ? "1" : "0";
    },
    end() {
      ended = true;
      draw();
    },
  };
}

const ctx = await boot({ roles: ["student"], signIn: { href: "/join", text: "Open your join link again" } });
if (ctx) {
  const title = ctx.auth.session_title || "Your class";
  $("#title").textContent = title;
  document.title = `${title} · HyFlex Live`;
  wireControls(ctx);
  new ChatPanel($("#chat"), ctx, { channels: ["everyone", "site", "teacher"] });
  wireModeration(ctx, () => window.__hyflex.media);
  new CaptionsPanel($("#captions"), ctx, {});
  wireRecording(ctx, { notice: $("#rec-notice") });
  ctx.state.subscribe((state) => render(state, ctx.conn));
  const { player, slides, start, end } = wireMedia(ctx);
  window.__hyflex.slides = slides;
  let over = false;
  ctx.state.subscribe((state) => {
    if (state.status !== "ended" || over) return;
    over = true;
    end();
    offerCatchUp(state, ctx.sessionId);
  });
  window.__hyflex.media = player.media;
  window.__hyflex.player = player;
  startAttention(ctx.conn, { mediaSample: () => player.media.monitor.latest });
  await start();
}
