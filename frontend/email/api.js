// The editor's calls: the management API (session cookie + CSRF, as the workflow builder),
// plus a multipart upload for images.
import { api, apiList, ApiError } from "../builder/api.js";

export { api, apiList, ApiError };

function csrfToken() {
  const meta = document.querySelector("meta[name=csrf-token]");
  if (meta) return meta.content;
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

export async function uploadMedia(file, alt) {
  const form = new FormData();
  form.append("file", file);
  if (alt) form.append("alt", alt);
  const response = await fetch("/api/v1/messaging/media/", {
    method: "POST", body: form, credentials: "same-origin",
    headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
  });
  let data = null;
  try { data = await response.json(); } catch { data = null; }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// A list endpoint's items whether it pages ({results}) or not (a bare list).
export function items(data) {
  if (Array.isArray(data)) return data;
  return data?.results || [];
}

// An error's words for a person: the API's message plus the fields it names.
export function errorText(error) {
  if (!(error instanceof ApiError)) return String(error?.message || error);
  const fields = Object.entries(error.fields || {}).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(" ") : v}`);
  return [error.message, ...fields].filter(Boolean).join(" · ");
}
