// An in-memory stand-in for the HTTP API, installed as the global fetch: the unit tests cannot
// run the Python server, so this serves the few routes the components call and records requests.
import { vi } from "vitest";
import type { ApiToken, Me, Message, Role, Task, TaskDetail, User } from "../api/types";

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
  headers: Headers;
}

/** The accounts side of the fake server (COORD.md "Contract: accounts and access"). */
export interface FakeAuth {
  /** What `/api/config` says; "off" by default, as the existing screens' tests assume. */
  mode: "on" | "off";
  /** Who the session cookie belongs to; `null`: not signed in (401 on everything but login). */
  me: Me | null;
  users: Array<User & { password: string }>;
  tokens: ApiToken[];
  /** Answer the next login attempts with 429 and this Retry-After. */
  rateLimitSeconds: number | null;
  tickets: number;
}

type DetailParts = Pick<TaskDetail, "messages" | "issues" | "activity" | "exports">;

export interface FakeApi {
  tasks: Task[];
  /** The inbox, newest first (the API's order). */
  messages: Message[];
  /** What `GET /api/tasks/{id}` adds to a task (messages, issues, activity, exports); empty lists by default. */
  details: Record<number, Partial<DetailParts>>;
  /** Requests answered with an error instead: `"PATCH /api/tasks/1"` → status and detail. */
  failures: Record<string, { status: number; detail: string }>;
  requests: RecordedRequest[];
  auth: FakeAuth;
  patches: () => Array<{ id: number; body: Record<string, unknown> }>;
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

const RANK: Record<string, number> = { low: 0, medium: 1, high: 2, urgent: 3 };

export function installFakeApi(tasks: Task[], messages: Message[] = []): FakeApi {
  const api: FakeApi = {
    tasks: tasks.map((task) => ({ ...task })),
    messages: messages.map((message) => ({ ...message })),
    details: {},
    failures: {},
    requests: [],
    auth: {
      mode: "off",
      me: { id: null, username: "local", email: null, role: "admin", via: "off" },
      users: [],
      tokens: [],
      rateLimitSeconds: null,
      tickets: 0,
    },
    patches: () =>
      api.requests
        .filter((request) => request.method === "PATCH")
        .map((request) => ({ id: Number(request.path.split("/").pop()), body: request.body as Record<string, unknown> })),
  };

  const handler = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = input instanceof Request ? input : new Request(String(input), init);
    const url = new URL(request.url);
    const text = request.method === "GET" ? "" : await request.text();
    const body: unknown = text ? JSON.parse(text) : undefined;
    api.requests.push({ method: request.method, path: url.pathname, query: url.searchParams, body, headers: request.headers });
    const path = url.pathname;
    const failure = api.failures[`${request.method} ${path}`];
    if (failure) return json({ detail: failure.detail, code: "failed" }, failure.status);

    if (path === "/api/config") {
      return json({
        name: "Task Tracker",
        version: "test",
        ws_url: "/ws",
        classifier: "builtin",
        review_threshold: 0.7,
        embedded: true,
        auth: api.auth.mode,
      });
    }
    const answer = serveAuth(api.auth, request.method, path, url.searchParams, body);
    if (answer) return answer;
    if (path === "/api/channels") return json({ data: [{ id: 1, kind: "api", name: "api", enabled: true }] });
    if (path === "/api/stats") {
      return json({
        by_category: {},
        by_priority: {},
        by_status: {},
        messages_per_day: [],
        models: {},
        latency_ms: { p50: null, p95: null },
        needs_review: api.tasks.filter((task) => task.needs_review).length,
        total_tasks: api.tasks.length,
        total_messages: 0,
      });
    }
    if (path === "/api/messages" && request.method === "POST") {
      const sent = body as { content: string; author: string | null; channel: string };
      const id = Math.max(0, ...api.messages.map((row) => row.id)) + 1;
      const message: Message = {
        id,
        channel: { id: 1, kind: "api", name: sent.channel },
        external_id: `rest-${id}`,
        author: sent.author,
        content: sent.content,
        sent_at: new Date().toISOString(),
        received_at: new Date().toISOString(),
        status: "received",
        task_id: null,
        classification: null,
      };
      api.messages.unshift(message);
      return json(message, 202);
    }
    const retry = path.match(/^\/api\/messages\/(\d+)\/retry$/);
    if (retry && request.method === "POST") {
      const message = api.messages.find((row) => row.id === Number(retry[1]));
      if (!message) return json({ detail: "message not found", code: "not_found" }, 404);
      if (message.status !== "failed") return json({ detail: `message is ${message.status}, not failed`, code: "not_failed" }, 409);
      message.status = "received";
      return json(message, 202);
    }
    if (path === "/api/messages") {
      const q = url.searchParams;
      const rows = api.messages.filter((message) => {
        const statuses = q.getAll("status");
        const categories = q.getAll("category");
        const channels = q.getAll("channel");
        if (statuses.length && !statuses.includes(message.status)) return false;
        if (categories.length && !categories.includes(message.classification?.category ?? "")) return false;
        if (channels.length && !channels.includes(message.channel.name)) return false;
        if (q.get("q") && !message.content.toLowerCase().includes(q.get("q")!.toLowerCase())) return false;
        return true;
      });
      return json({ data: rows, next_cursor: null });
    }
    if (path === "/api/tasks" && request.method === "GET") {
      const q = url.searchParams;
      let rows = api.tasks.filter((task) => {
        const statuses = q.getAll("status");
        const categories = q.getAll("category");
        const priorities = q.getAll("priority");
        if (statuses.length && !statuses.includes(task.status)) return false;
        if (categories.length && !categories.includes(task.category)) return false;
        if (priorities.length && !priorities.includes(task.priority)) return false;
        if (q.has("needs_review") && String(task.needs_review) !== q.get("needs_review")) return false;
        if (q.get("q") && !task.title.toLowerCase().includes(q.get("q")!.toLowerCase())) return false;
        return true;
      });
      rows =
        q.get("sort") === "-priority"
          ? rows.sort((a, b) => (RANK[b.priority] ?? 0) - (RANK[a.priority] ?? 0) || b.id - a.id)
          : rows.sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id - a.id);
      return json({ data: rows, next_cursor: null });
    }
    const match = path.match(/^\/api\/tasks\/(\d+)(\/merge)?$/);
    if (match) {
      const task = api.tasks.find((row) => row.id === Number(match[1]));
      if (!task) return json({ detail: "task not found", code: "not_found" }, 404);
      if (match[2] && request.method === "POST") {
        const target = api.tasks.find((row) => row.id === (body as { into: number }).into);
        if (!target) return json({ detail: "task not found", code: "not_found" }, 404);
        Object.assign(task, { status: "closed", needs_review: false, merged_into_id: target.id });
        return json(target);
      }
      if (request.method === "PATCH") {
        const patch = body as Record<string, unknown>;
        // As the real API: a category or priority correction counts as the review.
        const corrected = ("category" in patch || "priority" in patch) && !("needs_review" in patch);
        Object.assign(task, patch, { updated_at: new Date().toISOString() }, corrected ? { needs_review: false } : {});
        return json(task);
      }
      if (request.method === "DELETE") {
        api.tasks = api.tasks.filter((row) => row !== task);
        return new Response(null, { status: 204 });
      }
      return json({ ...task, messages: [], issues: [], activity: [], exports: [], ...api.details[task.id] });
    }
    return json({ detail: `no fake route for ${request.method} ${path}`, code: "not_found" }, 404);
  };

  vi.stubGlobal("fetch", vi.fn(handler));
  return api;
}

