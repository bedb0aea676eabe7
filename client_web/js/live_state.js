// The client's picture of one live session: built from the welcome snapshot
// (server/domain/live/session.py: snapshot_for) and kept current by events
// (server/domain/live/event_types.py). Views subscribe and re-render on change.

import { CHAT_APPLY, chatFrom } from "./chat_model.js";
import { CAPTION_APPLY, captionsFrom } from "./captions_model.js";

export const HOME = "home"; // the key of remote students' row (site_id null)

export function siteKey(siteId) {
  return siteId === null || siteId === undefined ? HOME : String(siteId);
}

/** Sum per-site summaries into a total (counts add; numeric: weighted mean, min, max; a
 *  median cannot be added up: the server sends it in poll.total / question.total). */
export function combine(rows) {
  const out = { answered: 0, correct: null };
  for (const row of rows) {
    out.answered += row.answered ?? (row.yes ?? 0) + (row.no ?? 0); // yes/no rows: yes + no
    if (typeof row.correct === "number") out.correct = (out.correct ?? 0) + row.correct;
    if (Array.isArray(row.counts)) {
      out.counts = out.counts ?? row.counts.map(() => 0);
      row.counts.forEach((n, i) => (out.counts[i] += n));
    }
    if (row.yes !== undefined) {
      out.yes = (out.yes ?? 0) + row.yes;
      out.no = (out.no ?? 0) + row.no;
    }
    if (typeof row.mean === "number") {
      out.sum = (out.sum ?? 0) + row.mean * row.answered;
      out.min = Math.min(out.min ?? Infinity, row.min);
      out.max = Math.max(out.max ?? -Infinity, row.max);
    }
    if (Array.isArray(row.texts)) {
      out.textMap = out.textMap ?? new Map();
      for (const [text, n] of row.texts) out.textMap.set(text, (out.textMap.get(text) ?? 0) + n);
    }
  }
  if (out.sum !== undefined) out.mean = out.answered ? out.sum / out.answered : null;
  if (out.textMap) out.texts = [...out.textMap].sort((a, b) => b[1] - a[1]);
  delete out.sum;
  delete out.textMap;
  return out;
}

function resultsFrom(raw) {
  const sites = new Map();
  for (const row of raw?.sites ?? []) sites.set(siteKey(row.site_id), row);
  return { sites, total: raw?.total ?? null };
}

export class LiveState {
  constructor() {
    this.subscribers = new Set();
    this.queued = false;
    this.reset({ status: "scheduled", presence: {}, me: {} }, null);
  }

  subscribe(fn) {
    this.subscribers.add(fn);
  }

  changed() {
    if (this.queued) return;
    this.queued = true;
    queueMicrotask(() => {
      this.queued = false;
      for (const fn of this.subscribers) fn(this);
    });
  }

  reset(snap, welcome) {
    this.welcomeAt = Date.now();
    this.lessonClock = welcome?.lesson_clock ?? 0;
    this.me = snap.me ?? {};
    this.status = snap.status;
    this.startedAt = snap.started_at ?? null;
    // Head counts for everyone (presence.counts keeps them current); who is connected only
    // for staff (presence.joined / presence.left reach the staff of the person's site).
    const p = snap.presence ?? {};
    this.users = Array.isArray(p.users) ? new Map(p.users.map((u) => [u.user_id, u])) : null;
    this.setCounts(p);
    this.polls = new Map();
    for (const poll of snap.polls ?? []) {
      this.polls.set(poll.poll_id, { ...poll, results: resultsFrom(poll.results) });
    }
    this.questions = new Map();
    for (const q of snap.questions ?? []) {
      this.questions.set(q.question_id, { ...q, results: resultsFrom(q.results) });
    }
    this.qna = new Map((snap.qna ?? []).map((i) => [i.qna_id, { ...i }]));
    this.hands = {
      queue: [...(snap.hands?.queue ?? [])], stage: [...(snap.hands?.stage ?? [])], queued: snap.hands?.queued ?? 0,
    };
    this.checks = new Map();
    for (const c of snap.checks ?? []) this.checks.set(c.check_id, { ...c, results: resultsFrom(c.results) });
    this.reactions = { ...(snap.reactions?.counts ?? {}) };
    // The page the teacher presents now (null: none) and, after the lesson, every change with
    // its lesson-clock position (the catch-up player's page at a moment).
    this.slide = snap.slides?.current ?? null;
    this.slideHistory = [...(snap.slides?.history ?? [])];
    this.chat = chatFrom(snap.chat);
    this.removed = new Set(snap.removed ?? []); // staff: who the teacher removed from the lesson
    this.recording = { on: false, since: null, ...(snap.recording ?? {}) }; // everyone's indicator
    this.captions = captionsFrom(snap.captions);
    this.changed();
  }

