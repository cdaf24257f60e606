import type { Message, Task } from "../api/types";

export type LiveEvent =
  | { type: "hello"; id?: string; ts?: string; data: { version?: string } }
  | { type: "heartbeat"; id?: string; ts?: string; data?: unknown }
  | { type: "message.received" | "message.classified"; id: string; ts: string; data: Message }
  | { type: "task.created" | "task.updated"; id: string; ts: string; data: Task }
  | { type: "task.deleted"; id: string; ts: string; data: { id: number } };

const KNOWN = new Set([
  "hello",
  "heartbeat",
  "message.received",
  "message.classified",
  "task.created",
  "task.updated",
  "task.deleted",
]);

/** Parses one WebSocket frame; anything that is not a known event gives null (and is ignored). */
export function parseLiveEvent(raw: unknown): LiveEvent | null {
  if (typeof raw !== "string") return null;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  if (!value || typeof value !== "object") return null;
  const event = value as { type?: unknown; data?: unknown };
  if (typeof event.type !== "string" || !KNOWN.has(event.type)) return null;
  if (event.type === "hello" || event.type === "heartbeat") return value as LiveEvent;
  const data = event.data as { id?: unknown } | null | undefined;
  if (!data || typeof data !== "object" || typeof data.id !== "number") return null;
  return value as LiveEvent;
}
