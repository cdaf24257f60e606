import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "react-router";
import { api, isApiError, unwrap, unwrapEmpty } from "../api/client";
import { keys } from "../api/keys";
import { useConfig } from "../api/queries";
import type { Me, Role } from "../api/types";
import { hasRole, LOCAL_ADMIN } from "./roles";

export type AuthMode = "on" | "off";

/** Who is signed in: `null` when nobody is (the server answered 401). */
export function useMe() {
  return useQuery({
    queryKey: keys.me,
    queryFn: async ({ signal }): Promise<Me | null> => {
      try {
        return await unwrap(api.GET("/api/auth/me", { signal }));
      } catch (error) {
        if (isApiError(error, 401)) return null;
        throw error;
      }
    },
    staleTime: 5 * 60_000,
    retry: (count, error) => !isApiError(error) && count < 2,
  });
}

export interface Session {
  /** `on` unless the server says it runs without accounts. */
  mode: AuthMode;
  /** `undefined` while unknown, `null` when nobody is signed in. */
  user: Me | null | undefined;
  isPending: boolean;
  error: unknown;
  refetch: () => void;
}

export function useSession(): Session {
  const config = useConfig();
  const me = useMe();
  // A server from before accounts has no `auth` field: it has no login either.
  const mode: AuthMode = config.data?.auth === "on" ? "on" : config.data ? "off" : "on";
  let user: Me | null | undefined = me.data;
  if (mode === "off" && !me.data) user = LOCAL_ADMIN;
  return {
    mode,
    user,
    isPending: config.isPending || (mode === "on" && me.isPending),
    error: mode === "on" ? me.error : null,
    refetch: () => void me.refetch(),
  };
}

/** Whether the signed-in user may do what needs `role`; write controls ask for "editor". */
export function useCan(role: Role): boolean {
  const { user } = useSession();
  return hasRole(user?.role, role);
}

export function useLogin() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: { username: string; password: string }) => unwrap(api.POST("/api/auth/login", { body })),
    onSuccess: async () => {
      // Whatever was cached belonged to nobody (or to someone else): start clean.
      client.removeQueries({ predicate: (query) => query.queryKey[0] !== "config" });
      await client.fetchQuery({
        queryKey: keys.me,
        queryFn: () => unwrap(api.GET("/api/auth/me")),
      });
    },
  });
}

/**
 * Sign out, then go to the login page. The session is cleared and the navigation made in one
 * synchronous step, the router's update flushed at once: were the navigation left to a transition,
 * the gate in front of the screen would see nobody signed in first and send the user to
 * `/login?next=<this screen>` instead.
 */
export function useLogout() {
  const client = useQueryClient();
  const navigate = useNavigate();
  const signedOut = () => {
    client.removeQueries({ predicate: (query) => query.queryKey[0] !== "config" && query.queryKey[0] !== "auth" });
    client.setQueryData(keys.me, null);
    void navigate("/login", { replace: true, flushSync: true });
  };
  return useMutation({
    mutationFn: () => unwrapEmpty(api.POST("/api/auth/logout")),
    onSuccess: signedOut,
    // A 401 means the session had already ended: signed out all the same.
    onError: (error) => {
      if (isApiError(error, 401)) signedOut();
    },
  });
}
