import { QueryClient } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import { RouterProvider, createMemoryRouter, type RouteObject } from "react-router";
import { AppProviders, flushRouterUpdate, routes } from "../App";

export function makeTestClient(): QueryClient {
  return new QueryClient({
    defaultOptions: { queries: { retry: false, staleTime: Infinity }, mutations: { retry: false } },
  });
}

/** Mounts the whole app (layout, providers, routes) at `path`, with a memory router. */
export function renderApp(path: string, options: { routeTable?: RouteObject[]; client?: QueryClient } = {}) {
  const client = options.client ?? makeTestClient();
  const router = createMemoryRouter(options.routeTable ?? routes, { initialEntries: [path] });
  const utils = render(
    <AppProviders client={client}>
      <RouterProvider router={router} flushSync={flushRouterUpdate} />
    </AppProviders>,
  );
  return { ...utils, router, client };
}
