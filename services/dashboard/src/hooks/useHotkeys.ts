import { useEffect, useLayoutEffect, useRef } from "react";

/**
 * Key names: `j`, `?`, `1`, `Shift+ArrowRight`, or a two-key chord such as `g b` (the second key
 * within CHORD_MS of the first).
 */
export type HotkeyMap = Record<string, (event: KeyboardEvent) => void>;

const CHORD_MS = 1200;

/** True when a key press belongs to a text field or a select, not to the page. */
export function isTypingTarget(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  if (tag === "TEXTAREA" || tag === "SELECT") return true;
  if (tag === "INPUT") {
    const type = (target as HTMLInputElement).type;
    return !["checkbox", "radio", "button", "submit", "reset"].includes(type);
  }
  return false;
}

export function keyName(event: KeyboardEvent): string {
  return event.shiftKey && event.key.length > 1 ? `Shift+${event.key}` : event.key;
}

// One document listener serves every mounted map, so exactly one handler runs per key press
// and chords work across maps (the layout's "g b" never also fires a page's "b").
const registry: Array<{ current: HotkeyMap }> = [];
let prefix: { key: string; at: number } | null = null;

function dispatch(event: KeyboardEvent): void {
  if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
  if (isTypingTarget(event.target) || document.querySelector("dialog[open]")) {
    prefix = null;
    return;
  }
  const name = keyName(event);
  const maps = [...registry].reverse(); // the most recently mounted (innermost) map first
  const run = (key: string) => {
    for (const map of maps) {
      const handler = map.current[key];
      if (handler) {
        event.preventDefault();
        handler(event);
        return true;
      }
    }
    return false;
  };
  if (prefix && Date.now() - prefix.at < CHORD_MS) {
    const chord = `${prefix.key} ${name}`;
    prefix = null;
    if (run(chord)) return;
  }
  prefix = null;
  if (maps.some((map) => Object.keys(map.current).some((key) => key.startsWith(`${name} `)))) {
    prefix = { key: name, at: Date.now() };
    event.preventDefault();
    return;
  }
  run(name);
}

export function useHotkeys(map: HotkeyMap, enabled = true): void {
  const ref = useRef(map);
  // The registry reads the newest map at key time; it is written after each render, never during one.
  useLayoutEffect(() => {
    ref.current = map;
  });

  useEffect(() => {
    if (!enabled) return;
    const entry = ref;
    registry.push(entry);
    if (registry.length === 1) document.addEventListener("keydown", dispatch);
    return () => {
      const index = registry.indexOf(entry);
      if (index >= 0) registry.splice(index, 1);
      if (registry.length === 0) {
        document.removeEventListener("keydown", dispatch);
        prefix = null;
      }
    };
  }, [enabled]);
}
