// Shared parts of the "before the lesson" pages (/admin, /courses): tables with headers,
// forms that show the server's message next to the field or at the top (role=alert), select
// options, and times shown in a school's time zone, labelled with the zone.

import { ApiError } from "./api.js";
import { h } from "./dom.js";

/** A table with a caption and column headers; the first cell of each row is its header. */
export function table(caption, headers, rows, empty) {
  if (!rows.length) return h("p", { class: "muted", text: empty });
  return h("table", { class: "report-table" },
    h("caption", { text: caption }),
    h("thead", {}, h("tr", {}, headers.map((text) => h("th", { scope: "col", text })))),
    h("tbody", {}, rows.map(([head, ...cells]) =>
      h("tr", {}, h("th", { scope: "row" }, head), cells.map((cell) => h("td", {}, cell ?? ""))))));
}

/** <option>s for a <select>: items [{value, label}], with an optional first placeholder. */
export function options(select, items, placeholder) {
  const keep = select.value;
  select.replaceChildren(
    placeholder ? h("option", { value: "", text: placeholder }) : null,
    ...items.map(({ value, label }) => h("option", { value: String(value), text: label })),
  );
  if ([...select.options].some((o) => o.value === keep)) select.value = keep;
}

/** Remove the messages a form showed last time. */
function clearProblems(form) {
  for (const el of form.querySelectorAll(".field-error")) el.remove();
  for (const el of form.querySelectorAll("[aria-invalid]")) {
    el.removeAttribute("aria-invalid");
    el.removeAttribute("aria-describedby");
  }
  const top = form.querySelector(".form-error");
  top.hidden = true;
  top.textContent = "";
}

/** The server's message next to the field it names (focused), else at the top of the form. */
export function showProblem(form, err) {
  const message = err instanceof ApiError ? err.message
    : "The server could not be reached: check the connection and try again.";
  const input = err instanceof ApiError && err.field ? form.querySelector(`[name="${CSS.escape(err.field)}"]`) : null;
  if (input) {
    const id = `${input.id}-error`;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", id);
    input.after(h("p", { id, class: "error field-error", role: "alert", text: message }));
    input.focus();
    return;
  }
  const top = form.querySelector(".form-error");
  top.textContent = message;
  top.hidden = false;
}

/**
 * Submit `form` with `action(formData)`; while it runs its buttons are disabled; a failure is
 * shown in plain words; `done(result)` afterwards (e.g. a message in the form's status line).
 * Each form holds a <p class="error form-error" role="alert" hidden> and a <p class="form-ok">.
 */
export function bindForm(form, action, done) {
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearProblems(form);
    const ok = form.querySelector(".form-ok");
    if (ok) ok.textContent = "";
    const buttons = [...form.querySelectorAll("button")];
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const result = await action(new FormData(form), ev.submitter);
      await done?.(result);
    } catch (err) {
      showProblem(form, err);
    } finally {
      // a button that waits for something else (data-ready="0") stays off
      buttons.forEach((b) => { b.disabled = b.dataset.ready === "0"; });
    }
  });
}

export function say(form, text) {
  const ok = form.querySelector(".form-ok");
  if (ok) ok.textContent = text;
}

/** "Thu 3 Dec 2026, 09:30" in `zone`. */
export function inZone(iso, zone) {
  if (!iso) return "";
  return new Intl.DateTimeFormat("en-GB", {
    timeZone: zone, weekday: "short", day: "numeric", month: "short", year: "numeric",
    hour: "2-digit", minute: "2-digit",
  }).format(new Date(iso));
}

/** A time in each zone of a lesson's schools, each labelled: "Thu 3 Dec 2026, 09:30 (America/Chicago)". */
export function timeInZones(iso, zones) {
  if (!iso) return "";
  return zones.map((zone) => `${inZone(iso, zone)} (${zone})`).join(" · ");
}

/** Every IANA zone the browser knows (for a datalist), "UTC" first. */
export function knownZones() {
  const list = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  return ["UTC", ...list.filter((z) => z !== "UTC")];
}

/** The directory the pages share: schools, sites, zones of a course's schools. */
export class Directory {
  constructor(schools, sites) {
    this.schools = new Map(schools.map((s) => [s.id, s]));
    this.sites = new Map(sites.map((s) => [s.id, s]));
  }

  siteName(id) {
    if (id === null || id === undefined) return "Remote (at home)";
    const site = this.sites.get(id);
    return site ? site.name : `Site ${id}`;
  }

  /** The distinct time zones of the schools a course is offered at ("UTC" when none). */
  zonesOf(course) {
    const zones = [];
    for (const siteId of course?.site_ids ?? []) {
      const zone = this.schools.get(this.sites.get(siteId)?.school_id)?.timezone;
      if (zone && !zones.includes(zone)) zones.push(zone);
    }
    return zones.length ? zones : ["UTC"];
  }
}
