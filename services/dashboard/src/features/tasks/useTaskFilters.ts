import { useCallback, useMemo } from "react";
import { useSearchParams } from "react-router";
import { EMPTY_FILTERS, parseFilters, writeFilters, type BoardView, type TaskFilters } from "./filters";

export interface TaskFiltersApi {
  filters: TaskFilters;
  view: BoardView;
  setFilters: (patch: Partial<TaskFilters>, options?: { replace?: boolean }) => void;
  clearFilters: () => void;
  setView: (view: BoardView) => void;
}

/** The board's filters and view, read from and written to the URL's query string. */
export function useTaskFilters(): TaskFiltersApi {
  const [params, setParams] = useSearchParams();
  const filters = useMemo(() => parseFilters(params), [params]);
  const view: BoardView = params.get("view") === "table" ? "table" : "board";

  const setFilters = useCallback(
    (patch: Partial<TaskFilters>, options?: { replace?: boolean }) => {
      setParams((prev) => writeFilters({ ...parseFilters(prev), ...patch }, prev), {
        replace: options?.replace ?? false,
      });
    },
    [setParams],
  );

  const clearFilters = useCallback(() => {
    setParams((prev) => writeFilters({ ...EMPTY_FILTERS, sort: parseFilters(prev).sort }, prev));
  }, [setParams]);

  const setView = useCallback(
    (next: BoardView) => {
      setParams((prev) => {
        const params = new URLSearchParams(prev);
        if (next === "board") params.delete("view");
        else params.set("view", next);
        return params;
      });
    },
    [setParams],
  );

  return { filters, view, setFilters, clearFilters, setView };
}
