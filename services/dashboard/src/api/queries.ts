import {
  keepPreviousData,
  useInfiniteQuery,
  useMutation,
  useQuery,
  useQueryClient,
  type QueryClient,
} from "@tanstack/react-query";
import { findCachedTask, removeTask, upsertMessage, upsertTask } from "../live/cache";
import { api, unwrap } from "./client";
import { keys } from "./keys";
import type {
  AppConfig,
  MessageCreate,
  MessageList,
  MessageQuery,
  TaskCreate,
  TaskList,
  TaskPatch,
  TaskQuery,
} from "./types";

export function useConfig() {
  return useQuery({
    queryKey: keys.config,
    queryFn: async ({ signal }): Promise<AppConfig> => unwrap(api.GET("/api/config", { signal })),
    staleTime: Infinity,
    retry: 1,
  });
}

export function useChannels() {
  return useQuery({
    queryKey: keys.channels,
    queryFn: ({ signal }) => unwrap(api.GET("/api/channels", { signal })),
    staleTime: 60_000,
  });
}

export function useStats() {
  return useQuery({
    queryKey: keys.stats,
    queryFn: ({ signal }) => unwrap(api.GET("/api/stats", { signal })),
    staleTime: 5_000,
  });
}

export function useTaskList(query: TaskQuery, options: { enabled?: boolean } = {}) {
  return useInfiniteQuery({
    queryKey: keys.taskList(query),
    queryFn: ({ pageParam, signal }) =>
      unwrap(
        api.GET("/api/tasks", {
          params: { query: pageParam ? { ...query, cursor: pageParam } : query },
          signal,
        }),
      ),
    initialPageParam: null as string | null,
    getNextPageParam: (last: TaskList) => last.next_cursor ?? null,
    placeholderData: keepPreviousData,
    enabled: options.enabled ?? true,
  });
}

export function useTask(id: number) {
  return useQuery({
    queryKey: keys.task(id),
    queryFn: ({ signal }) =>
      unwrap(api.GET("/api/tasks/{task_id}", { params: { path: { task_id: id } }, signal })),
    enabled: Number.isFinite(id) && id > 0,
    retry: (count, error) => !(error && "status" in error && (error as { status: number }).status === 404) && count < 2,
  });
}

export function useMessageList(query: MessageQuery) {
  return useInfiniteQuery({
    queryKey: keys.messageList(query),
    queryFn: ({ pageParam, signal }) =>
      unwrap(
        api.GET("/api/messages", {
          params: { query: pageParam ? { ...query, cursor: pageParam } : query },
          signal,
        }),
      ),
    initialPageParam: null as string | null,
    getNextPageParam: (last: MessageList) => last.next_cursor ?? null,
    placeholderData: keepPreviousData,
  });
}

type Snapshot = Array<[readonly unknown[], unknown]>;

function snapshotTasks(client: QueryClient): Snapshot {
  return client.getQueriesData<unknown>({ queryKey: keys.tasks });
}

function restore(client: QueryClient, snapshot: Snapshot): void {
  for (const [key, data] of snapshot) client.setQueryData(key, data);
}

export interface UpdateTaskVars {
  id: number;
  patch: TaskPatch;
}

// The newest PATCH issued per task: only its answer is written to the cache, so a quick second
// edit is not undone by the first edit's answer arriving after it (answers can come in any order).
const newestEdit = new Map<number, number>();
let editCounter = 0;

/** PATCH a task, showing the change at once and rolling it back if the server refuses. */
export function useUpdateTask() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, patch }: UpdateTaskVars) =>
      unwrap(api.PATCH("/api/tasks/{task_id}", { params: { path: { task_id: id } }, body: patch })),
    onMutate: async ({ id, patch }) => {
      const edit = ++editCounter;
      newestEdit.set(id, edit);
      await client.cancelQueries({ queryKey: keys.tasks });
      const snapshot = snapshotTasks(client);
      const current = findCachedTask(client, id);
      if (current) {
        const optimistic = { ...current };
        for (const [field, value] of Object.entries(patch)) {
          if (value !== undefined) (optimistic as Record<string, unknown>)[field] = value;
        }
        upsertTask(client, optimistic);
      }
      return { snapshot, edit };
    },
    onError: (_error, _vars, context) => {
      if (context) restore(client, context.snapshot);
    },
    onSuccess: (task, _vars, context) => {
      if (newestEdit.get(task.id) === context.edit) upsertTask(client, task);
    },
    onSettled: (_task, _error, { id }) => {
      void client.invalidateQueries({ queryKey: keys.task(id), exact: true });
      void client.invalidateQueries({ queryKey: keys.stats });
    },
  });
}

export function useCreateTask() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: TaskCreate) => unwrap(api.POST("/api/tasks", { body })),
    onSuccess: (task) => {
      upsertTask(client, task);
      void client.invalidateQueries({ queryKey: keys.stats });
    },
  });
}

export function useDeleteTask() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (id: number) => {
      const { response, error } = await api.DELETE("/api/tasks/{task_id}", { params: { path: { task_id: id } } });
      if (!response.ok) await unwrap(Promise.resolve({ error, response }));
      return id;
    },
    onSuccess: (id) => {
      removeTask(client, id);
      client.removeQueries({ queryKey: keys.task(id), exact: true });
      void client.invalidateQueries({ queryKey: keys.stats });
    },
  });
}

export function useMergeTask() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, into }: { id: number; into: number }) =>
      unwrap(api.POST("/api/tasks/{task_id}/merge", { params: { path: { task_id: id } }, body: { into } })),
    onSuccess: (target, { id }) => {
      upsertTask(client, target);
      // The source was closed and emptied; its fresh state comes with the refetch.
      void client.invalidateQueries({ queryKey: keys.tasks });
      void client.invalidateQueries({ queryKey: keys.task(id), exact: true });
      void client.invalidateQueries({ queryKey: keys.stats });
    },
  });
}

export function usePostMessage() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: MessageCreate) => unwrap(api.POST("/api/messages", { body })),
    onSuccess: (message) => upsertMessage(client, message),
  });
}

