// Calls to the token-protected API. The token lives in sessionStorage: it is gone when the tab closes.

const TOKEN_KEY = "hsa.token";

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  save(token) {
    sessionStorage.setItem(TOKEN_KEY, token);
  },
  clear() {
    sessionStorage.removeItem(TOKEN_KEY);
  },
};

export class ApiError extends Error {
  constructor(status, detail, body) {
    super(messageOf(detail, status));
    this.status = status;
    this.detail = detail;
    this.body = body;
  }

  /** Row-level errors of an import (or validation errors), when the server sent them. */
  get rowErrors() {
    if (this.detail && Array.isArray(this.detail.errors)) return this.detail.errors;
    return [];
  }
}

function messageOf(detail, status) {
  if (typeof detail === "string" && detail) return detail;
  if (detail && typeof detail.message === "string") return detail.message;
  if (Array.isArray(detail)) return detail.map((d) => d.msg || JSON.stringify(d)).join("；");
  if (status === 0) return "无法连接服务器，请检查网络后重试";
  return `请求失败（HTTP ${status}）`;
}

/**
 * Fetch ``path`` with the bearer token. Options: method, json (body), form (FormData), query (object), raw (return
 * the Response). Throws ApiError with the server's Chinese ``detail``. A 401 sends the user back to the login view.
 */
export async function api(path, { method = "GET", json, form, query, raw = false, headers = {}, signal } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [key, value] of Object.entries(query || {})) {
    if (value === undefined || value === null || value === "") continue;
    if (Array.isArray(value)) value.forEach((v) => url.searchParams.append(key, v));
    else url.searchParams.set(key, value);
  }
  const init = { method, headers: { Accept: "application/json", ...headers }, signal };
  if (session.token) init.headers.Authorization = `Bearer ${session.token}`;
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (form) {
    init.body = form;
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, null, null);
  }
  if (response.status === 401) {
    session.clear();
    window.dispatchEvent(new CustomEvent("auth:expired"));
  }
  if (!response.ok) {
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    throw new ApiError(response.status, body ? body.detail : null, body);
  }
  if (raw) return response;
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  return type.includes("json") ? response.json() : response.text();
}

/** Download an API file (export) with the token, as the browser's normal download. */
export async function download(path, query, filename) {
  const response = await api(path, { query, raw: true });
  const blob = await response.blob();
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 5000);
}
