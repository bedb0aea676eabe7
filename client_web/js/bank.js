// The question bank of a course (/courses/{id}/bank): prepare polls and embedded questions,
// edit and delete them, attach them to a lesson (embedded questions with a time on the lesson
// clock), import and export CSV or JSON. The server checks every item with the live session's
// own rules; its refusals are shown in plain words.

import { api, ApiError, downloadFile, loadAuth } from "./api.js";
import { $, formatDuration, h } from "./dom.js";
import { itemDetails, itemKind, keyText } from "./bank_items.js";
import { halt, showSignedIn } from "./page.js";
import { buildSpec, parsePosition } from "./widgets/launcher.js";

const CHOICE = new Set(["single", "multiple"]);

function courseIdFromPath() {
  const parts = location.pathname.split("/").filter(Boolean); // courses/{id}/bank
  const id = Number(parts[1]);
  return Number.isInteger(id) && id > 0 ? id : null;
}

function showError(el, message) {
  el.textContent = message ?? "";
  el.hidden = !message;
}

function optionalNumber(raw, what) {
  const text = raw.trim();
  if (!text) return null;
  const n = Number(text);
  if (!Number.isFinite(n)) throw new Error(`${what} must be a number`);
  return n;
}

async function authFetch(path, options = {}) {
  const headers = { Authorization: `Bearer ${loadAuth()?.token}`, ...(options.headers ?? {}) };
  const response = await fetch(path, { ...options, headers });
  if (!response.ok) {
    const data = await response.json().catch(() => null);
    throw new ApiError(response.status, data?.error?.code ?? "http_error", data?.error?.message ?? `HTTP ${response.status}`);
  }
  return response;
}

class BankPage {
  constructor(courseId) {
    this.courseId = courseId;
    this.base = `/api/courses/${courseId}/bank`;
    this.items = [];
    this.lessons = [];
    this.attached = [];
    this.editing = null;
  }

  async start() {
    const course = await api(`/api/courses/${this.courseId}`);
    $("#title").textContent = `Question bank: ${course.title}`;
    document.title = `${course.title} · Question bank · HyFlex Live`;
    const sessions = await api("/api/sessions");
    this.lessons = sessions.filter((s) => s.course_id === this.courseId && s.status !== "ended");
    this.wireForm();
    this.wireLessons();
    this.wireImportExport();
    await this.reload();
  }

  // --- the form ---

  use() {
    return $("#item-form").querySelector("input[name=use]:checked").value;
  }

  sync() {
    const kind = $("#b-kind").value;
    for (const el of $("#item-form").querySelectorAll("[data-for]")) {
      const need = el.dataset.for;
      el.hidden = (need === "choice" && !CHOICE.has(kind)) || (need === "numeric" && kind !== "numeric")
        || (need === "text" && kind !== "text") || (need === "poll" && this.use() !== "poll");
    }
    $("#b-save").textContent = this.editing === null ? "Add to the bank" : "Save changes";
    $("#b-cancel").hidden = this.editing === null;
  }

  readForm() {
    const kind = $("#b-kind").value;
    const spec = buildSpec(kind, $("#b-prompt").value, $("#b-options").value, $("#b-key").value);
    if (!spec.prompt) throw new Error("Write the prompt first.");
    if (kind === "numeric") {
      spec.min_value = optionalNumber($("#b-min").value, "The lowest answer");
      spec.max_value = optionalNumber($("#b-max").value, "The highest answer");
      spec.tolerance = optionalNumber($("#b-tolerance").value, "The tolerance") ?? 0;
    }
    if (kind === "text") spec.max_length = optionalNumber($("#b-maxlen").value, "The longest answer");
    const use = this.use();
    return { use, anonymous: use === "poll" && $("#b-anon").checked, spec };
  }

  fillForm(item) {
    const { spec } = item;
    $("#item-form").querySelector(`input[name=use][value=${item.use}]`).checked = true;
    $("#b-kind").value = spec.kind;
    $("#b-prompt").value = spec.prompt;
    $("#b-options").value = spec.options.join("\n");
    $("#b-key").value = keyText(spec);
    $("#b-min").value = spec.min_value ?? "";
    $("#b-max").value = spec.max_value ?? "";
    $("#b-tolerance").value = spec.tolerance ?? 0;
    $("#b-maxlen").value = spec.kind === "text" ? spec.max_length ?? "" : "";
    $("#b-anon").checked = item.anonymous;
  }

