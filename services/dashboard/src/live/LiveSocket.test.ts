import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FakeWebSocket } from "../test/fakeSocket";
import type { LiveEvent } from "./events";
import { LiveSocket, resolveWsUrl, Unauthorized, withTicket, type ConnectionState } from "./LiveSocket";

function setup(overrides: Partial<ConstructorParameters<typeof LiveSocket>[0]> = {}) {
  const states: ConnectionState[] = [];
  const events: LiveEvent[] = [];
  const onResync = vi.fn();
  let online = true;
  const socket = new LiveSocket({
    url: () => "ws://example.test/ws",
    onEvent: (event) => events.push(event),
    onStateChange: (state) => states.push(state),
    onResync,
    createSocket: (url) => new FakeWebSocket(url),
    random: () => 1, // no jitter: delays are the nominal ones
    backoff: { baseMs: 500, maxMs: 4000 },
    offlineAfter: 3,
    heartbeatTimeoutMs: 30_000,
    isOnline: () => online,
    ...overrides,
  });
  return { socket, states, events, onResync, goOffline: () => (online = false) };
}

describe("LiveSocket", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    FakeWebSocket.reset();
  });
  afterEach(() => vi.useRealTimers());

  it("connects, forwards events, and never resyncs on a clean first connection", () => {
    const { socket, states, events, onResync } = setup();
    socket.start();
    expect(FakeWebSocket.last().url).toBe("ws://example.test/ws");
    FakeWebSocket.last().open();
    FakeWebSocket.last().receive({ type: "hello", id: "h", ts: "t", data: { version: "1" } });
    FakeWebSocket.last().receive({ type: "task.deleted", id: "e1", ts: "t", data: { id: 4 } });
    FakeWebSocket.last().receive("not json");
    FakeWebSocket.last().receive({ type: "task.updated", id: "e2", ts: "t", data: {} });
    expect(states).toEqual(["connected"]);
    expect(events.map((event) => event.type)).toEqual(["hello", "task.deleted"]);
    expect(onResync).not.toHaveBeenCalled();
  });

  it("reconnects with growing delays, reads offline after repeated failures, and resyncs once back", () => {
    const { socket, states, onResync } = setup();
    socket.start();
    FakeWebSocket.last().open();
    FakeWebSocket.last().drop();
    expect(socket.state).toBe("reconnecting");

    const attempts = () => FakeWebSocket.instances.length;
    // attempt 1 after 500 ms
    vi.advanceTimersByTime(499);
    expect(attempts()).toBe(1);
    vi.advanceTimersByTime(1);
    expect(attempts()).toBe(2);
    FakeWebSocket.last().drop();
    // attempt 2 after 1000 ms, attempt 3 after 2000 ms
    vi.advanceTimersByTime(1000);
    expect(attempts()).toBe(3);
    FakeWebSocket.last().drop();
    expect(socket.state).toBe("reconnecting");
    vi.advanceTimersByTime(2000);
    expect(attempts()).toBe(4);
    FakeWebSocket.last().drop();
    expect(socket.state).toBe("offline"); // 4 failures > offlineAfter (3)
    // the delay is capped at 4000 ms from here on
    vi.advanceTimersByTime(4000);
    expect(attempts()).toBe(5);
    FakeWebSocket.last().drop();
    vi.advanceTimersByTime(4000);
    expect(attempts()).toBe(6);

    expect(onResync).not.toHaveBeenCalled();
    FakeWebSocket.last().open();
    expect(socket.state).toBe("connected");
    expect(onResync).toHaveBeenCalledTimes(1);
    expect(states).toEqual(["connected", "reconnecting", "offline", "connected"]);

    // the backoff starts over after a successful connection
    FakeWebSocket.last().drop();
    vi.advanceTimersByTime(500);
    expect(attempts()).toBe(7);
  });

  it("resyncs when the very first connection only succeeds after failures", () => {
    const { socket, onResync } = setup();
    socket.start();
    FakeWebSocket.last().drop();
    vi.advanceTimersByTime(500);
    FakeWebSocket.last().open();
    expect(onResync).toHaveBeenCalledTimes(1);
  });

  it("reads offline at once when the browser is offline", () => {
    const { socket, goOffline } = setup();
    socket.start();
    FakeWebSocket.last().open();
    goOffline();
    socket.markOffline();
    expect(socket.state).toBe("offline");
    expect(FakeWebSocket.instances[0]?.closedByClient).toBe(true);
  });

  it("retries immediately on request instead of waiting out the backoff", () => {
    const { socket } = setup({ backoff: { baseMs: 60_000, maxMs: 60_000 } });
    socket.start();
    FakeWebSocket.last().drop();
    socket.retryNow();
    expect(FakeWebSocket.instances).toHaveLength(2);
  });

  it("treats a silent connection as dead once it has seen heartbeats", () => {
    const { socket } = setup();
    socket.start();
    FakeWebSocket.last().open();
    vi.advanceTimersByTime(120_000); // no heartbeat seen yet: no watchdog
    expect(socket.state).toBe("connected");
    FakeWebSocket.last().receive({ type: "heartbeat" });
    vi.advanceTimersByTime(29_000);
    FakeWebSocket.last().receive({ type: "heartbeat" });
    vi.advanceTimersByTime(29_000);
    expect(socket.state).toBe("connected");
    vi.advanceTimersByTime(1_000);
    expect(socket.state).toBe("reconnecting");
    expect(FakeWebSocket.instances[0]?.closedByClient).toBe(true);
  });

  it("stops for good", () => {
    const { socket } = setup();
    socket.start();
    FakeWebSocket.last().open();
    socket.stop();
    FakeWebSocket.instances[0]?.drop();
    vi.advanceTimersByTime(60_000);
    expect(FakeWebSocket.instances).toHaveLength(1);
  });
});

