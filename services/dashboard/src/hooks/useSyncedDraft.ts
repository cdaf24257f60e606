import { useState } from "react";

/**
 * Local, editable state that starts from `value` and starts over whenever `value` changes (a save
 * landed, a live update arrived). The reset happens during render, as React recommends for state
 * derived from props, so no effect renders the stale draft first.
 */
export function useSyncedDraft<T>(value: T) {
  const [draft, setDraft] = useState(value);
  const [source, setSource] = useState(value);
  if (!Object.is(source, value)) {
    setSource(value);
    setDraft(value);
  }
  return [draft, setDraft] as const;
}
