import type { ReactNode } from "react";
import { ErrorState, LoadingState } from "./States";

/** What QueryView reads of a TanStack query (plain or infinite). */
export interface ViewableQuery<T> {
  data: T | undefined;
  isPending: boolean;
  error: unknown;
  refetch: () => Promise<unknown>;
}

/**
 * True for the list shapes the API answers with: an array, `{data: [...]}` (a page of rows),
 * or an infinite query's `{pages: [{data: [...]}, ...]}`. Anything else is never empty.
 */
export function isEmptyData(data: unknown): boolean {
  if (Array.isArray(data)) return data.length === 0;
  if (data !== null && typeof data === "object") {
    if ("pages" in data && Array.isArray(data.pages)) return data.pages.every((page) => isEmptyData(page));
    if ("data" in data && Array.isArray(data.data)) return data.data.length === 0;
  }
  return false;
}

/**
 * The one switch every list and page makes on a query: loading, an error with a retry button, the
 * empty state, or the data. Data already on screen stays there when a background refetch fails.
 */
export function QueryView<T>({
  query,
  children,
  empty = null,
  isEmpty = isEmptyData,
  loading = <LoadingState />,
  frame = (state) => state,
}: {
  query: ViewableQuery<T>;
  /** Renders the data once there is some (and it is not empty). */
  children: (data: T) => ReactNode;
  /** Shown instead of `children` when `isEmpty(data)`; `null` renders `children` even then. */
  empty?: ReactNode;
  isEmpty?: (data: T) => boolean;
  loading?: ReactNode;
  /** Wraps the loading, error and empty states (a page's header and body, say); not the data. */
  frame?: (state: ReactNode) => ReactNode;
}) {
  if (query.data === undefined) {
    if (query.isPending) return frame(loading);
    return frame(<ErrorState error={query.error} onRetry={() => void query.refetch()} />);
  }
  if (empty !== null && isEmpty(query.data)) return frame(empty);
  return children(query.data);
}
