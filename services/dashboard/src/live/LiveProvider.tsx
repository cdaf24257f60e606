import { useQueryClient } from "@tanstack/react-query";
import { createContext, useContext, useEffect, useRef, useState, type ReactNode } from "react";
import { api, isApiError, notifyUnauthorized, unwrap } from "../api/client";
import { useConfig } from "../api/queries";
import { createLiveCacheUpdater } from "./cache";
import { LiveSocket, resolveWsUrl, Unauthorized, withTicket, type ConnectionState } from "./LiveSocket";

interface LiveApi {
  state: ConnectionState;
  /** Server version from the last hello. */
  serverVersion: string | null;
  retryNow: () => void;
}

const LiveContext = createContext<LiveApi>({ state: "connecting", serverVersion: null, retryNow: () => undefined });

/**
 * The address for the next connection attempt. With accounts on, each attempt first asks for a
 * one-time ticket (a browser cannot send headers on a WebSocket, and the page may talk to a
 * `ws_url` on another origin, where the session cookie does not go).
 */
export async function ticketedWsUrl(base: string): Promise<string> {
  try {
    const { ticket } = await unwrap(api.POST("/api/auth/ws-ticket"));
    return withTicket(base, ticket);
  } catch (error) {
    if (isApiError(error, 401)) throw new Unauthorized();
    throw error;
  }
}

/** Keeps one WebSocket open while someone is signed in and feeds its events into the query cache. */
export function LiveProvider({ children }: { children: ReactNode }) {
  const client = useQueryClient();
  const config = useConfig();
  const [state, setState] = useState<ConnectionState>("connecting");
  const [serverVersion, setServerVersion] = useState<string | null>(null);
  const socketRef = useRef<LiveSocket | null>(null);
  const wsUrlRef = useRef<string | null>(null);
  const wsUrl = config.data?.ws_url ?? null;
  const tickets = config.data?.auth === "on";
  // Declared before the socket's effect, so the first connection already reads it.
  useEffect(() => {
    wsUrlRef.current = wsUrl;
  }, [wsUrl]);
  // Wait for the config (or its failure) so the first attempt already uses the server's ws_url.
  const ready = !config.isPending;

  useEffect(() => {
    if (!ready) return;
    const updater = createLiveCacheUpdater(client);
    const socket = new LiveSocket({
      url: () => {
        const base = resolveWsUrl(wsUrlRef.current, window.location);
        return tickets ? ticketedWsUrl(base) : base;
      },
      onUnauthorized: notifyUnauthorized,
      onEvent: (event) => {
        if (event.type === "hello") setServerVersion(event.data?.version ?? null);
        else updater.apply(event);
      },
      onStateChange: setState,
      onResync: () => updater.resync(),
    });
    socketRef.current = socket;
    const online = () => socket.retryNow();
    const offline = () => socket.markOffline();
    window.addEventListener("online", online);
    window.addEventListener("offline", offline);
    socket.start();
    return () => {
      window.removeEventListener("online", online);
      window.removeEventListener("offline", offline);
      socket.stop();
      updater.dispose();
      socketRef.current = null;
    };
  }, [client, ready, tickets]);

  const value: LiveApi = {
    state,
    serverVersion,
    retryNow: () => socketRef.current?.retryNow(),
  };
  return <LiveContext.Provider value={value}>{children}</LiveContext.Provider>;
}

export function useLive(): LiveApi {
  return useContext(LiveContext);
}
