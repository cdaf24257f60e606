import { Navigate, Outlet, useLocation } from "react-router";
import type { Role } from "../api/types";
import { NotFound } from "../components/NotFound";
import { ErrorState, Spinner } from "../components/States";
import { useCan, useSession } from "./session";
import "./auth.css";

/**
 * The gate in front of every screen: with accounts on, nobody signed in goes to the login page,
 * which brings them back here afterwards.
 */
export function RequireAuth() {
  const session = useSession();
  const location = useLocation();
  if (session.isPending) {
    return (
      <div className="auth-gate">
        <Spinner />
      </div>
    );
  }
  if (session.user === null) {
    const next = `${location.pathname}${location.search}${location.hash}`;
    const search = next === "/" ? "" : `?next=${encodeURIComponent(next)}`;
    return <Navigate to={`/login${search}`} replace />;
  }
  if (!session.user) {
    return (
      <div className="auth-gate">
        <ErrorState error={session.error} onRetry={session.refetch} />
      </div>
    );
  }
  return <Outlet />;
}

/** Screens for `role` and above; others are told there is no such page (the API refuses anyway). */
export function RequireRole({ role }: { role: Role }) {
  const allowed = useCan(role);
  return allowed ? <Outlet /> : <NotFound />;
}