const ROLE_RANK: Record<Role, number> = { viewer: 0, editor: 1, admin: 2 };
const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** Login, the session, users and tokens; and the role rules in front of every other route. */
function serveAuth(auth: FakeAuth, method: string, path: string, query: URLSearchParams, body: unknown): Response | null {
  if (path === "/api/auth/login" && method === "POST") {
    if (auth.rateLimitSeconds !== null) {
      return new Response(JSON.stringify({ detail: "too many login attempts", code: "rate_limited" }), {
        status: 429,
        headers: { "content-type": "application/json", "retry-after": String(auth.rateLimitSeconds) },
      });
    }
    const { username, password } = body as { username: string; password: string };
    const user = auth.users.find((row) => row.username === username && row.password === password && !row.disabled);
    if (!user) return json({ detail: "wrong username or password", code: "invalid_credentials" }, 401);
    auth.me = { id: user.id, username: user.username, email: user.email ?? null, role: user.role, via: "session" };
    return json(publicUser(user));
  }
  if (auth.mode === "on" && !auth.me) {
    return json({ detail: "not signed in", code: "not_authenticated" }, 401);
  }
  const me = auth.me;
  if (!me) return null;
  if (path === "/api/auth/me") return json(me);
  if (path === "/api/auth/logout" && method === "POST") {
    auth.me = null;
    return new Response(null, { status: 204 });
  }
  if (path === "/api/auth/ws-ticket" && method === "POST") {
    auth.tickets += 1;
    return json({ ticket: `ticket-${auth.tickets}`, expires_in: 30 });
  }
  const adminOnly = path.startsWith("/api/users");
  const needed: Role = adminOnly ? "admin" : UNSAFE.has(method) && !path.startsWith("/api/tokens") ? "editor" : "viewer";
  if (ROLE_RANK[me.role] < ROLE_RANK[needed]) return json({ detail: `needs ${needed}`, code: "forbidden" }, 403);

  if (path === "/api/users" && method === "GET") return json({ data: auth.users.map(publicUser), count: auth.users.length });
  if (path === "/api/users" && method === "POST") {
    const sent = body as { username: string; email?: string | null; password: string; role: Role };
    if (auth.users.some((row) => row.username === sent.username)) {
      return json({ detail: `user ${sent.username} exists`, code: "conflict" }, 409);
    }
    const user = {
      id: Math.max(0, ...auth.users.map((row) => row.id)) + 1,
      username: sent.username,
      email: sent.email ?? null,
      role: sent.role,
      disabled: false,
      telegram_user_id: null,
      created_at: new Date().toISOString(),
      password: sent.password,
    };
    auth.users.push(user);
    return json(publicUser(user), 201);
  }
  const userMatch = path.match(/^\/api\/users\/(\d+)$/);
  if (userMatch && method === "PATCH") {
    const user = auth.users.find((row) => row.id === Number(userMatch[1]));
    if (!user) return json({ detail: "user not found", code: "not_found" }, 404);
    Object.assign(user, body);
    return json(publicUser(user));
  }
  if (path === "/api/tokens" && method === "GET") {
    // As the server: everyone's for an admin without user_id, else one user's.
    const owner = query.get("user_id") ?? (me.role === "admin" ? null : String(me.id));
    const rows = owner === null ? auth.tokens : auth.tokens.filter((row) => String(row.user_id) === owner);
    return json({ data: rows, count: rows.length });
  }
  if (path === "/api/tokens" && method === "POST") {
    const sent = body as { name: string; expires_in_days?: number | null };
    const id = Math.max(0, ...auth.tokens.map((row) => row.id)) + 1;
    const expires = sent.expires_in_days ? new Date(Date.now() + sent.expires_in_days * 86_400_000).toISOString() : null;
    const secret = `tt_secret${id}abcdef`;
    auth.tokens.push({
      id,
      name: sent.name,
      prefix: secret.slice(0, 8),
      user_id: me.id ?? 0,
      created_at: new Date().toISOString(),
      expires_at: expires,
      last_used_at: null,
      revoked_at: null,
    });
    return json({ id, name: sent.name, token: secret, prefix: secret.slice(0, 8), expires_at: expires }, 201);
  }
  const tokenMatch = path.match(/^\/api\/tokens\/(\d+)$/);
  if (tokenMatch && method === "DELETE") {
    const token = auth.tokens.find((row) => row.id === Number(tokenMatch[1]));
    if (!token) return json({ detail: "token not found", code: "not_found" }, 404);
    token.revoked_at = new Date().toISOString();
    return new Response(null, { status: 204 });
  }
  return null;
}

function publicUser(user: User & { password?: string }): User {
  const rest = { ...user };
  delete rest.password;
  return rest;
}
