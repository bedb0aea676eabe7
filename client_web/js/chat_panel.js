// The lesson chat for every page: messages (as text, never markup), a box to send to everyone,
// one's own site or privately to the teacher, and for staff the moderation tools the server
// allows them. Who sees what and who may moderate is decided by the server
// (server/domain/live/chat.py); the state comes from live_state.js (chat_model.js).

import { h } from "./dom.js";
import { attempt, toast } from "./widgets/status.js";

const TO_WORDS = { everyone: "Everyone", site: "My site", teacher: "The teacher (private)" };
const TO_TAGS = { everyone: "", site: "to the site", teacher: "private" };

export class ChatPanel {
  /** @param {HTMLElement} root an empty element the panel fills
   *  @param {{conn, state}} ctx the page's connection and live state
   *  @param {{channels: string[], moderate?: boolean, name?: (userId) => string}} opts */
  constructor(root, ctx, { channels, moderate = false, name = null }) {
    this.root = root;
    this.conn = ctx.conn;
    this.state = ctx.state;
    this.moderate = moderate;
    this.name = name;
    this.wasMuted = null;
    this.list = h("ol", { class: "chat-list", "aria-label": "Chat messages", "aria-live": "polite" });
    this.note = h("p", { class: "muted small chat-note", id: "chat-note", role: "status" });
    this.text = h("input", { type: "text", id: "chat-text", maxlength: "500", autocomplete: "off", "aria-label": "Chat message" });
    this.to = h("select", { id: "chat-to", "aria-label": "Send to" },
      channels.map((c) => h("option", { value: c, text: TO_WORDS[c] })));
    this.to.hidden = channels.length < 2;
    this.siteOption = this.to.querySelector('option[value="site"]');
    this.send = h("button", { class: "btn btn-primary btn-small", type: "submit", text: "Send" });
    const form = h("form", { class: "chat-form", on: { submit: (ev) => this.submit(ev) } }, this.to, this.text, this.send);
    this.toggle = h("button", { class: "btn btn-small", type: "button", id: "chat-toggle", hidden: !moderate,
      on: { click: () => attempt(this.conn.send("chat.set", { enabled: !this.switchedOn() })) } });
    root.replaceChildren(
      h("div", { class: "card-title-row" }, h("h2", { id: "chat-h", text: "Chat" }), this.toggle),
      this.list, this.note, form);
    this.version = "";
    ctx.state.subscribe(() => this.render());
    this.render();
  }

  /** Why this person cannot send now ("" when they can). */
  blocked() {
    const { me, chat, status } = this.state;
    if (status !== "live") return status === "ended" ? "The lesson has ended." : "Chat opens when the lesson starts.";
    if (me.role !== "student") return "";
    if (!chat.enabled) return "The teacher has turned chat off.";
    if (me.site_id !== null && chat.sites_off.includes(me.site_id)) return "Chat is off for your site.";
    if (chat.muted) return "Your chat is muted.";
    return "";
  }

  /** The moderator's switch: the lesson's (teacher) or their site's (facilitator). */
  switchedOn() {
    const { me, chat } = this.state;
    return me.role === "facilitator" ? !chat.sites_off.includes(me.site_id) : chat.enabled;
  }

  render() {
    const { me, chat } = this.state;
    if (!chat) return;
    if (this.wasMuted !== null && this.wasMuted !== chat.muted) {
      toast(chat.muted ? "Your chat was muted." : "You may chat again.");
    }
    this.wasMuted = chat.muted;
    if (this.siteOption) {
      this.siteOption.hidden = this.siteOption.disabled = me.site_id == null; // at home: no site channel
      if (this.siteOption.disabled && this.to.value === "site") this.to.value = "everyone";
    }
    const why = this.blocked();
    this.note.textContent = why;
    this.root.dataset.chat = chat.enabled ? "on" : "off";
    this.text.disabled = this.to.disabled = this.send.disabled = Boolean(why);
    const on = this.switchedOn();
    this.toggle.textContent = on ? (me.role === "facilitator" ? "Turn chat off for my site" : "Turn chat off") : "Turn chat on";
    this.toggle.disabled = this.state.status !== "live";
    const version = JSON.stringify([[...chat.messages.keys()], chat.muted_users, this.state.status]);
    if (version === this.version) return;
    this.version = version;
    const atEnd = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 40;
    this.list.replaceChildren(...[...chat.messages.values()].map((m) => this.item(m)));
    if (atEnd) this.list.scrollTop = this.list.scrollHeight;
  }

  who(m) {
    if (m.user_id === this.state.me.user_id) return "You";
    return m.name || (this.name ? this.name(m.user_id) : `Participant ${m.user_id}`);
  }

  item(m) {
    const who = this.who(m);
    const tag = TO_TAGS[m.to];
    const tools = [];
    const live = this.state.status === "live";
    if (this.moderate && live && this.mayModerate(m.site_id)) {
      tools.push(h("button", { class: "btn btn-quiet btn-small", type: "button", "data-delete": String(m.chat_id),
        "aria-label": `Delete message from ${who}`, text: "Delete",
        on: { click: () => attempt(this.conn.send("chat.delete", { chat_id: m.chat_id }), "Message deleted") } }));
      if (m.user_id !== this.state.me.user_id) {
        const muted = this.state.chat.muted_users.includes(m.user_id);
        tools.push(h("button", { class: "btn btn-quiet btn-small", type: "button", "data-mute": String(m.user_id),
          text: muted ? `Unmute ${who}` : `Mute ${who}`,
          on: { click: () => attempt(this.conn.send("chat.mute", { user_id: m.user_id, muted: !muted })) } }));
      }
    }
    return h("li", { class: `chat-item chat-${m.to}`, "data-chat-id": String(m.chat_id) },
      h("span", { class: "chat-who", text: who }),
      tag ? h("span", { class: "chip", text: tag }) : null,
      h("span", { class: "chat-text", text: m.text }),
      tools.length ? h("span", { class: "chat-tools" }, tools) : null);
  }

  mayModerate(siteId) {
    const me = this.state.me;
    return me.role === "teacher" || me.role === "admin" || (me.role === "facilitator" && siteId === me.site_id);
  }

  async submit(ev) {
    ev.preventDefault();
    const text = this.text.value;
    if (!text.trim()) return;
    const seq = await attempt(this.conn.send("chat.send", { text, to: this.to.value }));
    if (seq !== undefined) this.text.value = "";
  }
}
