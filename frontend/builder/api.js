// Calls to the management API from the logged-in page: the session cookie authenticates,
// Django's CSRF token rides in a header on unsafe methods.
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message || `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code || String(status);
    this.fields = body?.error?.fields || {};
    this.body = body;
  }
}

function csrfToken() {
  const meta = document.querySelector("meta[name=csrf-token]");
  if (meta) return meta.content;
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

export async function api(path, { method = "GET", body, signal } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  const response = await fetch(`/api/v1/${path}`, {
    method, headers, credentials: "same-origin", signal,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  let data = null;
  try { data = await response.json(); } catch { data = null; }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// Fetch every page of a list endpoint (bounded: pickers show at most `max` items).
export async function apiList(path, { max = 500 } = {}) {
  const items = [];
  let next = path;
  while (next && items.length < max) {
    const data = await api(next);
    items.push(...(data.results || []));
    next = data.next ? data.next.replace(/^.*\/api\/v1\//, "") : null;
  }
  return items;
}

// Run `fn` once the browser is idle (at the latest after 1.5 s): for what the first paint and
// the first click do not need. Returns the function that cancels it (an effect's cleanup).
export function whenIdle(fn) {
  if (window.requestIdleCallback) {
    const id = window.requestIdleCallback(fn, { timeout: 1500 });
    return () => window.cancelIdleCallback(id);
  }
  const t = setTimeout(fn, 200);
  return () => clearTimeout(t);
}
