import { useQueryClient } from "@tanstack/react-query";
import { createContext, useContext, useEffect, useRef, useState, type ReactNode } from "react";
import { useConfig } from "../api/queries";
import { createLiveCacheUpdater } from "./cache";
import { LiveSocket, resolveWsUrl, type ConnectionState } from "./LiveSocket";

interface LiveApi {
  state: ConnectionState;
  /** Server version from the last hello. */
  serverVersion: string | null;
  retryNow: () => void;
}

const LiveContext = createContext<LiveApi>({ state: "connecting", serverVersion: null, retryNow: () => undefined });

/** Keeps one WebSocket open for the whole app and feeds its events into the query cache. */
export function LiveProvider({ children }: { children: ReactNode }) {
  const client = useQueryClient();
  const config = useConfig();
  const [state, setState] = useState<ConnectionState>("connecting");
  const [serverVersion, setServerVersion] = useState<string | null>(null);
  const socketRef = useRef<LiveSocket | null>(null);
  const wsUrlRef = useRef<string | null>(null);
  const wsUrl = config.data?.ws_url ?? null;
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
      url: () => resolveWsUrl(wsUrlRef.current, window.location),
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
  }, [client, ready]);

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
