// REST calls with the signed-in user's bearer token (kept in sessionStorage, per tab).

const KEY = "hyflex.auth";

export class ApiError extends Error {
  constructor(status, code, message, field = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field; // the request field the message is about, when the server says
  }
}

// FastAPI's validation problems, in plain words ("Code may hold only letters, ...").
const PROBLEM_WORDS = {
  missing: () => "is required",
  string_too_short: (ctx) => (ctx?.min_length > 1 ? `needs at least ${ctx.min_length} characters` : "is required"),
  string_too_long: (ctx) => `may have at most ${ctx?.max_length} characters`,
  string_pattern_mismatch: () => "may hold only letters, digits, dots, dashes and underscores (at most 64)",
  int_parsing: () => "must be a whole number",
  datetime_from_date_parsing: () => "is not a date and time",
  datetime_parsing: () => "is not a date and time",
  enum: (ctx) => `must be one of: ${ctx?.expected ?? "the listed values"}`,
};

function validationProblem(problem) {
  const field = Array.isArray(problem?.loc) ? problem.loc.at(-1) : null;
  const label = typeof field === "string" ? field.replaceAll("_", " ") : "a value";
  const words = PROBLEM_WORDS[problem?.type];
  let text = String(problem?.msg ?? "is not valid").replace(/^Value error, /, "");
  if (words) text = `${label[0].toUpperCase()}${label.slice(1)} ${words(problem.ctx)}.`;
  else if (problem?.type !== "value_error") text = `${label}: ${text}`;
  return { field: typeof field === "string" ? field : null, text };
}

/** {token, user, session_id?} or null. */
export function loadAuth() {
  try {
    const auth = JSON.parse(sessionStorage.getItem(KEY) ?? "null");
    return auth && typeof auth.token === "string" ? auth : null;
  } catch {
    return null;
  }
}

export function saveAuth(auth) {
  sessionStorage.setItem(KEY, JSON.stringify(auth));
}

export function clearAuth() {
  sessionStorage.removeItem(KEY);
}

export async function api(path, { method = "GET", body, token } = {}) {
  const headers = { Accept: "application/json" };
  const auth = token ?? loadAuth()?.token;
  if (auth) headers.Authorization = `Bearer ${auth}`;
  const isForm = body instanceof FormData; // a file upload: the browser sets its own type
  if (body !== undefined && !isForm) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined || isForm ? body : JSON.stringify(body),
  });
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const err = data?.error;
    if (err?.message) throw new ApiError(response.status, err.code ?? "http_error", err.message);
    if (Array.isArray(data?.detail) && data.detail.length) {
      const { field, text } = validationProblem(data.detail[0]);
      throw new ApiError(response.status, "bad_input", text, field);
    }
    const detail = typeof data?.detail === "string" ? data.detail : null;
    throw new ApiError(response.status, "http_error", detail ?? `The server answered ${response.status}.`);
  }
  return data;
}

/** Save a file the API serves to the signed-in user (CSV and JSON exports): the browser's
 *  download, named by the server's Content-Disposition or `fallbackName`. Errors are
 *  ApiErrors with the server's message. */
export async function downloadFile(path, fallbackName) {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${loadAuth()?.token}` } });
  if (!response.ok) {
    const data = await response.json().catch(() => null);
    throw new ApiError(response.status, data?.error?.code ?? "http_error", data?.error?.message ?? `The server answered ${response.status}.`);
  }
  const disposition = response.headers.get("Content-Disposition") ?? "";
  const name = /filename="([^"]+)"/.exec(disposition)?.[1] ?? fallbackName;
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** The session id in a page path such as /teacher/12. */
export function sessionIdFromPath() {
  const id = Number(location.pathname.split("/").filter(Boolean).at(-1));
  return Number.isInteger(id) && id > 0 ? id : null;
}
