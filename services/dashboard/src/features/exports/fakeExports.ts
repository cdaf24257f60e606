// The export routes on top of the in-memory API (test/fakeApi.ts): installed after it, they answer
// /api/export-targets, /api/export-rules and a task's exports, and hand every other request on.
import { vi } from "vitest";
import type { ExportRule, ExportTarget, TaskExport } from "../../api/types";
import type { FakeApi } from "../../test/fakeApi";

export interface FakeExports {
  targets: ExportTarget[];
  rules: ExportRule[];
  /** The bodies of the requests the export routes answered, by "METHOD path". */
  sent: Array<{ route: string; body: unknown }>;
  /** Answer this many more reads of the rules with a 503. */
  rulesFailures: number;
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

export function makeTarget(overrides: Partial<ExportTarget> = {}): ExportTarget {
  return {
    id: 1,
    name: "web repo",
    kind: "github",
    enabled: true,
    config: { repository: "acme/web", api_url: "https://api.github.com", labels: [] },
    has_token: true,
    has_webhook_secret: true,
    webhook_path: "/webhook/github",
    exports: 0,
    created_at: "2026-11-26T10:00:00Z",
    updated_at: "2026-11-26T10:00:00Z",
    ...overrides,
  };
}

export function makeExport(overrides: Partial<TaskExport> = {}): TaskExport {
  return {
    id: 1,
    task_id: 7,
    target_id: 1,
    target_name: "web repo",
    tracker: "github",
    external_id: null,
    url: null,
    status: "pending",
    error: null,
    attempts: 0,
    created_at: "2026-11-26T10:06:00Z",
    updated_at: "2026-11-26T10:06:00Z",
    ...overrides,
  };
}

export function installFakeExports(api: FakeApi, targets: ExportTarget[] = []): FakeExports {
  const state: FakeExports = { targets: [...targets], rules: [], sent: [], rulesFailures: 0 };
  const fallback = globalThis.fetch;
  const handler = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = input instanceof Request ? input : new Request(String(input), init);
    const path = new URL(request.url).pathname;
    const exportsOf = path.match(/^\/api\/tasks\/(\d+)\/exports(?:\/(\d+)\/retry)?$/);
    if (!path.startsWith("/api/export-") && !exportsOf) return fallback(request);
    const text = request.method === "GET" ? "" : await request.clone().text();
    const body: unknown = text ? JSON.parse(text) : undefined;
    state.sent.push({ route: `${request.method} ${path}`, body });
    if (exportsOf) {
      const taskId = Number(exportsOf[1]);
      const rows = (api.details[taskId] ??= {}).exports ?? [];
      api.details[taskId].exports = rows;
      if (exportsOf[2]) {
        const row = rows.find((item) => item.id === Number(exportsOf[2]));
        if (!row) return json({ detail: "export not found", code: "unknown_export" }, 404);
        Object.assign(row, { status: row.external_id ? "exported" : "pending", error: null, attempts: 0 });
        return json(row, 202);
      }
      const target = state.targets.find((item) => item.id === (body as { target_id: number }).target_id)!;
      const row = makeExport({ id: rows.length + 1, task_id: taskId, target_id: target.id, target_name: target.name, tracker: target.kind });
      rows.push(row);
      return json(row, 202);
    }
    if (path === "/api/export-targets/choices") {
      return json(state.targets.filter((item) => item.enabled).map(({ id, name, kind }) => ({ id, name, kind })));
    }
    if (path === "/api/export-targets") {
      if (request.method === "POST") {
        const { token, webhook_secret: secret, ...rest } = body as Record<string, unknown>;
        if (!token) return json({ detail: "token is required", code: "validation_error" }, 422);
        const target = makeTarget({ ...(rest as Partial<ExportTarget>), id: state.targets.length + 1, has_webhook_secret: Boolean(secret) });
        state.targets.push(target);
        return json(target, 201);
      }
      return json(state.targets);
    }
    const one = path.match(/^\/api\/export-targets\/(\d+)$/);
    if (one) {
      const target = state.targets.find((item) => item.id === Number(one[1]));
      if (!target) return json({ detail: "no such target", code: "unknown_export_target" }, 404);
      if (request.method === "DELETE") {
        if (target.exports) return json({ detail: `export target '${target.name}' has exports; disable it instead`, code: "export_target_has_exports" }, 409);
        state.targets = state.targets.filter((item) => item !== target);
        return new Response(null, { status: 204 });
      }
      const patch = { ...(body as Record<string, unknown>) };
      delete patch.token; // write-only: never part of what the API answers
      Object.assign(target, patch);
      return json(target);
    }
    if (path === "/api/export-rules") {
      if (request.method === "POST") {
        const rule = { id: state.rules.length + 1, channel_id: null, category: null, priority: null, enabled: true, created_at: "2026-11-26T10:00:00Z", ...(body as object) } as ExportRule;
        state.rules.push(rule);
        return json(rule, 201);
      }
      if (state.rulesFailures > 0) {
        state.rulesFailures -= 1;
        return json({ detail: "database unavailable", code: "unavailable" }, 503);
      }
      return json(state.rules);
    }
    return json({ detail: `no fake route for ${request.method} ${path}`, code: "not_found" }, 404);
  };
  vi.stubGlobal("fetch", vi.fn(handler));
  return state;
}
