import type { Message, Task } from "../api/types";

let nextId = 1;

export function makeTask(overrides: Partial<Task> = {}): Task {
  const id = overrides.id ?? nextId++;
  return {
    id,
    title: `Task ${id}`,
    description: "",
    category: "bug",
    priority: "medium",
    status: "open",
    assignee: null,
    labels: [],
    needs_review: false,
    confidence: 0.9,
    source_message_id: null,
    channel: { id: 1, kind: "api", name: "api" },
    message_count: 1,
    created_at: `2026-11-26T10:${String(id % 60).padStart(2, "0")}:00Z`,
    updated_at: `2026-11-26T10:${String(id % 60).padStart(2, "0")}:00Z`,
    ...overrides,
  };
}

export function makeMessage(overrides: Partial<Message> = {}): Message {
  const id = overrides.id ?? nextId++;
  return {
    id,
    channel: { id: 1, kind: "api", name: "api" },
    external_id: `ext-${id}`,
    author: "alice",
    content: `Message ${id}`,
    sent_at: "2026-11-26T10:00:00Z",
    received_at: `2026-11-26T10:${String(id % 60).padStart(2, "0")}:00Z`,
    status: "received",
    task_id: null,
    classification: null,
    ...overrides,
  };
}
