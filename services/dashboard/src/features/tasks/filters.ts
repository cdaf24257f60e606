// The board's filters live in the URL: these functions are the one mapping between the two,
// and between the filters and the API's query string.
import {
  CATEGORIES,
  PRIORITIES,
  PRIORITY_RANK,
  TASK_SORTS,
  TASK_STATUSES,
  isOneOf,
  type Category,
  type Priority,
  type Task,
  type TaskQuery,
  type TaskSort,
  type TaskStatus,
} from "../../api/types";

export type BoardView = "board" | "table";

export interface TaskFilters {
  status: TaskStatus[];
  category: Category[];
  priority: Priority[];
  channel: string | null;
  assignee: string | null;
  needsReview: boolean | null;
  q: string;
  sort: TaskSort;
}

export const DEFAULT_SORT: TaskSort = "-created_at";

export const EMPTY_FILTERS: TaskFilters = {
  status: [],
  category: [],
  priority: [],
  channel: null,
  assignee: null,
  needsReview: null,
  q: "",
  sort: DEFAULT_SORT,
};

function pickAll<T extends string>(params: URLSearchParams, key: string, allowed: readonly T[]): T[] {
  const picked = new Set<T>();
  for (const raw of params.getAll(key)) {
    // Accept both ?status=a&status=b and ?status=a,b (the latter is what people type by hand).
    for (const part of raw.split(",")) {
      const value = part.trim();
      if (isOneOf(allowed, value)) picked.add(value);
    }
  }
  // Canonical order, so equal filters give equal URLs and equal cache keys.
  return allowed.filter((value) => picked.has(value));
}

function text(params: URLSearchParams, key: string): string | null {
  const value = params.get(key)?.trim();
  return value ? value : null;
}

export function parseFilters(params: URLSearchParams): TaskFilters {
  const review = params.get("needs_review");
  const sort = params.get("sort");
  return {
    status: pickAll(params, "status", TASK_STATUSES),
    category: pickAll(params, "category", CATEGORIES),
    priority: pickAll(params, "priority", PRIORITIES),
    channel: text(params, "channel"),
    assignee: text(params, "assignee"),
    needsReview: review === "true" ? true : review === "false" ? false : null,
    q: params.get("q")?.trim() ?? "",
    sort: isOneOf(TASK_SORTS, sort) ? sort : DEFAULT_SORT,
  };
}

/** Writes the filters into `base` (keeping unrelated keys such as `view`), omitting defaults. */
export function writeFilters(filters: TaskFilters, base?: URLSearchParams): URLSearchParams {
  const params = new URLSearchParams(base);
  for (const key of ["status", "category", "priority", "channel", "assignee", "needs_review", "q", "sort"]) {
    params.delete(key);
  }
  for (const value of filters.status) params.append("status", value);
  for (const value of filters.category) params.append("category", value);
  for (const value of filters.priority) params.append("priority", value);
  if (filters.channel) params.set("channel", filters.channel);
  if (filters.assignee) params.set("assignee", filters.assignee);
  if (filters.needsReview !== null) params.set("needs_review", String(filters.needsReview));
  if (filters.q.trim()) params.set("q", filters.q.trim());
  if (filters.sort !== DEFAULT_SORT) params.set("sort", filters.sort);
  return params;
}

export function countActiveFilters(filters: TaskFilters): number {
  return (
    filters.status.length +
    filters.category.length +
    filters.priority.length +
    (filters.channel ? 1 : 0) +
    (filters.assignee ? 1 : 0) +
    (filters.needsReview !== null ? 1 : 0) +
    (filters.q ? 1 : 0)
  );
}

/** The API query for these filters; `status` narrows them further (one kanban column). */
export function toTaskQuery(filters: TaskFilters, limit = 100): TaskQuery {
  const query: TaskQuery = { sort: filters.sort, limit };
  if (filters.status.length) query.status = filters.status;
  if (filters.category.length) query.category = filters.category;
  if (filters.priority.length) query.priority = filters.priority;
  if (filters.channel) query.channel = [filters.channel];
  if (filters.assignee) query.assignee = filters.assignee;
  if (filters.needsReview !== null) query.needs_review = filters.needsReview;
  if (filters.q) query.q = filters.q;
  return query;
}

/** A query parameter that may be given once or repeated, as a list. */
export function listOf(value: readonly string[] | string | null | undefined): string[] {
  if (value === undefined || value === null) return [];
  return typeof value === "string" ? [value] : [...value];
}

/**
 * Whether a task belongs in a list fetched with `query`, judged in the browser so live events can
 * place a task without a refetch. Returns null where the server's judgement cannot be reproduced
 * (full-text search): the caller then refetches instead.
 */
export function taskMatchesQuery(task: Task, query: TaskQuery): boolean | null {
  const statuses = listOf(query.status);
  const categories = listOf(query.category);
  const priorities = listOf(query.priority);
  if (statuses.length && !statuses.includes(task.status)) return false;
  if (categories.length && !categories.includes(task.category)) return false;
  if (priorities.length && !priorities.includes(task.priority)) return false;
  if (query.needs_review !== undefined && query.needs_review !== null && task.needs_review !== query.needs_review) {
    return false;
  }
  if (query.assignee && task.assignee !== query.assignee) return false;
  const channels = listOf(query.channel);
  if (channels.length) {
    const channel = task.channel;
    if (!channel || !(channels.includes(channel.name) || channels.includes(String(channel.id)))) return false;
  }
  if (query.q) return null;
  return true;
}

/** Orders tasks the way the API does for `sort`, newest id breaking ties. */
export function compareTasks(sort: TaskSort): (a: Task, b: Task) => number {
  const byId = (a: Task, b: Task) => b.id - a.id;
  switch (sort) {
    case "created_at":
      return (a, b) => a.created_at.localeCompare(b.created_at) || a.id - b.id;
    case "-updated_at":
      return (a, b) => b.updated_at.localeCompare(a.updated_at) || byId(a, b);
    case "-priority":
      return (a, b) => (PRIORITY_RANK[b.priority] ?? -1) - (PRIORITY_RANK[a.priority] ?? -1) || byId(a, b);
    case "priority":
      return (a, b) => (PRIORITY_RANK[a.priority] ?? -1) - (PRIORITY_RANK[b.priority] ?? -1) || byId(a, b);
    case "-created_at":
    default:
      return (a, b) => b.created_at.localeCompare(a.created_at) || byId(a, b);
  }
}
