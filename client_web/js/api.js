// REST calls with the signed-in user's bearer token (kept in sessionStorage, per tab).

const KEY = "hyflex.auth";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
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
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const err = data?.error;
    const detail = Array.isArray(data?.detail) ? data.detail[0]?.msg : data?.detail;
    throw new ApiError(
      response.status,
      err?.code ?? "http_error",
      err?.message ?? detail ?? `HTTP ${response.status}`,
    );
  }
  return data;
}

/** The session id in a page path such as /teacher/12. */
export function sessionIdFromPath() {
  const id = Number(location.pathname.split("/").filter(Boolean).at(-1));
  return Number.isInteger(id) && id > 0 ? id : null;
}
