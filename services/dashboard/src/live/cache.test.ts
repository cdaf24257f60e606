import { QueryClient, type InfiniteData } from "@tanstack/react-query";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { keys } from "../api/keys";
import type { Message, MessageList, Task, TaskList, TaskQuery } from "../api/types";
import { makeMessage, makeTask } from "../test/fixtures";
import { createLiveCacheUpdater, placeInPages } from "./cache";

const pages = <T,>(...chunks: T[][]): InfiniteData<{ data: T[]; next_cursor: string | null }, unknown> => ({
  pages: chunks.map((data, i) => ({ data, next_cursor: i < chunks.length - 1 ? `c${i}` : null })),
  pageParams: chunks.map((_, i) => (i === 0 ? null : `c${i - 1}`)),
});

const ids = (client: QueryClient, query: TaskQuery) =>
  client.getQueryData<InfiniteData<TaskList>>(keys.taskList(query))?.pages.map((page) => page.data.map((task) => task.id));

describe("live events → query cache", () => {
  let client: QueryClient;
  const open: TaskQuery = { status: ["open"], sort: "-created_at", limit: 100 };
  const progress: TaskQuery = { status: ["in_progress"], sort: "-created_at", limit: 100 };
  const review: TaskQuery = { needs_review: true, sort: "-created_at", limit: 100 };
  const search: TaskQuery = { q: "login", sort: "-created_at", limit: 100 };
  const a = makeTask({ id: 10, status: "open", created_at: "2026-11-26T10:00:00Z", needs_review: true });
  const b = makeTask({ id: 11, status: "open", created_at: "2026-11-26T11:00:00Z" });

  beforeEach(() => {
    vi.useFakeTimers();
    client = new QueryClient({ defaultOptions: { queries: { staleTime: Infinity } } });
    client.setQueryData(keys.taskList(open), pages([b, a]));
    client.setQueryData(keys.taskList(progress), pages<Task>([]));
    client.setQueryData(keys.taskList(review), pages([a]));
    client.setQueryData(keys.taskList(search), pages([a]));
  });
  afterEach(() => client.clear());

  it("puts a created task into the lists whose filters it matches, in sort order", () => {
    const updater = createLiveCacheUpdater(client);
    const created = makeTask({ id: 12, status: "open", created_at: "2026-11-26T12:00:00Z", needs_review: true });
    updater.apply({ type: "task.created", id: "e", ts: "t", data: created });
    expect(ids(client, open)).toEqual([[12, 11, 10]]);
    expect(ids(client, review)).toEqual([[12, 10]]);
    expect(ids(client, progress)).toEqual([[]]);
  });

  it("moves an updated task between columns and out of the review queue", () => {
    const updater = createLiveCacheUpdater(client);
    updater.apply({ type: "task.updated", id: "e", ts: "t", data: { ...a, status: "in_progress", needs_review: false } });
    expect(ids(client, open)).toEqual([[11]]);
    expect(ids(client, progress)).toEqual([[10]]);
    expect(ids(client, review)).toEqual([[]]);
  });

  it("refetches full-text lists instead of guessing the server's match", () => {
    const spy = vi.spyOn(client, "invalidateQueries");
    createLiveCacheUpdater(client).apply({ type: "task.updated", id: "e", ts: "t", data: { ...a, title: "renamed" } });
    expect(spy).toHaveBeenCalledWith({ queryKey: keys.taskList(search), exact: true });
    expect(client.getQueryData<InfiniteData<TaskList>>(keys.taskList(search))?.pages[0]?.data[0]?.title).toBe("renamed");
  });

  it("removes a deleted task everywhere, detail included", () => {
    client.setQueryData(keys.task(10), { ...a, messages: [], issues: [], activity: [], exports: [] });
    createLiveCacheUpdater(client).apply({ type: "task.deleted", id: "e", ts: "t", data: { id: 10 } });
    expect(ids(client, open)).toEqual([[11]]);
    expect(ids(client, review)).toEqual([[]]);
    expect(client.getQueryData(keys.task(10))).toBeUndefined();
  });

  it("merges an update into an open task detail and refetches its activity afterwards", () => {
    client.setQueryData(keys.task(10), { ...a, messages: [], issues: [], activity: [], exports: [] });
    const spy = vi.spyOn(client, "invalidateQueries");
    createLiveCacheUpdater(client, 1000).apply({ type: "task.updated", id: "e", ts: "t", data: { ...a, priority: "urgent" } });
    expect(client.getQueryData<Task>(keys.task(10))?.priority).toBe("urgent");
    expect(spy).not.toHaveBeenCalledWith({ queryKey: keys.stats });
    vi.advanceTimersByTime(1000);
    expect(spy).toHaveBeenCalledWith({ queryKey: keys.stats });
    expect(spy).toHaveBeenCalledWith({ queryKey: keys.task(10), exact: true });
  });

  it("batches aggregate refetches during a burst", () => {
    const spy = vi.spyOn(client, "invalidateQueries");
    const updater = createLiveCacheUpdater(client, 1000);
    for (let i = 0; i < 50; i++) {
      updater.apply({ type: "message.received", id: `e${i}`, ts: "t", data: makeMessage({ id: 100 + i }) });
    }
    vi.advanceTimersByTime(1000);
    expect(spy.mock.calls.filter(([arg]) => JSON.stringify(arg) === JSON.stringify({ queryKey: keys.stats }))).toHaveLength(1);
  });

  it("shows a new message at the top of the inbox and updates it when classified", () => {
    const inbox = { limit: 50 };
    const failed = { status: ["failed" as const], limit: 50 };
    client.setQueryData(keys.messageList(inbox), pages([makeMessage({ id: 1, received_at: "2026-11-26T09:00:00Z" })]));
    client.setQueryData(keys.messageList(failed), pages<Message>([]));
    const updater = createLiveCacheUpdater(client);
    const received = makeMessage({ id: 2, received_at: "2026-11-26T10:00:00Z", status: "received" });
    updater.apply({ type: "message.received", id: "e1", ts: "t", data: received });
    const classified: Message = {
      ...received,
      status: "classified",
      task_id: 7,
      classification: {
        category: "bug",
        priority: "high",
        actionable: true,
        title: "t",
        summary: "",
        confidence: 0.91,
        model: "builtin-ab12",
        latency_ms: 3,
        prompt_version: null,
      },
    };
    updater.apply({ type: "message.classified", id: "e2", ts: "t", data: classified });
    const rows = client.getQueryData<InfiniteData<MessageList>>(keys.messageList(inbox))?.pages[0]?.data ?? [];
    expect(rows.map((row) => [row.id, row.status, row.task_id])).toEqual([
      [2, "classified", 7],
      [1, "received", null],
    ]);
    expect(client.getQueryData<InfiniteData<MessageList>>(keys.messageList(failed))?.pages[0]?.data).toEqual([]);
  });

  it("refetches everything on resync", () => {
    const spy = vi.spyOn(client, "invalidateQueries");
    createLiveCacheUpdater(client).resync();
    expect(spy).toHaveBeenCalledWith();
  });
});

describe("placeInPages", () => {
  const byIdDesc = (x: { id: number }, y: { id: number }) => y.id - x.id;

  it("keeps page sizes when a row is inserted or removed", () => {
    const data = pages([{ id: 9 }, { id: 7 }], [{ id: 5 }, { id: 3 }]);
    const inserted = placeInPages(data, { id: 8 }, true, byIdDesc);
    expect(inserted.pages.map((page) => page.data.map((row) => row.id))).toEqual([[9, 8], [7, 5, 3]]);
    const removed = placeInPages(inserted, { id: 9 }, false, byIdDesc);
    expect(removed.pages.map((page) => page.data.map((row) => row.id))).toEqual([[8, 7], [5, 3]]);
  });

  it("leaves a row that sorts past the loaded end of a longer list for the next page", () => {
    const data = { ...pages([{ id: 9 }, { id: 7 }]), pages: [{ data: [{ id: 9 }, { id: 7 }], next_cursor: "more" }] };
    expect(placeInPages(data, { id: 1 }, true, byIdDesc)).toBe(data);
  });
});
