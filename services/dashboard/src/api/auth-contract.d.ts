// TEMPORARY: the accounts API of the contract in COORD.md, until branch `auth` lands and
// `make openapi` generates it into schema.d.ts. Delete this file then.
import "./schema";

type Json<T> = { content: { "application/json": T } };
type ErrorBody = { detail: string; code: string };
type Errors = { 401: Json<ErrorBody>; 403: Json<ErrorBody>; 404: Json<ErrorBody>; 409: Json<ErrorBody>; 422: Json<ErrorBody>; 429: Json<ErrorBody> };
type Role = "viewer" | "editor" | "admin";
type UserPublic = {
  id: number;
  username: string;
  email: string | null;
  role: Role;
  disabled: boolean;
  telegram_user_id: number | null;
  created_at: string;
  last_login_at: string | null;
};
type Me = { id: number | null; username: string; email: string | null; role: Role; via: "session" | "token" | "off" };
type TokenPublic = {
  id: number;
  name: string;
  prefix: string;
  user_id: number;
  username: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
};
type TokenCreated = { id: number; name: string; token: string; prefix: string; expires_at: string | null };
type Params<Q = never, P = never> = { query?: Q; header?: never; path: P; cookie?: never };
type Op<Res, Body = never, Q = never, P = never> = {
  parameters: [P] extends [never] ? { query?: Q; header?: never; path?: never; cookie?: never } : Params<Q, P>;
  responses: Res & Errors;
} & ([Body] extends [never] ? { requestBody?: never } : { requestBody: { content: { "application/json": Body } } });
type Path = { parameters: { query?: never; header?: never; path?: never; cookie?: never } };

declare module "./schema" {
  interface paths {
    "/api/auth/login": Path & { post: Op<{ 200: Json<UserPublic> }, { username: string; password: string }> };
    "/api/auth/logout": Path & { post: Op<{ 204: { content?: never } }> };
    "/api/auth/me": Path & { get: Op<{ 200: Json<Me> }> };
    "/api/auth/ws-ticket": Path & { post: Op<{ 200: Json<{ ticket: string; expires_in: number }> }> };
    "/api/users": Path & {
      get: Op<{ 200: Json<{ data: UserPublic[] }> }>;
      post: Op<{ 201: Json<UserPublic> }, { username: string; email?: string | null; password: string; role: Role }>;
    };
    "/api/users/{user_id}": Path & {
      patch: Op<
        { 200: Json<UserPublic> },
        { role?: Role; password?: string; disabled?: boolean; telegram_user_id?: number | null; email?: string | null },
        never,
        { user_id: number }
      >;
      delete: Op<{ 204: { content?: never } }, never, never, { user_id: number }>;
    };
    "/api/tokens": Path & {
      get: Op<{ 200: Json<{ data: TokenPublic[] }> }, never, { user_id?: number | null; all?: boolean }>;
      post: Op<{ 201: Json<TokenCreated> }, { name: string; expires_in_days?: number | null }>;
    };
    "/api/tokens/{token_id}": Path & { delete: Op<{ 204: { content?: never } }, never, never, { token_id: number }> };
  }
}
