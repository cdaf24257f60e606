import { useEffect, useId, useRef, useState, type ReactNode } from "react";

/**
 * A button that opens a small panel below it. Escape or a click elsewhere closes it and gives
 * focus back to the button; the panel's first control gets focus on open.
 */
export function Popover({
  label,
  buttonContent,
  buttonClassName = "btn btn--chip",
  children,
  align = "start",
}: {
  label: string;
  buttonContent: ReactNode;
  buttonClassName?: string;
  children: (close: () => void) => ReactNode;
  align?: "start" | "end";
}) {
  const [open, setOpen] = useState(false);
  const rootRef = useRef<HTMLDivElement>(null);
  const buttonRef = useRef<HTMLButtonElement>(null);
  const panelId = useId();

  useEffect(() => {
    if (!open) return;
    const panel = rootRef.current?.querySelector<HTMLElement>(".popover__panel");
    panel?.querySelector<HTMLElement>("input, button, select, [tabindex]")?.focus();
    const onDown = (event: MouseEvent) => {
      if (!rootRef.current?.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener("mousedown", onDown);
    return () => document.removeEventListener("mousedown", onDown);
  }, [open]);

  const close = () => {
    setOpen(false);
    buttonRef.current?.focus();
  };

  return (
    <div
      className="popover"
      ref={rootRef}
      onKeyDown={(event) => {
        if (event.key === "Escape" && open) {
          event.stopPropagation();
          close();
        }
      }}
    >
      <button
        ref={buttonRef}
        type="button"
        className={buttonClassName}
        aria-expanded={open}
        aria-controls={panelId}
        aria-label={label}
        onClick={() => setOpen((value) => !value)}
      >
        {buttonContent}
      </button>
      {open ? (
        <div id={panelId} className={`popover__panel popover__panel--${align}`} role="group" aria-label={label}>
          {children(close)}
        </div>
      ) : null}
    </div>
  );
}

export interface Option<T extends string> {
  value: T;
  label: string;
  icon?: ReactNode;
}

/** A filter menu: a set of checkboxes behind a chip-like button that shows what is selected. */
export function MultiSelectMenu<T extends string>({
  label,
  options,
  selected,
  onChange,
}: {
  label: string;
  options: Option<T>[];
  selected: T[];
  onChange: (next: T[]) => void;
}) {
  // The selection lives in the URL, which the router updates in a transition; showing the click
  // at once keeps a checkbox from flickering back until the navigation lands.
  const [shown, setShown] = useState(selected);
  const key = selected.join(",");
  useEffect(() => setShown(selected), [key]); // eslint-disable-line react-hooks/exhaustive-deps
  const choose = (next: T[]) => {
    setShown(next);
    onChange(next);
  };
  const chosen = options.filter((option) => shown.includes(option.value));
  const summary =
    chosen.length === 0 ? null : chosen.length <= 2 ? chosen.map((option) => option.label).join(", ") : `${chosen.length}`;
  return (
    <Popover
      label={label}
      buttonClassName={`btn btn--chip${chosen.length ? " btn--chip-active" : ""}`}
      buttonContent={
        <>
          <span>{label}</span>
          {summary ? <span className="btn__value">{summary}</span> : null}
          <svg width="10" height="10" viewBox="0 0 10 10" aria-hidden="true">
            <path d="M2 4l3 3 3-3" fill="none" stroke="currentColor" strokeWidth="1.4" strokeLinecap="round" />
          </svg>
        </>
      }
    >
      {() => (
        <ul className="menu-list">
          {options.map((option) => {
            const checked = shown.includes(option.value);
            return (
              <li key={option.value}>
                <label className="menu-item">
                  <input
                    type="checkbox"
                    checked={checked}
                    onChange={() =>
                      choose(checked ? shown.filter((value) => value !== option.value) : [...shown, option.value])
                    }
                  />
                  {option.icon}
                  <span>{option.label}</span>
                </label>
              </li>
            );
          })}
        </ul>
      )}
    </Popover>
  );
}
