// An in-memory stand-in for the HTTP API, installed as the global fetch: the unit tests cannot
// run the Python server, so this serves the few routes the components call and records requests.
import { vi } from "vitest";
import type { Message, Task, TaskDetail } from "../api/types";

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
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
    api.requests.push({ method: request.method, path: url.pathname, query: url.searchParams, body });
    const path = url.pathname;
    const failure = api.failures[`${request.method} ${path}`];
    if (failure) return json({ detail: failure.detail, code: "failed" }, failure.status);

    if (path === "/api/config") {
      return json({ name: "Task Tracker", version: "test", ws_url: "/ws", classifier: "builtin", review_threshold: 0.7, embedded: true });
    }
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
