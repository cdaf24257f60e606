import { ROLES, type Me, type Role } from "../api/types";

/** True when `role` is `needed` or above it (viewer < editor < admin). */
export function hasRole(role: Role | null | undefined, needed: Role): boolean {
  if (!role) return false;
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

/** Who the dashboard acts as when the server runs with `TASKTRACKER_AUTH=off`. */
export const LOCAL_ADMIN: Me = { id: null, username: "local", email: null, role: "admin", via: "off" };

/**
 * Where to go after signing in: a path of this app only (`/board?x=1`), never another origin
 * (`//evil.example`, `https://…`) nor the login page itself.
 */
export function safeNext(next: string | null | undefined): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return "/";
  if (next === "/login" || next.startsWith("/login?") || next.startsWith("/api/")) return "/";
  return next;
}
