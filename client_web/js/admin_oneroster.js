// The OneRoster 1.2 import on the admin page (docs/roster.md): one zip, or manifest.csv and the
// CSV files. "Check the files" is a dry run that lists every bad row with its file, line and
// reason, or what an import would add and update; "Import" is enabled after a clean check.

import { api } from "./api.js";
import { $, h } from "./dom.js";
import { bindForm, say, table } from "./setup_kit.js";

const COUNTS = [
  ["schools", "schools_created", "schools_updated"],
  ["people", "users_created", "users_updated"],
  ["courses", "courses_created", "courses_updated"],
  ["enrolments", "enrolments_created", "enrolments_updated"],
];

function summary(report) {
  const parts = COUNTS.map(([what, made, changed]) => `${what}: ${report[made]} new, ${report[changed]} updated`);
  if (report.enrolments_removed) parts.push(`${report.enrolments_removed} enrolments no longer in the files`);
  if (report.users_skipped) parts.push(`${report.users_skipped} left out (guardians, parents, relatives, counsellors)`);
  return parts.join("; ");
}

function oneRosterReport(report, checking) {
  if (report.errors.length) {
    return [
      h("p", { class: "error", role: "alert", text:
        `${report.errors.length} ${report.errors.length === 1 ? "problem" : "problems"}; nothing was imported. Fix the files and check them again.` }),
      table("Problems", ["File", "Line", "Reason"],
        report.errors.map((e) => [e.file, e.line ? String(e.line) : "whole file", e.reason]), ""),
    ];
  }
  if (checking) return [h("p", { role: "status", text: `The files are good. An import would give ${summary(report)}. Press Import.` })];
  return [h("p", { role: "status", text: `Imported: ${summary(report)}.` })];
}

export function wireOneRoster(reload) {
  const form = $("#oneroster-form");
  const importButton = $("#oneroster-import");
  const result = $("#oneroster-result");
  const block = () => { importButton.dataset.ready = "0"; importButton.disabled = true; };
  $("#oneroster-files").addEventListener("change", () => { block(); result.replaceChildren(); });
  bindForm(form, async (data, submitter) => {
    const checking = submitter?.value !== "import";
    block();
    const upload = new FormData();
    for (const file of data.getAll("files")) upload.append("files", file);
    const report = await api(`/api/roster/oneroster?dry_run=${checking}`, { method: "POST", body: upload });
    return { report, checking };
  }, async ({ report, checking }) => {
    result.replaceChildren(...oneRosterReport(report, checking));
    if (checking && !report.errors.length) importButton.dataset.ready = "1";
    if (!checking && report.imported) {
      say(form, "OneRoster files imported.");
      await reload();
    }
  });
}
