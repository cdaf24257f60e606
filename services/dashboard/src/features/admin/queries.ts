import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, unwrapEmpty } from "../../api/client";
import { keys } from "../../api/keys";
import type { TokenCreate, UserCreate, UserPatch } from "../../api/types";

export function useUsers(options: { enabled?: boolean } = {}) {
  return useQuery({
    queryKey: keys.users,
    queryFn: ({ signal }) => unwrap(api.GET("/api/users", { signal })),
    enabled: options.enabled ?? true,
  });
}

export function useCreateUser() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: UserCreate) => unwrap(api.POST("/api/users", { body })),
    onSuccess: () => void client.invalidateQueries({ queryKey: keys.users }),
  });
}

export function useUpdateUser() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, patch }: { id: number; patch: UserPatch }) =>
      unwrap(api.PATCH("/api/users/{user_id}", { params: { path: { user_id: id } }, body: patch })),
    onSettled: () => {
      void client.invalidateQueries({ queryKey: keys.users });
      // A role change may be one's own.
      void client.invalidateQueries({ queryKey: keys.me });
    },
  });
}

/** `own`: the caller's tokens; `all`: everyone's (the server gives an admin all without `user_id`). */
export function useTokens(scope: "own" | "all", me: number | null) {
  return useQuery({
    queryKey: [...keys.tokenList(scope), me] as const,
    queryFn: ({ signal }) =>
      unwrap(api.GET("/api/tokens", { params: { query: scope === "own" && me !== null ? { user_id: me } : {} }, signal })),
  });
}

export function useCreateToken() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: TokenCreate) => unwrap(api.POST("/api/tokens", { body })),
    onSuccess: () => void client.invalidateQueries({ queryKey: keys.tokens }),
  });
}

export function useRevokeToken() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: number) => unwrapEmpty(api.DELETE("/api/tokens/{token_id}", { params: { path: { token_id: id } } })),
    onSettled: () => void client.invalidateQueries({ queryKey: keys.tokens }),
  });
}
