import type { components } from "../api/schema";

/** One frame of `/ws`; generated from the `LiveEvent` schema of the API's OpenAPI document. */
export type LiveEvent = components["schemas"]["LiveEvent"];

// Every event type, checked against the generated union: a new type on the server fails the build here.
const TYPES: Record<LiveEvent["type"], true> = {
  hello: true,
  heartbeat: true,
  "message.received": true,
  "message.classified": true,
  "task.created": true,
  "task.updated": true,
  "task.deleted": true,
};
const KNOWN = new Set<string>(Object.keys(TYPES));

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
