// LMS connections for admins: the values to give an LMS, the registered LMSs (add or change),
// and the LMS courses seen in launches with their roster sync.

import { api, ApiError, loadAuth } from "./api.js";
import { h, $ } from "./dom.js";
import { halt, showSignedIn } from "./page.js";
import { bindForm, options, say, table } from "./setup_kit.js";

const FIELDS = ["name", "issuer", "client_id", "auth_login_url", "token_url", "jwks_url", "token_audience"];
let platforms = [];

function showError(err) {
  const box = $("#page-error");
  box.textContent = err instanceof ApiError ? err.message : "The server could not be reached.";
  box.hidden = false;
}

async function loadTool() {
  const tool = await api("/api/lti/tool");
  $("#tool").replaceChildren(table("Tool values", ["what", "value"], [
    ["OIDC login (initiation) URL", tool.login_url],
    ["Redirect / launch URL", tool.launch_url],
    ["Deep Linking URL", tool.deep_link_url],
    ["Public keyset (JWKS) URL", tool.jwks_url],
    ["Scopes (services)", tool.scopes.join(" ")],
  ], ""));
}

async function loadPlatforms() {
  platforms = await api("/api/lti/platforms");
  $("#platforms").replaceChildren(table("Registered LMSs",
    ["name", "issuer", "client ID", "deployments", "keys"],
    platforms.map((p) => [p.name, p.issuer, p.client_id, p.deployment_ids.join(", "), p.jwks_url]),
    "No LMS registered yet."));
  options($("#p-id"), platforms.map((p) => ({ value: p.id, label: p.name })), "a new registration");
}

function fillForm() {
  const chosen = platforms.find((p) => String(p.id) === $("#p-id").value);
  const form = $("#platform-form");
  for (const field of FIELDS) form.elements[field].value = chosen ? chosen[field] : "";
  form.elements.deployment_ids.value = chosen ? chosen.deployment_ids.join("\n") : "";
  form.elements.link_by_email.checked = chosen ? chosen.link_by_email : false;
}

async function loadContexts() {
  const contexts = await api("/api/lti/contexts");
  $("#contexts").replaceChildren(table("LMS courses", ["LMS course", "course here", "roster"],
    contexts.map((c) => [c.title || c.context_id, String(c.course_id), syncButton(c)]),
    "No launch from an LMS course yet."));
}

function syncButton(context) {
  if (!context.roster_service) return "no roster service";
  const out = h("span", { class: "muted" });
  const button = h("button", { class: "btn btn-small", type: "button", text: "Sync roster" });
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const r = await api(`/api/lti/contexts/${Number(context.id)}/sync`, { method: "POST" });
      out.textContent = ` ${r.members} members: ${r.students} learners (${r.enrolled} newly enrolled), ${r.teachers} instructors, ${r.skipped} skipped`;
    } catch (err) {
      out.textContent = ` ${err instanceof ApiError ? err.message : "the server could not be reached"}`;
    } finally {
      button.disabled = false;
    }
  });
  return h("span", {}, button, out);
}

async function main() {
  const auth = loadAuth();
  if (auth?.user?.role !== "admin") {
    halt("This page is for admins: sign in first.", { href: "/", text: "Sign in" });
    return;
  }
  showSignedIn(auth);
  $("#p-id").addEventListener("change", fillForm);
  bindForm($("#platform-form"), (data) => {
    const body = Object.fromEntries(FIELDS.map((f) => [f, String(data.get(f) ?? "").trim()]));
    body.deployment_ids = String(data.get("deployment_ids") ?? "").split("\n").map((s) => s.trim()).filter(Boolean);
    body.link_by_email = data.get("link_by_email") === "on";
    const id = data.get("id");
    return id ? api(`/api/lti/platforms/${Number(id)}`, { method: "PUT", body })
      : api("/api/lti/platforms", { method: "POST", body });
  }, async (saved) => {
    await loadPlatforms();
    $("#p-id").value = String(saved.id);
    say($("#platform-form"), `Saved: ${saved.name}.`);
  });
  try {
    await Promise.all([loadTool(), loadPlatforms(), loadContexts()]);
  } catch (err) {
    showError(err);
  }
}

main();
