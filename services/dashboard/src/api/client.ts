import createClient from "openapi-fetch";
import type { paths } from "./schema";

/** An API failure, carrying the `{"detail", "code"}` body every 4xx/5xx uses. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string | null;
  readonly detail: unknown;

  constructor(status: number, detail: unknown, code: string | null) {
    super(ApiError.describe(status, detail));
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.detail = detail;
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

export const api = createClient<paths>({
  baseUrl: typeof window === "undefined" ? "http://localhost" : window.location.origin,
  // Resolved per call so tests can replace the global fetch.
  fetch: (request: Request) => globalThis.fetch(request),
});

interface FetchResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
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
    );
  }
  return data as T;
}
