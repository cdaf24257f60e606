import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { useState, type ReactNode } from "react";
import { flushSync } from "react-dom";
import { Navigate, Outlet, RouterProvider, createBrowserRouter, type RouteObject } from "react-router";
import { ApiError } from "./api/client";
import { RequireAuth, RequireRole } from "./auth/RequireAuth";
import { SessionProvider } from "./auth/SessionProvider";
import { Layout } from "./components/Layout";
import { NotFound } from "./components/NotFound";
import { ToastProvider } from "./components/Toasts";
import { AdminPage } from "./features/admin/AdminPage";
import { MyTokensPage } from "./features/admin/MyTokensPage";
import { LoginPage } from "./features/auth/LoginPage";
import { BoardPage } from "./features/board/BoardPage";
import { InboxPage } from "./features/inbox/InboxPage";
import { ReviewPage } from "./features/review/ReviewPage";
import { StatsPage } from "./features/stats/StatsPage";
import { TaskPage } from "./features/task/TaskPage";
import { I18nProvider } from "./i18n/I18nProvider";
import { LiveProvider } from "./live/LiveProvider";
import { ThemeProvider } from "./theme/ThemeProvider";

/** The live connection exists only while someone is signed in. */
function LiveOutlet() {
  return (
    <LiveProvider>
      <Outlet />
    </LiveProvider>
  );
}

export const routes: RouteObject[] = [
  { path: "/login", element: <LoginPage /> },
  {
    element: <RequireAuth />,
    children: [
      {
        element: <LiveOutlet />,
        children: [
          {
            path: "/",
            element: <Layout />,
            children: [
              { index: true, element: <Navigate to="/board" replace /> },
              { path: "board", element: <BoardPage /> },
              { path: "inbox", element: <InboxPage /> },
              { path: "review", element: <ReviewPage /> },
              { path: "tasks/:id", element: <TaskPage /> },
              { path: "stats", element: <StatsPage /> },
              { path: "account/tokens", element: <MyTokensPage /> },
              {
                element: <RequireRole role="admin" />,
                children: [{ path: "admin/:section?", element: <AdminPage /> }],
              },
              { path: "*", element: <NotFound /> },
            ],
          },
        ],
      },
    ],
  },
];

function isFinalAnswer(error: unknown): boolean {
  return error instanceof ApiError && error.status >= 400 && error.status < 500 && error.status !== 408 && error.status !== 429;
}

export function makeQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      // Live events keep the cache current; a refetch on focus covers a sleeping laptop.
      // One retry, but not of an answer that would be the same again (401, 403, 404, 422…).
      queries: { staleTime: 30_000, retry: (count, error) => count < 1 && !isFinalAnswer(error), refetchOnWindowFocus: true },
      mutations: { retry: 0 },
    },
  });
}

/** Everything but the router, so tests can mount pages inside a memory router. */
export function AppProviders({ client, children }: { client: QueryClient; children: ReactNode }) {
  return (
    <QueryClientProvider client={client}>
      <ThemeProvider>
        <I18nProvider>
          <ToastProvider>
            <SessionProvider>{children}</SessionProvider>
          </ToastProvider>
        </I18nProvider>
      </ThemeProvider>
    </QueryClientProvider>
  );
}

/**
 * The router's updates flushed at once when a navigation asks for it (`navigate(to, { flushSync })`),
 * instead of in a transition: react-dom's `flushSync` in the shape `RouterProvider` takes.
 */
export function flushRouterUpdate(update: () => unknown): undefined {
  flushSync(update);
}

export function App() {
  const [client] = useState(makeQueryClient);
  const [router] = useState(() => createBrowserRouter(routes));
  return (
    <AppProviders client={client}>
      <RouterProvider router={router} flushSync={flushRouterUpdate} />
    </AppProviders>
  );
}
