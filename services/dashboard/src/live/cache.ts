// Applies what the server says happened (live events, mutation results) to TanStack Query's cache,
// so every open list updates in place without a refetch.
import type { InfiniteData, QueryClient, QueryKey } from "@tanstack/react-query";
import { keys } from "../api/keys";
import type { Message, MessageList, MessageQuery, Task, TaskDetail, TaskQuery, TaskSort } from "../api/types";
import { DEFAULT_SORT, compareTasks, listOf, taskMatchesQuery } from "../features/tasks/filters";
import type { LiveEvent } from "./events";

type Pages<T> = InfiniteData<{ data: T[]; next_cursor?: string | null }, unknown>;

/**
 * Puts `item` into (or takes it out of) paginated data, keeping the order given by `compare` and
 * the pages' sizes. A new item that would land after the last loaded row of a list with more pages
 * is left for the next page fetch.
 */
export function placeInPages<T extends { id: number }>(
  data: Pages<T>,
  item: T,
  include: boolean,
  compare: (a: T, b: T) => number,
): Pages<T> {
  const all = data.pages.flatMap((page) => page.data);
  const index = all.findIndex((row) => row.id === item.id);
  if (!include) {
    if (index < 0) return data;
    all.splice(index, 1);
  } else if (index >= 0) {
    all[index] = item;
    all.sort(compare);
  } else {
    all.push(item);
    all.sort(compare);
    const hasMore = Boolean(data.pages[data.pages.length - 1]?.next_cursor);
    if (hasMore && all[all.length - 1]?.id === item.id) return data;
  }
  let offset = 0;
  const pages = data.pages.map((page, i) => {
    const isLast = i === data.pages.length - 1;
    const size = isLast ? all.length - offset : Math.min(page.data.length, all.length - offset);
    const rows = all.slice(offset, offset + Math.max(0, size));
    offset += rows.length;
    return { ...page, data: rows };
  });
  return { ...data, pages };
}

function queryOf<Q>(key: QueryKey): Q {
  return (key[2] ?? {}) as Q;
}

/** Places a task in every cached task list according to each list's filters, and in its detail. */
export function upsertTask(client: QueryClient, task: Task): void {
  for (const query of client.getQueryCache().findAll({ queryKey: keys.taskLists })) {
    const filter = queryOf<TaskQuery>(query.queryKey);
    const matches = taskMatchesQuery(task, filter);
    const data = query.state.data as Pages<Task> | undefined;
    if (!data) continue;
    if (matches === null) {
      // Full-text search is the server's call: update the row if shown, then ask again.
      client.setQueryData<Pages<Task>>(query.queryKey, (old) =>
        old && old.pages.some((page) => page.data.some((row) => row.id === task.id))
          ? placeInPages(old, task, true, compareTasks((filter.sort as TaskSort | undefined) ?? DEFAULT_SORT))
          : old,
      );
      void client.invalidateQueries({ queryKey: query.queryKey, exact: true });
      continue;
    }
    const sort = (filter.sort as TaskSort | undefined) ?? DEFAULT_SORT;
    client.setQueryData<Pages<Task>>(query.queryKey, (old) =>
      old ? placeInPages(old, task, matches, compareTasks(sort)) : old,
    );
  }
  client.setQueryData<TaskDetail>(keys.task(task.id), (old) => (old ? { ...old, ...task } : old));
}

export function removeTask(client: QueryClient, id: number): void {
  for (const query of client.getQueryCache().findAll({ queryKey: keys.taskLists })) {
    client.setQueryData<Pages<Task>>(query.queryKey, (old) =>
      old ? placeInPages(old, { id } as Task, false, () => 0) : old,
    );
  }
}

/** Reads a task from any cache that has it (detail first, then lists). */
export function findCachedTask(client: QueryClient, id: number): Task | undefined {
  const detail = client.getQueryData<TaskDetail>(keys.task(id));
  if (detail) return detail;
  for (const [, data] of client.getQueriesData<Pages<Task>>({ queryKey: keys.taskLists })) {
    const found = data?.pages.flatMap((page) => page.data).find((row) => row.id === id);
    if (found) return found;
  }
  return undefined;
}

export function messageMatchesQuery(message: Message, query: MessageQuery): boolean | null {
  const statuses = listOf(query.status);
  const categories = listOf(query.category);
  if (statuses.length && !statuses.includes(message.status)) return false;
  if (categories.length && !categories.includes(message.classification?.category ?? "")) return false;
  const channels = listOf(query.channel);
  if (channels.length && !(channels.includes(message.channel.name) || channels.includes(String(message.channel.id)))) {
    return false;
  }
  if (query.q) return null;
  return true;
}

const newestMessageFirst = (a: Message, b: Message) =>
  b.received_at.localeCompare(a.received_at) || b.id - a.id;

export function upsertMessage(client: QueryClient, message: Message): void {
  for (const query of client.getQueryCache().findAll({ queryKey: keys.messageLists })) {
    const matches = messageMatchesQuery(message, queryOf<MessageQuery>(query.queryKey));
    if (matches === null) {
      void client.invalidateQueries({ queryKey: query.queryKey, exact: true });
      continue;
    }
    client.setQueryData<Pages<Message>>(query.queryKey, (old) =>
      old ? placeInPages(old, message, matches, newestMessageFirst) : old,
    );
  }
  client.setQueryData<MessageList["data"][number]>(keys.message(message.id), (old) =>
    old ? { ...old, ...message } : old,
  );
}

export interface LiveCacheUpdater {
  apply: (event: LiveEvent) => void;
  /** Everything may be stale (after a reconnect): refetch what is on screen. */
  resync: () => void;
  dispose: () => void;
}

/**
 * Turns live events into cache updates. Aggregates (stats, task activity) are refetched rather
 * than patched, at most once per `aggregateDelayMs` during a burst of events.
 */
export function createLiveCacheUpdater(client: QueryClient, aggregateDelayMs = 1000): LiveCacheUpdater {
  let statsTimer: ReturnType<typeof setTimeout> | null = null;
  const staleDetails = new Set<number>();

  const scheduleAggregates = (taskIds: Array<number | null | undefined>) => {
    for (const id of taskIds) if (typeof id === "number") staleDetails.add(id);
    if (statsTimer) return;
    statsTimer = setTimeout(() => {
      statsTimer = null;
      void client.invalidateQueries({ queryKey: keys.stats });
      for (const id of staleDetails) void client.invalidateQueries({ queryKey: keys.task(id), exact: true });
      staleDetails.clear();
    }, aggregateDelayMs);
  };

  return {
    apply(event) {
      switch (event.type) {
        case "task.created":
        case "task.updated":
          upsertTask(client, event.data);
          scheduleAggregates([event.data.id]);
          break;
        case "task.deleted":
          removeTask(client, event.data.id);
          client.removeQueries({ queryKey: keys.task(event.data.id), exact: true });
          scheduleAggregates([]);
          break;
        case "message.received":
        case "message.classified":
          upsertMessage(client, event.data);
          scheduleAggregates([event.data.task_id]);
          break;
        default:
          break;
      }
    },
    resync() {
      void client.invalidateQueries();
    },
    dispose() {
      if (statsTimer) clearTimeout(statsTimer);
      statsTimer = null;
    },
  };
}

