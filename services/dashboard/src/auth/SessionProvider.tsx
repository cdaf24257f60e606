import { useQueryClient } from "@tanstack/react-query";
import { useEffect, type ReactNode } from "react";
import { onUnauthorized } from "../api/client";
import { keys } from "../api/keys";

/**
 * Turns "the server says you are not signed in" (a 401 from any call, the WebSocket's 4401)
 * into the signed-out state; `RequireAuth` then shows the login page.
 */
export function SessionProvider({ children }: { children: ReactNode }) {
  const client = useQueryClient();
  useEffect(
    () =>
      onUnauthorized(() => {
        const config = client.getQueryData<{ auth?: string }>(keys.config);
        if (config?.auth === "off") return; // nobody to sign in as: the error is shown where it happened
        client.setQueryData(keys.me, null);
      }),
    [client],
  );
  return children;
}
