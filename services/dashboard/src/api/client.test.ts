import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError, api, onUnauthorized, readCookie, unwrap, withCsrf } from "./client";

function clearCookies() {
  for (const part of document.cookie.split(";")) {
    const name = part.split("=")[0]?.trim();
    if (name) document.cookie = `${name}=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/`;
  }
}

describe("the API client", () => {
  afterEach(clearCookies);

  it("reads one cookie among several, decoding it", () => {
    expect(readCookie("tt_csrf", "a=1; tt_csrf=abc%3D%3D; b=2")).toBe("abc==");
    expect(readCookie("tt_csrf", "xtt_csrf=no; a=1")).toBeNull();
    expect(readCookie("tt_csrf", "")).toBeNull();
  });

  it("sends X-CSRF-Token from the tt_csrf cookie on unsafe requests only", async () => {
    document.cookie = "tt_csrf=token-123; path=/";
    const seen: Array<[string, string | null]> = [];
    vi.stubGlobal(
      "fetch",
      vi.fn((request: Request) => {
        seen.push([request.method, request.headers.get("X-CSRF-Token")]);
        return Promise.resolve(new Response(JSON.stringify({ id: 1 }), { status: 200, headers: { "content-type": "application/json" } }));
      }),
    );
    await api.GET("/api/stats");
    await api.PATCH("/api/tasks/{task_id}", { params: { path: { task_id: 1 } }, body: { title: "x" } });
    await api.DELETE("/api/tasks/{task_id}", { params: { path: { task_id: 1 } } });
    await api.POST("/api/auth/logout");
    expect(seen).toEqual([
      ["GET", null],
      ["PATCH", "token-123"],
      ["DELETE", "token-123"],
      ["POST", "token-123"],
    ]);
  });

  it("keeps the body of a request it adds the header to", async () => {
    document.cookie = "tt_csrf=t; path=/";
    const request = withCsrf(new Request("http://localhost/api/tasks", { method: "POST", body: JSON.stringify({ title: "kept" }) }));
    expect(request.headers.get("X-CSRF-Token")).toBe("t");
    expect(await request.json()).toEqual({ title: "kept" });
  });

  it("sends no header without the cookie (auth off, or not signed in yet)", () => {
    const request = withCsrf(new Request("http://localhost/api/tasks", { method: "POST", body: "{}" }));
    expect(request.headers.has("X-CSRF-Token")).toBe(false);
  });

  it("reports a 401 as a lost session, except a wrong password at the login form", async () => {
    const lost = vi.fn();
    const unsubscribe = onUnauthorized(lost);
    vi.stubGlobal(
      "fetch",
      vi.fn(() => Promise.resolve(new Response(JSON.stringify({ detail: "no", code: "not_authenticated" }), { status: 401 }))),
    );
    await api.POST("/api/auth/login", { body: { username: "a", password: "b" } });
    expect(lost).not.toHaveBeenCalled();
    await api.GET("/api/stats");
    expect(lost).toHaveBeenCalledTimes(1);
    unsubscribe();
    await api.GET("/api/stats");
    expect(lost).toHaveBeenCalledTimes(1);
  });

  it("carries Retry-After of a 429 on the error", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(() =>
        Promise.resolve(
          new Response(JSON.stringify({ detail: "slow down", code: "rate_limited" }), {
            status: 429,
            headers: { "content-type": "application/json", "retry-after": "17" },
          }),
        ),
      ),
    );
    const error = await unwrap(api.POST("/api/auth/login", { body: { username: "a", password: "b" } })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 429, code: "rate_limited", retryAfter: 17, message: "slow down" });
  });
});