  /** Apply one event frame; replayed ones are already in the snapshot and change nothing. */
  apply(frame, { replayed = false } = {}) {
    if (replayed) return;
    const handler = APPLY[frame.type];
    if (handler) {
      handler(this, frame.data, frame);
      this.changed();
    }
  }

  /** Head counts of students (staff are never counted): in all and per site. */
  setCounts(counts) {
    this.presentStudents = counts.students ?? 0;
    this.presentBySite = new Map((counts.sites ?? []).map((x) => [siteKey(x.site_id), x.students ?? 0]));
  }

  isPresent(userId) {
    return this.users?.has(userId) ?? false;
  }

  handRaised(kind, id) {
    return this.hands.queue.some((e) => e.kind === kind && (kind === "site" ? e.site_id : e.user_id) === id);
  }
}

const ADDS_UP = new Set(["single", "multiple", undefined]); // choices and yes/no checks

function tally(item, data) {
  if (!item) return;
  const { poll_id, question_id, check_id, ...row } = data;
  item.results = item.results ?? { sites: new Map(), total: null };
  item.results.sites.set(siteKey(data.site_id), row);
  // numbers and texts: the class total comes from the server (poll.total / question.total)
  if (ADDS_UP.has(item.kind)) item.results.total = combine(item.results.sites.values());
}

function total(item, data) {
  if (!item) return;
  const { poll_id, question_id, ...row } = data;
  item.results = item.results ?? { sites: new Map(), total: null };
  item.results.total = row;
}

function dropTarget(list, data) {
  return list.filter((e) =>
    !(e.kind === data.kind && (data.kind === "site" ? e.site_id === data.site_id : e.user_id === data.user_id)));
}

