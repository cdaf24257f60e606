import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import { keys } from "../../api/keys";
import type { ExportRuleCreate, ExportTargetCreate, ExportTargetPatch } from "../../api/types";

/** A DELETE that answers 204: resolves, or throws the ApiError of the body. */
async function deleted(call: Promise<{ error?: unknown; response: Response }>): Promise<void> {
  const { error, response } = await call;
  if (!response.ok) await unwrap(Promise.resolve({ error, response }));
}

/** The targets an editor may export a task to (names only). */
export function useExportChoices(enabled = true) {
  return useQuery({
    queryKey: keys.exportChoices,
    queryFn: ({ signal }) => unwrap(api.GET("/api/export-targets/choices", { signal })),
    staleTime: 60_000,
    enabled,
  });
}

/** Export a task to a target (the worker files the issue); the task's detail shows the new row. */
export function useExportTask() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ taskId, targetId }: { taskId: number; targetId: number }) =>
      unwrap(api.POST("/api/tasks/{task_id}/exports", { params: { path: { task_id: taskId } }, body: { target_id: targetId } })),
    onSuccess: (_, { taskId }) => void client.invalidateQueries({ queryKey: keys.task(taskId), exact: true }),
  });
}

export function useRetryExport() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ taskId, exportId }: { taskId: number; exportId: number }) =>
      unwrap(
        api.POST("/api/tasks/{task_id}/exports/{export_id}/retry", {
          params: { path: { task_id: taskId, export_id: exportId } },
        }),
      ),
    onSuccess: (_, { taskId }) => void client.invalidateQueries({ queryKey: keys.task(taskId), exact: true }),
  });
}

export function useExportTargets() {
  return useQuery({
    queryKey: keys.exportTargets,
    queryFn: ({ signal }) => unwrap(api.GET("/api/export-targets", { signal })),
  });
}

function useInvalidateExports() {
  const client = useQueryClient();
  return () => {
    void client.invalidateQueries({ queryKey: keys.exportTargets });
    void client.invalidateQueries({ queryKey: keys.exportChoices });
    void client.invalidateQueries({ queryKey: keys.exportRules });
  };
}

export function useCreateTarget() {
  const invalidate = useInvalidateExports();
  return useMutation({
    mutationFn: (body: ExportTargetCreate) => unwrap(api.POST("/api/export-targets", { body })),
    onSuccess: invalidate,
  });
}

export function useUpdateTarget() {
  const invalidate = useInvalidateExports();
  return useMutation({
    mutationFn: ({ id, patch }: { id: number; patch: ExportTargetPatch }) =>
      unwrap(api.PATCH("/api/export-targets/{target_id}", { params: { path: { target_id: id } }, body: patch })),
    onSuccess: invalidate,
  });
}

export function useDeleteTarget() {
  const invalidate = useInvalidateExports();
  return useMutation({
    mutationFn: (id: number) => deleted(api.DELETE("/api/export-targets/{target_id}", { params: { path: { target_id: id } } })),
    onSuccess: invalidate,
  });
}

export function useExportRules() {
  return useQuery({
    queryKey: keys.exportRules,
    queryFn: ({ signal }) => unwrap(api.GET("/api/export-rules", { signal })),
  });
}

export function useCreateRule() {
  const invalidate = useInvalidateExports();
  return useMutation({
    mutationFn: (body: ExportRuleCreate) => unwrap(api.POST("/api/export-rules", { body })),
    onSuccess: invalidate,
  });
}

export function useToggleRule() {
  const invalidate = useInvalidateExports();
  return useMutation({
    mutationFn: ({ id, enabled }: { id: number; enabled: boolean }) =>
      unwrap(api.PATCH("/api/export-rules/{rule_id}", { params: { path: { rule_id: id } }, body: { enabled } })),
    onSuccess: invalidate,
  });
}

export function useDeleteRule() {
  const invalidate = useInvalidateExports();
  return useMutation({
    mutationFn: (id: number) => deleted(api.DELETE("/api/export-rules/{rule_id}", { params: { path: { rule_id: id } } })),
    onSuccess: invalidate,
  });
}
