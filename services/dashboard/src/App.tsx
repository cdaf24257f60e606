import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { useState, type ReactNode } from "react";
import { Link, Navigate, RouterProvider, createBrowserRouter, type RouteObject } from "react-router";
import { Layout } from "./components/Layout";
import { EmptyState } from "./components/States";
import { ToastProvider } from "./components/Toasts";
import { BoardPage } from "./features/board/BoardPage";
import { InboxPage } from "./features/inbox/InboxPage";
import { ReviewPage } from "./features/review/ReviewPage";
import { StatsPage } from "./features/stats/StatsPage";
import { TaskPage } from "./features/task/TaskPage";
import { I18nProvider, useI18n } from "./i18n/I18nProvider";
import { LiveProvider } from "./live/LiveProvider";
import { ThemeProvider } from "./theme/ThemeProvider";

function NotFound() {
  const { t } = useI18n();
  return (
    <div className="page">
      <div className="page__body">
        <EmptyState icon="search" title={t("state.pageNotFound")} action={<Link to="/board" className="btn">{t("nav.board")}</Link>} />
      </div>
    </div>
  );
}

export const routes: RouteObject[] = [
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
      // An admin page: loaded when opened, so the board's bundle does not carry it.
      { path: "admin/exports", lazy: async () => ({ Component: (await import("./features/exports/ExportsAdmin")).ExportsAdminPage }) },
      { path: "*", element: <NotFound /> },
    ],
  },
];

export function makeQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      // Live events keep the cache current; a refetch on focus covers a sleeping laptop.
      queries: { staleTime: 30_000, retry: 1, refetchOnWindowFocus: true },
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
            <LiveProvider>{children}</LiveProvider>
          </ToastProvider>
        </I18nProvider>
      </ThemeProvider>
    </QueryClientProvider>
  );
}

export function App() {
  const [client] = useState(makeQueryClient);
  const [router] = useState(() => createBrowserRouter(routes));
  return (
    <AppProviders client={client}>
      <RouterProvider router={router} />
    </AppProviders>
  );
}
