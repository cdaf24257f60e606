import { DEFAULT_BACKOFF, backoffDelay, type BackoffOptions } from "./backoff";
import { parseLiveEvent, type LiveEvent } from "./events";

/** The server's close code for a connection without a valid session or ticket. */
export const CLOSE_UNAUTHORIZED = 4401;

/** Rejects `url()` when the server refused to hand out a ticket: the user is not signed in. */
export class Unauthorized extends Error {
  constructor() {
    super("not signed in");
    this.name = "Unauthorized";
  }
}

export type ConnectionState = "connecting" | "connected" | "reconnecting" | "offline";

type SocketLike = Pick<WebSocket, "close" | "readyState"> & {
  onopen: ((event: Event) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
};

export interface LiveSocketOptions {
  /**
   * The URL to connect to; asked again before every attempt (the config may have loaded since,
   * and a one-time ticket is good for one connection). A rejected promise counts as a failed
   * attempt; one rejected with `Unauthorized` stops the socket as close code 4401 does.
   */
  url: () => string | Promise<string>;
  /** The server refused the caller (close code 4401, or `url` rejected with `Unauthorized`). */
  onUnauthorized?: () => void;
  onEvent: (event: LiveEvent) => void;
  onStateChange?: (state: ConnectionState) => void;
  /** Called when a connection opens after events may have been missed: refetch then. */
  onResync?: () => void;
  createSocket?: (url: string) => SocketLike;
  backoff?: BackoffOptions;
  random?: () => number;
  /** Consecutive failed attempts after which the state reads "offline" (retries go on). */
  offlineAfter?: number;
  /** Silence after which a connection that has sent heartbeats is taken as dead. */
  heartbeatTimeoutMs?: number;
  isOnline?: () => boolean;
}

/**
 * A WebSocket that keeps itself connected: exponential backoff with jitter between attempts,
 * a heartbeat watchdog, and a resync callback so the caller can refetch whatever it missed.
 * The client never sends anything.
 */
export class LiveSocket {
  private readonly options: Required<Omit<LiveSocketOptions, "onStateChange" | "onResync" | "onUnauthorized">> &
    Pick<LiveSocketOptions, "onStateChange" | "onResync" | "onUnauthorized">;
  private socket: SocketLike | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private watchdog: ReturnType<typeof setTimeout> | null = null;
  private failures = 0;
  /** Bumped by stop() and every attempt, so a URL that resolves late is dropped. */
  private attempt = 0;
  private hasConnected = false;
  private missedEvents = false;
  private stopped = true;
  private currentState: ConnectionState = "connecting";
  /** Delay of the pending retry, for "retrying in Ns" displays. */
  nextRetryAt: number | null = null;

  constructor(options: LiveSocketOptions) {
    this.options = {
      createSocket: (url) => new WebSocket(url),
      backoff: DEFAULT_BACKOFF,
      random: Math.random,
      offlineAfter: 4,
      heartbeatTimeoutMs: 60_000,
      isOnline: () => (typeof navigator === "undefined" ? true : navigator.onLine !== false),
      ...options,
    };
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.attempt += 1;
    this.clearTimers();
    this.detach(true);
  }

  /** Skips the pending backoff delay (the browser came back online, or the user asked). */
  retryNow(): void {
    if (this.stopped || this.socket || this.retryTimer === null) return;
    this.clearTimers();
    this.connect();
  }

  /** The browser says the network is gone: no point waiting for the socket to time out. */
  markOffline(): void {
    if (this.stopped) return;
    this.detach(true);
    this.handleLoss();
  }

  private setState(next: ConnectionState): void {
    if (next === this.currentState) return;
    this.currentState = next;
    this.options.onStateChange?.(next);
  }

  private connect(): void {
    this.retryTimer = null;
    this.nextRetryAt = null;
    if (this.failures === 0 && !this.hasConnected) this.setState("connecting");
    const attempt = ++this.attempt;
    let url: string | Promise<string>;
    try {
      url = this.options.url();
    } catch (error) {
      this.handleUrlFailure(error);
      return;
    }
    if (typeof url === "string") {
      this.open(url);
      return;
    }
    url.then(
      (resolved) => {
        if (attempt === this.attempt && !this.stopped) this.open(resolved);
      },
      (error: unknown) => {
        if (attempt === this.attempt && !this.stopped) this.handleUrlFailure(error);
      },
    );
  }

  private handleUrlFailure(error: unknown): void {
    if (error instanceof Unauthorized) this.unauthorized();
    else this.handleLoss();
  }

  private unauthorized(): void {
    this.stop();
    this.options.onUnauthorized?.();
  }

  private open(url: string): void {
    let socket: SocketLike;
    try {
      socket = this.options.createSocket(url);
    } catch {
      this.handleLoss();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      const resync = this.missedEvents;
      this.failures = 0;
      this.hasConnected = true;
      this.missedEvents = false;
      this.setState("connected");
      if (resync) this.options.onResync?.();
    };
    socket.onmessage = (message: MessageEvent) => {
      if (this.socket !== socket) return;
      const event = parseLiveEvent(message.data);
      if (!event) return;
      if (event.type === "heartbeat") this.armWatchdog();
      else if (this.watchdog) this.armWatchdog();
      this.options.onEvent(event);
    };
    socket.onerror = () => {
      // A close event always follows; the loss is handled there.
    };
    socket.onclose = (event: CloseEvent) => {
      if (this.socket !== socket) return;
      this.socket = null;
      // Not signed in (any more): retrying cannot help, signing in can.
      if (event.code === CLOSE_UNAUTHORIZED) this.unauthorized();
      else this.handleLoss();
    };
  }

  private handleLoss(): void {
    if (this.stopped) return;
    this.clearTimers();
    // Whatever happened while disconnected was not seen; so was anything before a first connection.
    this.missedEvents = true;
    this.failures += 1;
    const offline = !this.options.isOnline() || this.failures > this.options.offlineAfter;
    this.setState(offline ? "offline" : "reconnecting");
    const delay = backoffDelay(this.failures, this.options.backoff, this.options.random);
    this.nextRetryAt = Date.now() + delay;
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private armWatchdog(): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => {
      this.watchdog = null;
      this.detach(true);
      this.handleLoss();
    }, this.options.heartbeatTimeoutMs);
  }

  private clearTimers(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.watchdog) clearTimeout(this.watchdog);
    this.retryTimer = null;
    this.watchdog = null;
    this.nextRetryAt = null;
  }

  private detach(close: boolean): void {
    const socket = this.socket;
    this.socket = null;
    if (!socket) return;
    socket.onopen = socket.onmessage = socket.onerror = socket.onclose = null;
    if (close) {
      try {
        socket.close();
      } catch {
        // already closed
      }
    }
  }
}

/** The WebSocket URL: the server's `ws_url` when it has one, else same-origin `/ws`. */
export function resolveWsUrl(configured: string | null | undefined, location: Pick<Location, "protocol" | "host">): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  if (configured) {
    if (/^wss?:\/\//i.test(configured)) {
      // A page served over https cannot open ws://; keep the address, upgrade the scheme.
      return scheme === "wss:" ? configured.replace(/^ws:/i, "wss:") : configured;
    }
    if (/^https?:\/\//i.test(configured)) return configured.replace(/^http/i, "ws");
    if (configured.startsWith("/")) return `${scheme}//${location.host}${configured}`;
  }
  return `${scheme}//${location.host}/ws`;
}

/** `url` with the one-time ticket `/ws` takes in place of the cookie. */
export function withTicket(url: string, ticket: string): string {
  return `${url}${url.includes("?") ? "&" : "?"}ticket=${encodeURIComponent(ticket)}`;
}
