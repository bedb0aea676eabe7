// Slides as participants see them: the page the teacher presents (LiveState.slide, from the
// welcome snapshot and slides.shown / slides.hidden), drawn from the page images the server
// rendered (GET /api/sessions/{id}/slides/{deck}/pages/{page}/{size}).
//
// Images need the bearer token, so they are fetched (not <img src>) and kept as object URLs:
// each page and size is fetched once per page load (the HTTP cache keeps them across loads:
// the server marks them immutable). `small` is for weak links (audio + slides), `full` else.
//
// Markup: a `<figure id="slide-panel" class="slide-panel">` with an <img> and a <figcaption>;
// data-deck, data-page, data-size and data-loaded ("1" once the image is on screen) say what
// it shows (tests and the catch-up player read them).

import { loadAuth } from "./api.js";
import { h } from "./dom.js";

export class SlideImages {
  constructor(sessionId) {
    this.sessionId = sessionId;
    this.urls = new Map(); // "deck/page/size" -> Promise<object URL>
    this.fetched = 0; // images fetched from the server (each once)
  }

  url(deckId, page, size) {
    const key = `${deckId}/${page}/${size}`;
    if (!this.urls.has(key)) {
      const path = `/api/sessions/${this.sessionId}/slides/${deckId}/pages/${page}/${size}`;
      const promise = fetch(path, { headers: { Authorization: `Bearer ${loadAuth()?.token}` } })
        .then(async (response) => {
          if (!response.ok) throw new Error(response.status === 404 ? "not available" : `HTTP ${response.status}`);
          this.fetched += 1;
          return URL.createObjectURL(await response.blob());
        });
      promise.catch(() => this.urls.delete(key)); // a page not drawn yet: try again next time
      this.urls.set(key, promise);
    }
    return this.urls.get(key);
  }
}

/** The page on screen at `position` seconds of the lesson clock, from the change history. */
export function slideAt(history, position) {
  let found = null;
  for (const change of history) {
    if (change.position > position) break;
    found = change;
  }
  return found && found.deck_id !== null ? { deck_id: found.deck_id, page: found.page } : null;
}

export class SlidePanel {
  /** `figure`: the panel (hidden while nothing is presented); `size()`: "small" or "full". */
  constructor(images, figure, { size = () => "full", empty = "" } = {}) {
    this.images = images;
    this.figure = figure;
    this.size = size;
    this.empty = empty;
    this.img = figure.querySelector("img") ?? h("img", { alt: "" });
    this.caption = figure.querySelector("figcaption") ?? h("figcaption");
    if (!this.img.isConnected) figure.append(this.img, this.caption);
    this.shown = null;
    this.wanted = "";
  }

  /** Show `slide` ({deck_id, page}) or nothing (null). Safe to call on every state change. */
  async show(slide) {
    const size = this.size();
    const key = slide ? `${slide.deck_id}/${slide.page}/${size}` : "";
    if (key === this.wanted) return;
    this.wanted = key;
    const f = this.figure;
    if (!slide) {
      f.hidden = !this.empty;
      f.dataset.page = "";
      f.dataset.deck = "";
      f.dataset.loaded = "0";
      this.img.hidden = true;
      this.caption.textContent = this.empty;
      return;
    }
    f.hidden = false;
    f.dataset.deck = String(slide.deck_id);
    f.dataset.page = String(slide.page);
    f.dataset.size = size;
    f.dataset.loaded = "0";
    this.caption.textContent = `Slide ${slide.page}`;
    try {
      const url = await this.images.url(slide.deck_id, slide.page, size);
      if (this.wanted !== key) return; // the teacher moved on meanwhile
      this.img.src = url;
      this.img.alt = `Slide ${slide.page} of the teacher's presentation`;
      this.img.hidden = false;
      await this.img.decode().catch(() => {});
      if (this.wanted === key) f.dataset.loaded = "1";
    } catch (err) {
      if (this.wanted !== key) return;
      this.img.hidden = true;
      this.caption.textContent = `Slide ${slide.page}: ${err.message ?? "not available"}`;
      this.wanted = ""; // try again on the next change
    }
  }

  /** The size changed (a mode switch): draw the same page again at the new size. */
  refresh(slide) {
    this.wanted = "";
    return this.show(slide);
  }
}
