import { useEffect, useEffectEvent } from "react";
import { useSyncedDraft } from "./useSyncedDraft";

/**
 * Keeps a text field responsive while writing to the URL only once typing pauses.
 *
 * The commit runs with the latest render's callback, so a filter changed meanwhile (a chip picked while
 * a search is pending) is not overwritten by the state of the moment the typing started.
 */
export function useDebouncedField(value: string, commit: (next: string) => void, delay = 300) {
  const [draft, setDraft] = useSyncedDraft(value);
  const commitLatest = useEffectEvent((next: string) => commit(next));
  useEffect(() => {
    if (draft === value) return;
    const timer = setTimeout(() => commitLatest(draft), delay);
    return () => clearTimeout(timer);
  }, [draft, value, delay]);
  return [draft, setDraft] as const;
}
