import type { Category, Priority } from "../../api/types";
import { useHotkeys } from "../../hooks/useHotkeys";

/** 1 = urgent … 4 = low, as in Linear. */
export const PRIORITY_KEYS: Record<string, Priority> = { "1": "urgent", "2": "high", "3": "medium", "4": "low" };
export const CATEGORY_KEYS: Record<string, Category> = { b: "bug", f: "feature", q: "question", t: "task" };

export interface ReviewActions {
  next: () => void;
  previous: () => void;
  approve: () => void;
  noise: () => void;
  setPriority: (priority: Priority) => void;
  setCategory: (category: Category) => void;
  merge: () => void;
  open: () => void;
}

export function useReviewShortcuts(actions: ReviewActions, enabled: boolean): void {
  useHotkeys(
    {
      j: actions.next,
      ArrowDown: actions.next,
      k: actions.previous,
      ArrowUp: actions.previous,
      a: actions.approve,
      n: actions.noise,
      m: actions.merge,
      o: actions.open,
      Enter: actions.open,
      ...Object.fromEntries(Object.entries(PRIORITY_KEYS).map(([key, priority]) => [key, () => actions.setPriority(priority)])),
      ...Object.fromEntries(Object.entries(CATEGORY_KEYS).map(([key, category]) => [key, () => actions.setCategory(category)])),
    },
    enabled,
  );
}
