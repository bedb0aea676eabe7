// The participant list for staff: per site, each student (and each facilitator present) with
// present or away, hand raised, on stage, connection quality (from the relay's media.stats,
// when the teacher's page gets them), chat muted and removed. The teacher also gets the
// actions: ask to mute, take off stage, remove from the lesson and let back in. The state is
// the session's (live_state.js); the server decides who may do what
// (server/domain/live/moderation.py).

import { h, keyed } from "./dom.js";
import { siteKey } from "./live_state.js";
import { attempt } from "./widgets/status.js";

const QUALITY_WORDS = { good: "good link", fair: "fair link", poor: "weak link" };

function quality(row) {
  if (!row) return null;
  if (row.stalled > 0 || (row.loss ?? 0) >= 0.08 || (row.rtt_ms ?? 0) >= 600) return "poor";
  if ((row.loss ?? 0) >= 0.02 || (row.rtt_ms ?? 0) >= 300) return "fair";
  return "good";
}

export class ParticipantsPanel {
  /** @param {HTMLElement} root @param {{conn, state}} ctx @param {Directory} dir
   *  @param {{siteId?: number | null, act?: boolean}} opts siteId: a facilitator's site only */
  constructor(root, ctx, dir, { siteId, act = false } = {}) {
    this.root = root;
    this.conn = ctx.conn;
    this.state = ctx.state;
    this.dir = dir;
    this.siteId = siteId;
    this.act = act;
    this.links = new Map(); // user_id -> quality
    this.version = "";
    this.body = h("div", { class: "participants" });
    root.replaceChildren(h("h2", { id: "people-h", text: "Participants" }), this.body);
    ctx.conn.onFamily("media", (frame) => {
      if (frame.type !== "media.stats") return;
      this.links = new Map();
      for (const row of frame.data?.subscribers ?? []) {
        const m = /^user-(\d+)$/.exec(String(row.id));
        if (m) this.links.set(Number(m[1]), quality(row));
      }
      this.render();
    });
    ctx.state.subscribe(() => this.render());
  }

  people() {
    const rows = this.dir.enrolments
      .filter((e) => this.siteId === undefined || siteKey(e.site_id) === siteKey(this.siteId))
      .map((e) => ({ user_id: e.student_id, site_id: e.site_id, role: "student" }));
    for (const u of this.state.users?.values() ?? []) {
      if (u.role === "facilitator" && (this.siteId === undefined || u.site_id === this.siteId)) rows.push(u);
    }
    return rows;
  }

  render() {
    const s = this.state;
    const rows = this.people().map((p) => ({
      ...p,
      present: s.isPresent(p.user_id),
      hand: s.handRaised("user", p.user_id),
      stage: s.hands.stage.some((e) => e.kind === "user" && e.user_id === p.user_id),
      muted: s.chat.muted_users.includes(p.user_id),
      removed: s.removed.has(p.user_id),
      link: this.links.get(p.user_id) ?? null,
      captioner: s.captions.captioners.includes(p.user_id),
    }));
    const live = s.status;
    const version = JSON.stringify([rows, s.status]);
    if (version === this.version) return;
    this.version = version;
    const bySite = new Map();
    for (const r of rows) {
      const key = siteKey(r.site_id);
      if (!bySite.has(key)) bySite.set(key, { site: r.site_id, rows: [] });
      bySite.get(key).rows.push(r);
    }
    const order = (r) => [r.role !== "facilitator", !r.present, this.dir.person(r.user_id)];
    const sites = [...bySite.entries()].map(([key, group]) => {
      group.rows.sort((a, b) => { const x = order(a), y = order(b); return x[0] - y[0] || x[1] - y[1] || x[2].localeCompare(y[2]); });
      const students = group.rows.filter((r) => r.role === "student");
      const title = `${this.dir.site(group.site)} · ${students.filter((r) => r.present).length} of ${students.length} present`;
      return { key, title, rows: group.rows };
    });
    // unchanged sections and rows keep their elements (a button being clicked stays put)
    keyed(this.body, sites, (x) => x.key, () => "", (x) => h("section", { class: "people-site", "data-site": x.key },
      h("h3", { class: "sub-h" }), h("ul", { class: "plain-list people-list" })));
    for (const x of sites) {
      const section = this.body.querySelector(`section[data-key="${CSS.escape(x.key)}"]`);
      section.querySelector("h3").textContent = x.title;
      keyed(section.querySelector("ul"), x.rows, (r) => r.user_id, (r) => JSON.stringify([r, live]), (r) => this.row(r));
    }
  }

  row(r) {
    const name = this.dir.person(r.user_id);
    const chips = [
      h("span", { class: `chip people-${r.removed ? "removed" : r.present ? "present" : "away"}`,
        text: r.removed ? "removed" : r.present ? "present" : "away" }),
      r.role === "facilitator" ? h("span", { class: "chip", text: "facilitator" }) : null,
      r.hand ? h("span", { class: "chip", text: "✋ hand up" }) : null,
      r.stage ? h("span", { class: "chip", text: "🎙 on stage" }) : null,
      r.link ? h("span", { class: "net-quality", "data-quality": r.link, text: QUALITY_WORDS[r.link] }) : null,
      r.muted ? h("span", { class: "chip", text: "chat muted" }) : null,
      r.captioner ? h("span", { class: "chip", text: "captioner" }) : null,
    ];
    const live = this.state.status === "live";
    const tools = [];
    const uid = r.user_id;
    if (this.act && r.present && live) {
      tools.push(this.button("Ask to mute", name, () => attempt(this.conn.send("moderation.ask_mute", { user_id: uid }), `${name} was asked to mute`)));
    }
    if (this.act && live) {
      tools.push(r.captioner
        ? this.button("Stop captioning", name, () => attempt(this.conn.send("caption.revoke", { user_id: uid })))
        : this.button("Make captioner", name, () => attempt(this.conn.send("caption.grant", { user_id: uid }), `${name} may type captions`)));
    }
    if (this.act && r.role === "student") {
      if (r.stage) {
        tools.push(this.button("Off stage", name, () => attempt(this.conn.send("stage.return", { user_id: uid }))));
      }
      if (this.state.status !== "ended") {
        tools.push(r.removed
          ? this.button("Let back in", name, () => attempt(this.conn.send("moderation.allow_back", { user_id: uid }), `${name} may join again`))
          : this.button("Remove", name, () => {
            if (confirm(`Remove ${name} from the lesson? Their link stops working until you let them back in.`)) {
              attempt(this.conn.send("moderation.remove", { user_id: uid }), `${name} was removed`);
            }
          }));
      }
    }
    return h("li", { class: "people-row", "data-user": String(r.user_id) },
      h("span", { class: "grow", text: name }), chips, tools.length ? h("span", { class: "row" }, tools) : null);
  }

  /** An action on one person: its accessible name is its visible text, then the person's name
   *  (screen readers hear "Remove: Ada Lovelace"; the visible label stays in the name). */
  button(text, name, click) {
    return h("button", { class: "btn btn-small btn-quiet", type: "button", "aria-label": `${text}: ${name}`, text, on: { click } });
  }
}
