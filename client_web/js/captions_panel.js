// Live captions on every page: a switch to show them (remembered on this device), the latest
// lines while it is on, and for a captioner (granted by the teacher) a box to type them. A
// caption's position is the lesson-clock moment its typing began (the server allows a line to
// start up to 30 s back). Staff get the WebVTT download. Text only, never markup.

import { downloadFile } from "./api.js";
import { h } from "./dom.js";
import { attempt, toast } from "./widgets/status.js";

const SHOW_KEY = "hyflex.captions";
const LINES = 3;

export class CaptionsPanel {
  /** @param {HTMLElement} root @param {{conn, state, sessionId}} ctx
   *  @param {{download?: boolean}} opts */
  constructor(root, ctx, { download = false } = {}) {
    this.root = root;
    this.ctx = ctx;
    this.state = ctx.state;
    this.typingFrom = null; // lesson clock when the line being typed was begun
    this.wasCaptioner = null;
    this.show = h("input", { type: "checkbox", id: "captions-on", role: "switch" });
    this.show.checked = localStorage.getItem(SHOW_KEY) === "1";
    this.show.addEventListener("change", () => {
      localStorage.setItem(SHOW_KEY, this.show.checked ? "1" : "0");
      this.render();
    });
    this.lines = h("div", { class: "caption-lines", id: "caption-lines", "aria-live": "polite", "aria-label": "Live captions" });
    this.text = h("input", { type: "text", id: "caption-text", maxlength: "300", autocomplete: "off", "aria-label": "Type a caption line" });
    this.text.addEventListener("input", () => {
      if (this.typingFrom === null && this.text.value) this.typingFrom = this.clock();
    });
    this.form = h("form", { class: "caption-form", hidden: true, on: { submit: (ev) => this.submit(ev) } },
      h("span", { class: "tag", text: "You are the captioner" }), this.text,
      h("button", { class: "btn btn-primary btn-small", type: "submit", text: "Send caption" }));
    const vtt = download ? h("button", { class: "btn btn-small btn-quiet", type: "button", id: "captions-vtt", text: "Download captions (WebVTT)",
      on: { click: () => downloadFile(`/api/sessions/${ctx.sessionId}/captions.vtt`, "captions.vtt").catch((err) => toast(err.message, "error")) } }) : null;
    root.replaceChildren(
      h("div", { class: "row" }, h("label", { class: "switch" }, this.show, h("span", { text: "Captions" })), vtt),
      this.lines, this.form);
    this.version = "";
    this.state.subscribe(() => this.render());
    this.render();
  }

  /** The lesson clock now, as this page knows it (the welcome's clock plus the time since). */
  clock() {
    if (this.state.status !== "live") return null;
    return Math.max(0, this.state.lessonClock + (Date.now() - this.state.welcomeAt) / 1000);
  }

  render() {
    const { captions, status } = this.state;
    if (!captions) return;
    const mine = captions.captioner && status === "live";
    this.form.hidden = !mine;
    if (this.wasCaptioner !== null && this.wasCaptioner !== captions.captioner) {
      toast(captions.captioner ? "The teacher made you the captioner: type what is said." : "You are no longer the captioner.");
    }
    this.wasCaptioner = captions.captioner;
    this.lines.hidden = !this.show.checked;
    this.root.dataset.captions = this.show.checked ? "on" : "off";
    const recent = this.show.checked ? captions.recent.slice(-LINES) : [];
    const version = JSON.stringify(recent.map((c) => c.caption_id));
    if (version === this.version) return;
    this.version = version;
    this.lines.replaceChildren(...(recent.length
      ? recent.map((c) => h("p", { class: "caption-line", "data-caption-id": String(c.caption_id), text: c.text }))
      : [h("p", { class: "muted small", text: "No captions yet." })]));
  }

  async submit(ev) {
    ev.preventDefault();
    const text = this.text.value;
    if (!text.trim()) return;
    const data = { text };
    const now = this.clock();
    if (this.typingFrom !== null && now !== null) {
      data.position = Math.round(Math.max(this.typingFrom, now - 25) * 1000) / 1000; // the server allows 30 s back
    }
    const seq = await attempt(this.ctx.conn.send("caption.add", data));
    if (seq !== undefined) {
      this.text.value = "";
      this.typingFrom = null;
    }
  }
}
