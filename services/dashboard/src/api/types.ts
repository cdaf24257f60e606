// Domain types derived from the generated OpenAPI paths, so a schema rename in the backend
// does not ripple through the app; only the operations matter.
import type { paths } from "./schema";

type JsonOf<R> = R extends { content: { "application/json": infer T } } ? T : never;
type Ok<Op> = Op extends { responses: infer R }
  ? R extends { 200: infer A }
    ? JsonOf<A>
    : R extends { 201: infer B }
      ? JsonOf<B>
      : R extends { 202: infer C }
        ? JsonOf<C>
        : never
  : never;
type Body<Op> = Op extends { requestBody?: { content: { "application/json": infer T } } } ? T : never;
type QueryOf<Op> = Op extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;

export type AppConfig = Ok<paths["/api/config"]["get"]>;
export type TaskList = Ok<paths["/api/tasks"]["get"]>;
export type Task = TaskList["data"][number];
export type TaskDetail = Ok<paths["/api/tasks/{task_id}"]["get"]>;
export type TaskCreate = Body<paths["/api/tasks"]["post"]>;
export type TaskPatch = Body<paths["/api/tasks/{task_id}"]["patch"]>;
export type TaskQuery = QueryOf<paths["/api/tasks"]["get"]>;
export type MessageList = Ok<paths["/api/messages"]["get"]>;
export type Message = MessageList["data"][number];
export type MessageQuery = QueryOf<paths["/api/messages"]["get"]>;
export type MessageCreate = Body<paths["/api/messages"]["post"]>;
export type Classification = NonNullable<Message["classification"]>;
export type Issue = TaskDetail["issues"] extends (infer I)[] | undefined ? I : never;
export type Activity = TaskDetail["activity"] extends (infer I)[] | undefined ? I : never;
export type TaskExport = TaskDetail["exports"] extends (infer I)[] | undefined ? I : never;
export type Stats = Ok<paths["/api/stats"]["get"]>;
export type ChannelList = Ok<paths["/api/channels"]["get"]>;
export type ExportTarget = Ok<paths["/api/export-targets"]["get"]>[number];
export type ExportTargetCreate = Body<paths["/api/export-targets"]["post"]>;
export type ExportTargetPatch = Body<paths["/api/export-targets/{target_id}"]["patch"]>;
export type ExportTargetChoice = Ok<paths["/api/export-targets/choices"]["get"]>[number];
export type ExportRule = Ok<paths["/api/export-rules"]["get"]>[number];
export type ExportRuleCreate = Body<paths["/api/export-rules"]["post"]>;
export const TARGET_KINDS = ["github", "jira", "linear", "webhook"] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];
export type Channel = ChannelList["data"][number];
export type ChannelRef = Message["channel"];
export type Me = Ok<paths["/api/auth/me"]["get"]>;
export type Role = Me["role"];
export type UserList = Ok<paths["/api/users"]["get"]>;
export type User = UserList["data"][number];
export type UserCreate = Body<paths["/api/users"]["post"]>;
export type UserPatch = Body<paths["/api/users/{user_id}"]["patch"]>;
export type TokenList = Ok<paths["/api/tokens"]["get"]>;
export type ApiToken = TokenList["data"][number];
export type TokenCreate = Body<paths["/api/tokens"]["post"]>;
export type TokenCreated = Ok<paths["/api/tokens"]["post"]>;

export const CATEGORIES = ["bug", "feature", "question", "task", "noise"] as const;
export const PRIORITIES = ["urgent", "high", "medium", "low"] as const;
export const TASK_STATUSES = ["open", "in_progress", "completed", "closed"] as const;
export const MESSAGE_STATUSES = ["received", "classifying", "classified", "failed"] as const;
export const ROLES = ["viewer", "editor", "admin"] as const;
export const TASK_SORTS = ["-created_at", "created_at", "-updated_at", "-priority", "priority"] as const;

export type Category = (typeof CATEGORIES)[number];
export type Priority = (typeof PRIORITIES)[number];
export type TaskStatus = (typeof TASK_STATUSES)[number];
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];
export type TaskSort = (typeof TASK_SORTS)[number];

/** Higher is more urgent; unknown values sort last. */
export const PRIORITY_RANK: Record<string, number> = { low: 0, medium: 1, high: 2, urgent: 3 };

export function isOneOf<T extends string>(values: readonly T[], value: unknown): value is T {
  return typeof value === "string" && (values as readonly string[]).includes(value);
}