const APPLY = {
  "session.started": (s, d, f) => ((s.status = "live"), (s.startedAt = f.at)),
  "session.ended": (s) => {
    s.status = "ended";
    for (const m of [s.polls, s.questions, s.checks]) for (const x of m.values()) if (x.status === "open") x.status = "closed";
    s.hands = { queue: [], stage: [] };
    s.recording = { ...s.recording, on: false, since: null };
  },
  "presence.joined": (s, d) => {
    if (s.users) s.users.set(d.user_id, { user_id: d.user_id, site_id: d.site_id, role: d.role });
  },
  "presence.left": (s, d) => {
    if (s.users) s.users.delete(d.user_id);
  },
  "presence.counts": (s, d) => s.setCounts(d),
  "poll.opened": (s, d, f) =>
    s.polls.set(d.poll_id, {
      poll_id: d.poll_id, status: "open", anonymous: d.anonymous, opened_at: f.at, mine: null,
      ...d.spec, results: { sites: new Map(), total: null },
    }),
  "poll.key": (s, d) => { const p = s.polls.get(d.poll_id); if (p) p.correct = d.correct; },
  "poll.answered": (s, d) => { const p = s.polls.get(d.poll_id); if (p) p.mine = d.value; },
  "poll.tally": (s, d) => tally(s.polls.get(d.poll_id), d),
  "poll.total": (s, d) => total(s.polls.get(d.poll_id), d),
  "poll.closed": (s, d) => { const p = s.polls.get(d.poll_id); if (p) p.status = "closed"; },
  "poll.revealed": (s, d) => {
    const p = s.polls.get(d.poll_id);
    if (!p) return;
    p.status = "revealed";
    p.correct = d.correct;
    p.revealed = d.results;
  },
  "question.prepared": (s, d) =>
    s.questions.set(d.question_id, {
      question_id: d.question_id, status: "prepared", planned_position: d.position, position: null,
      ...d.spec, mine: null, results: { sites: new Map(), total: null },
    }),
  "question.shown": (s, d, f) => {
    const q = s.questions.get(d.question_id) ?? { question_id: d.question_id, mine: null, results: { sites: new Map(), total: null } };
    Object.assign(q, d.spec, { correct: q.correct ?? null, status: "open", position: d.clock, shown_at: f.at });
    s.questions.set(d.question_id, q);
  },
  "question.closed": (s, d) => { const q = s.questions.get(d.question_id); if (q) q.status = "closed"; },
  "question.answered": (s, d) => {
    const q = s.questions.get(d.question_id);
    if (q) q.mine = { value: d.value, correct: d.correct, catch_up: d.catch_up };
  },
  "question.tally": (s, d) => tally(s.questions.get(d.question_id), d),
  "question.total": (s, d) => total(s.questions.get(d.question_id), d),
  "qna.asked": (s, d, f) =>
    s.qna.set(d.qna_id, { ...d, asked_at: f.at, votes: 0, voted: false, answered: false, hidden: false }),
  "qna.voted": (s, d) => { const i = s.qna.get(d.qna_id); if (i) i.voted = true; },
  "qna.unvoted": (s, d) => { const i = s.qna.get(d.qna_id); if (i) i.voted = false; },
  "qna.votes": (s, d) => { const i = s.qna.get(d.qna_id); if (i) i.votes = d.votes; },
  "qna.answered": (s, d) => { const i = s.qna.get(d.qna_id); if (i) i.answered = true; },
  "qna.hidden": (s, d) => {
    const i = s.qna.get(d.qna_id);
    if (!i) return;
    if (s.me.role === "student") s.qna.delete(d.qna_id);
    else i.hidden = true;
  },
  "hand.raised": (s, d, f) => s.hands.queue.push({ ...d, since: f.at }),
  "hand.lowered": (s, d) => (s.hands.queue = dropTarget(s.hands.queue, d)),
  "hand.cleared": (s) => (s.hands.queue = []),
  "hand.count": (s, d) => (s.hands.queued = d.queued),
  "stage.joined": (s, d, f) => s.hands.stage.push({ ...d, since: f.at }),
  "stage.left": (s, d) => (s.hands.stage = dropTarget(s.hands.stage, d)),
  "reaction.sent": null, // nothing to keep: reaction.counts carries the totals
  "reaction.counts": (s, d) => (s.reactions = { ...d.counts }),
  "check.opened": (s, d, f) =>
    s.checks.set(d.check_id, { check_id: d.check_id, prompt: d.prompt, status: "open", mine: null, opened_at: f.at, results: { sites: new Map(), total: null } }),
  "check.answered": (s, d) => { const c = s.checks.get(d.check_id); if (c) c.mine = d.yes; },
  "check.tally": (s, d) => tally(s.checks.get(d.check_id), d),
  "check.closed": (s, d) => { const c = s.checks.get(d.check_id); if (c) c.status = "closed"; },
  "slides.shown": (s, d) => {
    s.slide = { deck_id: d.deck_id, page: d.page, since: d.position };
    s.slideHistory.push({ position: d.position, deck_id: d.deck_id, page: d.page });
  },
  "slides.hidden": (s, d) => {
    s.slide = null;
    s.slideHistory.push({ position: d.position, deck_id: null, page: null });
  },
  ...CHAT_APPLY,
  ...CAPTION_APPLY,
  "moderation.removed": (s, d) => s.removed.add(d.user_id),
  "moderation.readmitted": (s, d) => s.removed.delete(d.user_id),
  "moderation.mute_asked": () => {}, // a request to this person's page, not state (moderation_notice.js)
  "recording.started": (s, d, f) => (s.recording = { ...s.recording, on: true, since: f.at }),
  "recording.stopped": (s) => (s.recording = { ...s.recording, on: false, since: null }),
};
