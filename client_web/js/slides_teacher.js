// The teacher's Slides card: upload a PDF (upload progress, then "Drawing page n of m" while
// the server renders it; refusals in the server's words), pick a deck, present it, move page
// by page (Previous / Next / a page number), stop presenting. Page changes are the websocket
// commands slides.show / slides.hide; the preview shows what the class sees (LiveState.slide).

import { api, ApiError, loadAuth } from "./api.js";
import { $, h } from "./dom.js";
import { SlideImages, SlidePanel } from "./slides_view.js";
import { attempt } from "./widgets/status.js";

const POLL_MS = 1000;
const POLL_LIMIT = 1200; // stop asking after ~20 minutes of rendering

/** POST the file with upload progress (fetch has none); resolves with the deck, rejects with
 *  an ApiError in words. */
function uploadFile(sessionId, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/api/sessions/${sessionId}/slides`);
    xhr.setRequestHeader("Authorization", `Bearer ${loadAuth()?.token}`);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    });
    xhr.addEventListener("load", () => {
      let data = null;
      try {
        data = JSON.parse(xhr.responseText);
      } catch {
        data = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else if (xhr.status === 413) reject(new ApiError(413, "too_large", "The file is too large for this server."));
      else reject(new ApiError(xhr.status, data?.error?.code ?? "http_error", data?.error?.message ?? `The server answered ${xhr.status}.`));
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, "network", "The upload failed: check your connection and try again.")));
    const form = new FormData();
    form.append("file", file);
    xhr.send(form);
  });
}

export class SlidesControl {
  constructor(ctx) {
    this.ctx = ctx;
    this.conn = ctx.conn;
    this.decks = [];
    this.polls = 0;
    this.timer = null;
    this.status = $("#slides-status");
    this.progress = $("#slides-progress");
    this.select = $("#slides-deck");
    this.pageInput = $("#slides-page");
    this.panel = new SlidePanel(new SlideImages(ctx.sessionId), $("#slide-panel"), {
      size: () => "full",
    });
    $("#slides-upload").addEventListener("submit", (e) => {
      e.preventDefault();
      this.upload();
    });
    $("#slides-present").addEventListener("click", () => this.present());
    $("#slides-prev").addEventListener("click", () => this.step(-1));
    $("#slides-next").addEventListener("click", () => this.step(1));
    $("#slides-go-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.go(Number(this.pageInput.value));
    });
    $("#slides-stop").addEventListener("click", () => attempt(this.conn.send("slides.hide")));
    this.select.addEventListener("change", () => this.render());
    // arrow keys and Page Up/Down turn the pages (not while typing in a field)
    document.addEventListener("keydown", (e) => {
      if (e.altKey || e.ctrlKey || e.metaKey || !this.ctx.state.slide) return;
      if (e.target.closest?.("input, textarea, select, [contenteditable]")) return;
      const delta = { ArrowRight: 1, PageDown: 1, ArrowLeft: -1, PageUp: -1 }[e.key];
      if (!delta) return;
      e.preventDefault();
      this.step(delta);
    });
    ctx.state.subscribe(() => this.render());
  }

  say(text, kind = "info") {
    this.status.textContent = text;
    this.status.dataset.kind = kind;
    this.status.setAttribute("role", kind === "error" ? "alert" : "status");
  }

  async load() {
    this.decks = await api(`/api/sessions/${this.ctx.sessionId}/slides`);
    const rendering = this.decks.find((d) => d.status === "rendering");
    if (rendering) {
      this.progress.hidden = false;
      this.progress.max = rendering.pages;
      this.progress.value = rendering.rendered;
      this.say(`Drawing "${rendering.title}": page ${rendering.rendered} of ${rendering.pages}…`);
      this.polls += 1;
      clearTimeout(this.timer);
      if (this.polls < POLL_LIMIT) this.timer = setTimeout(() => this.load().catch(() => {}), POLL_MS);
    } else {
      this.progress.hidden = true;
      this.polls = 0;
    }
    this.render();
    return this.decks;
  }

  async upload() {
    const input = $("#slides-file");
    const file = input.files?.[0];
    if (!file) {
      this.say("Choose a PDF first.", "error");
      return;
    }
    this.progress.hidden = false;
    this.progress.max = 1;
    this.progress.value = 0;
    this.say(`Uploading "${file.name}"…`);
    try {
      const deck = await uploadFile(this.ctx.sessionId, file, (share) => {
        this.progress.value = share;
        this.say(`Uploading "${file.name}": ${Math.round(share * 100)}%`);
      });
      input.value = "";
      this.wantDeck = deck.deck_id;
      this.say(`Drawing "${deck.title}": page 0 of ${deck.pages}…`);
      await this.load();
      if (!this.decks.some((d) => d.status === "rendering")) this.finished();
    } catch (err) {
      this.progress.hidden = true;
      this.say(`Not uploaded: ${err.message ?? err}`, "error");
    }
  }

  finished() {
    const deck = this.decks.find((d) => d.deck_id === this.wantDeck);
    if (!deck) return;
    this.wantDeck = null;
    if (deck.status === "ready") this.say(`"${deck.title}" is ready: ${deck.pages} pages. Press Present to show it.`);
    else this.say(`"${deck.title}" could not be drawn: ${deck.error ?? "unknown reason"}`, "error");
  }

  selected() {
    const id = Number(this.select.value);
    return this.decks.find((d) => d.deck_id === id) ?? null;
  }

  deckOf(id) {
    return this.decks.find((d) => d.deck_id === id) ?? null;
  }

  present() {
    const deck = this.selected();
    if (!deck) return;
    const current = this.ctx.state.slide;
    const page = current?.deck_id === deck.deck_id ? current.page : 1;
    attempt(this.conn.send("slides.show", { deck_id: deck.deck_id, page }));
  }

  go(page) {
    const current = this.ctx.state.slide;
    const deck = current ? this.deckOf(current.deck_id) : this.selected();
    if (!deck || !Number.isInteger(page)) return;
    const bounded = Math.min(Math.max(page, 1), deck.pages);
    attempt(this.conn.send("slides.show", { deck_id: deck.deck_id, page: bounded }));
  }

  step(delta) {
    const current = this.ctx.state.slide;
    if (!current) {
      this.present();
      return;
    }
    this.go(current.page + delta);
  }

  render() {
    if (this.wantDeck && !this.decks.some((d) => d.status === "rendering")) this.finished();
    const keep = this.select.value;
    const options = this.decks.map((d) => h("option", {
      value: String(d.deck_id),
      disabled: d.status !== "ready",
      text: d.status === "ready" ? `${d.title} (${d.pages} pages)`
        : d.status === "failed" ? `${d.title} (could not be drawn)` : `${d.title} (drawing ${d.rendered}/${d.pages})`,
    }));
    this.select.replaceChildren(...options);
    const ready = this.decks.filter((d) => d.status === "ready");
    const current = this.ctx.state.slide;
    const pick = current?.deck_id ?? (Number(keep) || ready.at(-1)?.deck_id);
    if (pick && this.decks.some((d) => d.deck_id === pick && d.status === "ready")) this.select.value = String(pick);
    else if (ready.length) this.select.value = String(ready.at(-1).deck_id);
    const ended = this.ctx.state.status === "ended";
    const deck = current ? this.deckOf(current.deck_id) : null;
    $("#slides-empty").hidden = this.decks.length > 0;
    $("#slides-present").disabled = ended || !ready.length;
    $("#slides-prev").disabled = ended || !current || current.page <= 1;
    $("#slides-next").disabled = ended || !current || (deck !== null && current.page >= deck.pages);
    $("#slides-stop").disabled = ended || !current;
    $("#slides-go").disabled = ended || !current;
    $("#slides-upload button").disabled = ended;
    $("#slides-file").disabled = ended;
    this.pageInput.max = String(deck?.pages ?? 1);
    if (document.activeElement !== this.pageInput) this.pageInput.value = current ? String(current.page) : "";
    $("#slides-of").textContent = deck ? `of ${deck.pages}` : "";
    $("#slides-now").textContent = current
      ? `Showing ${deck?.title ?? "a deck"}, slide ${current.page}${deck ? ` of ${deck.pages}` : ""}.`
      : "Not presenting.";
    this.panel.show(current);
  }
}
