import createClient from "openapi-fetch";
import type { paths } from "./schema";

/** An API failure, carrying the `{"detail", "code"}` body every 4xx/5xx uses. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string | null;
  readonly detail: unknown;
  /** Seconds from a `Retry-After` header (429, 503), when the server sent one. */
  readonly retryAfter: number | null;

  constructor(status: number, detail: unknown, code: string | null, retryAfter: number | null = null) {
    super(ApiError.describe(status, detail));
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.retryAfter = retryAfter;
  }

  static describe(status: number, detail: unknown): string {
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      // FastAPI validation errors: [{loc, msg, type}]
      const msgs = detail
        .map((item: unknown) => (item && typeof item === "object" && "msg" in item && typeof item.msg === "string" ? item.msg : ""))
        .filter(Boolean);
      if (msgs.length) return msgs.join("; ");
    }
    return `HTTP ${status}`;
  }
}

export function isApiError(error: unknown, status?: number): error is ApiError {
  return error instanceof ApiError && (status === undefined || error.status === status);
}

/** The double-submit cookie the server sets with the session; unsafe requests echo it in a header. */
export const CSRF_COOKIE = "tt_csrf";
export const CSRF_HEADER = "X-CSRF-Token";
const UNSAFE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export function readCookie(name: string, cookies: string = typeof document === "undefined" ? "" : document.cookie): string | null {
  for (const part of cookies.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    try {
      return decodeURIComponent(value);
    } catch {
      return value;
    }
  }
  return null;
}

/** The request, with the CSRF header added when it is unsafe and the browser holds the cookie. */
export function withCsrf(request: Request): Request {
  if (!UNSAFE_METHODS.has(request.method.toUpperCase()) || request.headers.has(CSRF_HEADER)) return request;
  const token = readCookie(CSRF_COOKIE);
  if (!token) return request;
  const headers = new Headers(request.headers);
  headers.set(CSRF_HEADER, token);
  return new Request(request, { headers });
}

// Answers 401 without meaning "the session is gone": a wrong password at the login form.
const CREDENTIAL_CHECKS = new Set(["/api/auth/login"]);
type UnauthorizedListener = () => void;
const unauthorizedListeners = new Set<UnauthorizedListener>();

/**
 * Called whenever the server says the caller is not signed in (any 401 outside the login form,
 * or the WebSocket's close code 4401): the app goes to the login page. Returns the unsubscribe.
 */
export function onUnauthorized(listener: UnauthorizedListener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

export function notifyUnauthorized(): void {
  for (const listener of [...unauthorizedListeners]) listener();
}

export const api = createClient<paths>({
  baseUrl: typeof window === "undefined" ? "http://localhost" : window.location.origin,
  // Resolved per call so tests can replace the global fetch.
  fetch: async (request: Request) => {
    const response = await globalThis.fetch(withCsrf(request));
    if (response.status === 401 && !CREDENTIAL_CHECKS.has(new URL(request.url).pathname)) notifyUnauthorized();
    return response;
  },
});

interface FetchResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

function retryAfterSeconds(response: Response): number | null {
  const header = response.headers.get("retry-after");
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

/** Returns the body of a successful call, or throws an ApiError (network errors propagate as is). */
export async function unwrap<T>(call: Promise<FetchResult<T>>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) {
    const body = (error ?? {}) as { detail?: unknown; code?: unknown };
    throw new ApiError(
      response.status,
      body.detail ?? response.statusText,
      typeof body.code === "string" ? body.code : null,
      retryAfterSeconds(response),
    );
  }
  return data as T;
}

/** For calls answered with 204: throws an ApiError on failure, returns nothing. */
export async function unwrapEmpty(call: Promise<FetchResult<unknown>>): Promise<void> {
  const { error, response } = await call;
  if (!response.ok) await unwrap(Promise.resolve({ error, response }));
}