  resetForm() {
    this.editing = null;
    $("#item-form").reset();
    this.sync();
  }

  wireForm() {
    const form = $("#item-form");
    form.addEventListener("change", () => this.sync());
    $("#b-cancel").addEventListener("click", () => this.resetForm());
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const error = $("#form-error");
      try {
        const body = this.readForm();
        const editing = this.editing;
        if (editing === null) await api(this.base, { method: "POST", body });
        else await api(`${this.base}/${editing}`, { method: "PUT", body });
        showError(error, null);
        this.resetForm();
        await this.reload();
        $("#bank-status").textContent = editing === null ? "Added to the bank." : "Changes saved.";
        $("#b-prompt").focus();
      } catch (err) {
        showError(error, `Not saved: ${err.message}`);
      }
    });
    this.sync();
  }

  // --- the bank and a lesson's items ---

  async reload() {
    this.items = await api(this.base);
    const lesson = this.lessonId();
    this.attached = lesson === null ? [] : await api(`/api/sessions/${lesson}/bank`);
    this.render();
  }

  lessonId() {
    const value = $("#lesson").value;
    return value ? Number(value) : null;
  }

  wireLessons() {
    const select = $("#lesson");
    const wanted = Number(new URLSearchParams(location.search).get("lesson"));
    const options = this.lessons.map((s) => h("option", { value: String(s.id), text: `${s.title} (${s.status})` }));
    select.replaceChildren(...(options.length ? options : [h("option", { value: "", text: "No lesson to prepare" })]));
    if (this.lessons.some((s) => s.id === wanted)) select.value = String(wanted);
    select.disabled = !this.lessons.length;
    select.addEventListener("change", () => this.reload().catch((err) => showError($("#lesson-error"), err.message)));
  }

  render() {
    $("#item-count").textContent = String(this.items.length);
    $("#bank-status").textContent = this.items.length ? "" : "The bank is empty: prepare a question above or import a file.";
    const lesson = this.lessonId();
    const links = $("#links-link");
    links.hidden = lesson === null;
    if (lesson !== null) links.href = `/sessions/${lesson}/links`;
    const attachedIds = new Map(this.attached.map((a) => [a.item_id, a]));
    $("#items").replaceChildren(...this.items.map((item) => this.itemRow(item, lesson, attachedIds.get(item.id))));
    $("#attached").replaceChildren(...(this.attached.length
      ? this.attached.map((a) => this.attachedRow(a, lesson))
      : [h("li", { class: "muted", text: lesson === null ? "Choose a lesson." : "Nothing prepared for this lesson yet." })]));
  }

  itemRow(item, lesson, attached) {
    const label = item.spec.prompt;
    const position = h("input", { class: "position-input", placeholder: "mm:ss", "aria-label": `Show “${label}” at (mm:ss of the lesson)`,
      value: attached?.position === null || attached === undefined ? "" : formatDuration(attached.position) });
    const attach = h("button", { class: "btn btn-small", type: "button", disabled: lesson === null,
      "aria-label": `${attached ? "Update" : "Attach"} “${label}” ${attached ? "in" : "to"} the lesson`,
      on: { click: () => this.attach(item, item.use === "question" ? position.value : "") } },
    attached ? "Update in lesson" : "Attach to lesson");
    return h("li", { class: "bank-item", "data-item": String(item.id) },
      h("div", { class: "grow" },
        h("p", { class: "small muted", text: itemKind(item) }),
        h("p", { class: "bank-prompt", text: label }),
        h("p", { class: "small", text: itemDetails(item.spec) })),
      h("div", { class: "row" },
        item.use === "question" ? h("label", { class: "small" }, "Show at ", position) : null,
        attach,
        h("button", { class: "btn btn-small", type: "button", "aria-label": `Edit “${label}”`,
          on: { click: () => { this.editing = item.id; this.fillForm(item); this.sync(); $("#b-prompt").focus(); } } }, "Edit"),
        h("button", { class: "btn btn-small btn-quiet", type: "button", "aria-label": `Delete “${label}”`,
          on: { click: () => this.remove(item) } }, "Delete")));
  }

  attachedRow(entry, lesson) {
    return h("li", { class: "row-item", "data-item": String(entry.item_id) },
      h("span", { class: "mono", text: entry.position === null ? "by hand" : formatDuration(entry.position) }),
      h("span", { class: "grow", text: `${entry.spec.prompt} (${itemKind(entry)})` }),
      h("button", { class: "btn btn-small btn-quiet", type: "button", "aria-label": `Remove “${entry.spec.prompt}” from the lesson`,
        on: { click: () => this.detach(lesson, entry.item_id) } }, "Remove"));
  }

  async attach(item, positionText) {
    const error = $("#lesson-error");
    try {
      const position = parsePosition(positionText);
      await api(`/api/sessions/${this.lessonId()}/bank/${item.id}`, { method: "PUT", body: { position } });
      showError(error, null);
      await this.reload();
      $("#bank-status").textContent = "Attached to the lesson.";
    } catch (err) {
      showError(error, `Not attached: ${err.message}`);
    }
  }

  async detach(lesson, itemId) {
    try {
      await api(`/api/sessions/${lesson}/bank/${itemId}`, { method: "DELETE" });
      await this.reload();
    } catch (err) {
      showError($("#lesson-error"), `Not removed: ${err.message}`);
    }
  }

  async remove(item) {
    if (!confirm(`Delete “${item.spec.prompt}” from the bank (and from the lessons it is attached to)?`)) return;
    try {
      await api(`${this.base}/${item.id}`, { method: "DELETE" });
      await this.reload();
      $("#bank-status").textContent = "Deleted.";
    } catch (err) {
      showError($("#form-error"), `Not deleted: ${err.message}`);
    }
  }

  // --- import and export ---

  wireImportExport() {
    $("#import-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const file = $("#import-file").files[0];
      const out = $("#import-report");
      if (!file) {
        out.replaceChildren(h("p", { class: "error", role: "alert", text: "Choose a CSV or JSON file first." }));
        return;
      }
      const dry = $("#import-dry").checked;
      const form = new FormData();
      form.append("file", file);
      try {
        const response = await authFetch(`${this.base}/import?dry_run=${dry}`, { method: "POST", body: form });
        this.showReport(await response.json(), dry);
        if (!dry) await this.reload();
      } catch (err) {
        out.replaceChildren(h("p", { class: "error", role: "alert", text: `Not imported: ${err.message}` }));
      }
    });
    $("#export-csv").addEventListener("click", () => this.download("csv"));
    $("#export-json").addEventListener("click", () => this.download("json"));
  }

  showReport(report, dry) {
    const out = $("#import-report");
    if (report.errors.length) {
      out.replaceChildren(
        h("p", { class: "error", role: "alert", text: `Nothing was imported: ${report.errors.length} of ${report.rows} rows need fixing.` }),
        h("ul", { class: "import-errors" }, report.errors.map((e) => h("li", { text: `Line ${e.line}: ${e.reason}` }))));
      return;
    }
    const same = report.unchanged ? ` (${report.unchanged} already in the bank)` : "";
    const text = dry ? `All ${report.rows} rows are good: ${report.added} would be added${same}.` : `Imported: ${report.added} added${same}.`;
    out.replaceChildren(h("p", { role: "status", text }));
  }

  async download(kind) {
    try {
      await downloadFile(`${this.base}.${kind}`, `bank.${kind}`);
    } catch (err) {
      $("#import-report").replaceChildren(h("p", { class: "error", role: "alert", text: `Not downloaded: ${err.message}` }));
    }
  }
}

const auth = loadAuth();
const courseId = courseIdFromPath();
const signIn = { href: "/", text: "Sign in" };
if (courseId === null || auth === null) halt("You are not signed in.", signIn);
else if (!["teacher", "admin"].includes(auth.user?.role)) halt("Only the course's teacher or an admin prepares its question bank.", signIn);
else {
  showSignedIn(auth);
  new BankPage(courseId).start().catch((err) => halt(`The question bank could not be loaded: ${err.message}`, signIn));
}