describe("LiveSocket with one-time tickets", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    FakeWebSocket.reset();
  });
  afterEach(() => vi.useRealTimers());

  it("asks for a fresh ticket before every connection, the first and each reconnect", async () => {
    let issued = 0;
    const { socket } = setup({ url: () => Promise.resolve(withTicket("ws://example.test/ws", `t${++issued}`)) });
    socket.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(FakeWebSocket.last().url).toBe("ws://example.test/ws?ticket=t1");
    FakeWebSocket.last().open();
    FakeWebSocket.last().drop();
    await vi.advanceTimersByTimeAsync(500);
    expect(FakeWebSocket.instances.map((s) => s.url)).toEqual(["ws://example.test/ws?ticket=t1", "ws://example.test/ws?ticket=t2"]);
  });

  it("stops and reports a close with 4401 instead of reconnecting", async () => {
    const onUnauthorized = vi.fn();
    const { socket } = setup({ onUnauthorized });
    socket.start();
    FakeWebSocket.last().open();
    FakeWebSocket.last().drop(4401);
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeWebSocket.instances).toHaveLength(1);
    socket.retryNow();
    expect(FakeWebSocket.instances).toHaveLength(1);
  });

  it("stops when no ticket is given because nobody is signed in", async () => {
    const onUnauthorized = vi.fn();
    const { socket } = setup({ onUnauthorized, url: () => Promise.reject(new Unauthorized()) });
    socket.start();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
    expect(FakeWebSocket.instances).toHaveLength(0);
  });

  it("backs off and retries when the ticket request itself fails", async () => {
    let calls = 0;
    const { socket } = setup({
      url: () => (++calls === 1 ? Promise.reject(new TypeError("Failed to fetch")) : Promise.resolve("ws://example.test/ws?ticket=ok")),
    });
    socket.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(socket.state).toBe("reconnecting");
    expect(FakeWebSocket.instances).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(500);
    expect(FakeWebSocket.last().url).toBe("ws://example.test/ws?ticket=ok");
  });

  it("drops a ticket that arrives after stop()", async () => {
    let resolve: (url: string) => void = () => undefined;
    const { socket } = setup({ url: () => new Promise<string>((done) => (resolve = done)) });
    socket.start();
    socket.stop();
    resolve("ws://example.test/ws?ticket=late");
    await vi.advanceTimersByTimeAsync(0);
    expect(FakeWebSocket.instances).toHaveLength(0);
  });

  it("adds the ticket to a URL with or without a query", () => {
    expect(withTicket("wss://h/ws", "a b")).toBe("wss://h/ws?ticket=a%20b");
    expect(withTicket("wss://h/ws?x=1", "t")).toBe("wss://h/ws?x=1&ticket=t");
  });
});

describe("resolveWsUrl", () => {
  const http = { protocol: "http:", host: "localhost:8000" };
  const https = { protocol: "https:", host: "tracker.example" };

  it("uses the server's absolute ws_url", () => {
    expect(resolveWsUrl("ws://api:9000/ws", http)).toBe("ws://api:9000/ws");
    expect(resolveWsUrl("ws://tracker.example/ws", https)).toBe("wss://tracker.example/ws");
  });

  it("resolves a path against the page's origin, with ws or wss by protocol", () => {
    expect(resolveWsUrl("/ws", http)).toBe("ws://localhost:8000/ws");
    expect(resolveWsUrl("/ws", https)).toBe("wss://tracker.example/ws");
  });

  it("falls back to same-origin /ws", () => {
    expect(resolveWsUrl(null, https)).toBe("wss://tracker.example/ws");
    expect(resolveWsUrl("", http)).toBe("ws://localhost:8000/ws");
  });
});
