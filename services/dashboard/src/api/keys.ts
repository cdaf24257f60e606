import type { MessageQuery, TaskQuery } from "./types";

/** Query keys: lists and details share a prefix so one invalidation can reach both. */
export const keys = {
  config: ["config"] as const,
  health: ["health"] as const,
  tasks: ["tasks"] as const,
  taskLists: ["tasks", "list"] as const,
  taskList: (query: TaskQuery) => ["tasks", "list", query] as const,
  taskDetails: ["tasks", "detail"] as const,
  task: (id: number) => ["tasks", "detail", id] as const,
  messages: ["messages"] as const,
  messageLists: ["messages", "list"] as const,
  messageList: (query: MessageQuery) => ["messages", "list", query] as const,
  message: (id: number) => ["messages", "detail", id] as const,
  stats: ["stats"] as const,
  channels: ["channels"] as const,
  exportTargets: ["exports", "targets"] as const,
  exportChoices: ["exports", "choices"] as const,
  exportRules: ["exports", "rules"] as const,
  me: ["auth", "me"] as const,
  users: ["users"] as const,
  tokens: ["tokens"] as const,
  tokenList: (scope: "own" | "all") => ["tokens", scope] as const,
};
