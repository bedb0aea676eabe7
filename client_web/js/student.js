// The student's view: prompts as they open, quiet checks, hand, confused, reactions, Q&A.

import { $, h, iconText, keyed } from "./dom.js";
import { boot } from "./page.js";
import { PENDING_FAMILIES } from "./protocol.js";
import { checkCard, promptCard } from "./widgets/answer_card.js";
import { askForm, renderQna } from "./widgets/qna.js";
import { attempt, toast } from "./widgets/status.js";
import { EngagementModel, startAttention } from "./engagement_view.js";
import { FallbackPolicy } from "./link_quality.js";
import { LessonPlayer } from "./lesson_media.js";

const EMOJI = { thumbs_up: "👍", clap: "👏", heart: "❤️", laugh: "😄", surprised: "😮", thumbs_down: "👎" };
const SAVER_KEY = "hyflex.dataSaver";
const CONFUSED_EXPIRY_MS = 5 * 60 * 1000; // the server's default confused_expiry_s (a backstop)

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
    canVote: true, canAnswer: false, canHide: () => false,
  });
  $("#catchup-note").hidden = state.status !== "ended";
  $("#catchup-link").href = `/catchup/${conn.sessionId}`;
  $("#title").textContent = state.status === "live" ? "Live class" : state.status === "ended" ? "Class ended" : "Class starts soon";
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

/** "I'm confused": on when pressed; off when withdrawn, when the server's state frames for
 *  this student say the confusion is over (expired or acknowledged by the teacher), or after
 *  the expiry time if no frame came. A reload restores it from engagement.snapshot. */
function wireConfused(ctx) {
  const { conn, state } = ctx;
  const button = $("#confused");
  let timer = null;
  let sawConfused = false;
  const set = (on) => {
    button.setAttribute("aria-pressed", String(on));
    button.classList.toggle("is-on", on);
    button.replaceChildren(...iconText("🤔", on ? "I'm confused (sent)" : "I'm confused"));
    clearTimeout(timer);
    sawConfused = false;
    if (on) timer = setTimeout(() => set(false), CONFUSED_EXPIRY_MS);
  };
  button.addEventListener("click", async () => {
    const on = button.getAttribute("aria-pressed") !== "true";
    const done = await attempt(conn.send(PENDING_FAMILIES.confused, { active: on }), on ? "Your teacher will see that you are confused" : null);
    if (done !== undefined) set(on);
  });
  // the teacher (or the room's facilitator) marked this student's confusion as seen
  conn.onFamily("engagement", (frame) => {
    if (frame.type !== "engagement.seen" || button.getAttribute("aria-pressed") !== "true") return;
    set(false);
    toast("Your \"I'm confused\" signal was cleared: your teacher has seen it.");
  });
  const eng = new EngagementModel().attach(conn);
  eng.subscribe(() => {
    const me = eng.students.get(state.me.user_id);
    if (!me) return;
    const pressed = (me.reasons ?? []).some((r) => r.code === "pressed_confused");
    const on = button.getAttribute("aria-pressed") === "true";
    if (me.state === "confused" && pressed) {
      if (!on) set(true); // restored after a reload or another device
      sawConfused = true;
    } else if (on && (sawConfused || me.previous === "confused")) {
      set(false); // expired, or the teacher has seen it
      toast("Your \"I'm confused\" signal was cleared (seen by your teacher, or it expired).");
    }
    button.dataset.state = me.state;
  });
  return eng;
}

/** Data saver (chosen) and automatic fallback (weak link) both mean audio + slides. */
function wireMedia(ctx) {
  const player = new LessonPlayer(ctx, $("#video"), { onSample: (sample) => fallbackOn(sample) });
  const saver = $("#data-saver");
  saver.checked = localStorage.getItem(SAVER_KEY) === "1";
  const policy = new FallbackPolicy();
  let auto = false; // switched by the fallback, not by the student
  const mode = () => (saver.checked || auto ? "audio_slides" : "full");
  const note = () => ($("#mode-note").textContent = saver.checked
    ? "Data saver is on: audio and slides instead of full video."
    : auto ? "Weak connection: switched to audio and slides. Video comes back when the link recovers." : "");
  const apply = async () => {
    note();
    player.setMode(mode());
    window.dispatchEvent(new CustomEvent("hyflex:media-mode", { detail: { dataSaver: saver.checked, auto, mode: mode() } }));
    if (player.media.receiving && player.media.mode !== mode()) {
      await attempt(player.media.setMode(mode()));
    }
  };
  function fallbackOn(sample) {
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
  player.policy = policy;
  player.feed = (quality) => fallbackOn({ quality }); // tests drive the policy with samples
  return { player, start: () => player.media.receive({ mode: mode() }) };
}

const ctx = await boot({ roles: ["student"], signIn: { href: "/join", text: "Open your join link again" } });
if (ctx) {
  wireControls(ctx);
  ctx.state.subscribe((state) => render(state, ctx.conn));
  const { player, start } = wireMedia(ctx);
  window.__hyflex.media = player.media;
  window.__hyflex.player = player;
  startAttention(ctx.conn, { mediaSample: () => player.media.monitor.latest });
  await start();
}
