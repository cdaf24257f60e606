import { useEffect, useRef, useState } from "react";

/**
 * Keeps a text field responsive while writing to the URL only once typing pauses.
 *
 * The commit runs with the latest render's callback, so a filter changed meanwhile (a chip picked while
 * a search is pending) is not overwritten by the state of the moment the typing started.
 */
export function useDebouncedField(value: string, commit: (next: string) => void, delay = 300) {
  const [draft, setDraft] = useState(value);
  const latestCommit = useRef(commit);
  latestCommit.current = commit;
  useEffect(() => setDraft(value), [value]);
  useEffect(() => {
    if (draft === value) return;
    const timer = setTimeout(() => latestCommit.current(draft), delay);
    return () => clearTimeout(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [draft]);
  return [draft, setDraft] as const;
}
