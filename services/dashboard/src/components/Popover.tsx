import {
  FloatingFocusManager,
  autoUpdate,
  flip,
  offset,
  shift,
  useClick,
  useDismiss,
  useFloating,
  useInteractions,
} from "@floating-ui/react";
import { useId, useState, type ReactNode } from "react";
import "./Popover.css";

/** Keeps the panel this far from the window's edges. */
const EDGE_PADDING = 8;

/**
 * A button that opens a small panel below it (above it when there is no room below, shifted
 * sideways to stay on screen). The panel's first control gets focus on open. Escape closes it and
 * gives focus back to the button; a click elsewhere or focus leaving the panel (Tab) closes it and
 * leaves focus where it went.
 */
export function Popover({
  label,
  buttonContent,
  buttonClassName = "btn btn--chip",
  children,
  align = "start",
  nameFromContent = false,
}: {
  label: string;
  /** The button is named by what it shows (then that must say what it opens); the panel keeps `label`. */
  nameFromContent?: boolean;
  buttonContent: ReactNode;
  buttonClassName?: string;
  children: (close: () => void) => ReactNode;
  align?: "start" | "end";
}) {
  const [open, setOpen] = useState(false);
  const panelId = useId();
  const [button, setButton] = useState<HTMLButtonElement | null>(null);
  const [panel, setPanel] = useState<HTMLDivElement | null>(null);
  const { floatingStyles, context } = useFloating({
    elements: { reference: button, floating: panel },
    open,
    onOpenChange: setOpen,
    // Fixed, so no scrolling ancestor clips the panel.
    strategy: "fixed",
    placement: align === "end" ? "bottom-end" : "bottom-start",
    middleware: [offset(4), flip({ padding: EDGE_PADDING }), shift({ padding: EDGE_PADDING })],
    whileElementsMounted: autoUpdate,
    // top/left rather than a transform: the opening animation owns `transform`.
    transform: false,
  });
  const { getReferenceProps, getFloatingProps } = useInteractions([useClick(context), useDismiss(context)]);

  return (
    <div className="popover">
      <button
        ref={setButton}
        type="button"
        className={buttonClassName}
        aria-label={nameFromContent ? undefined : label}
        aria-expanded={open}
        aria-controls={open ? panelId : undefined}
        {...getReferenceProps()}
      >
        {buttonContent}
      </button>
      {open ? (
        <FloatingFocusManager context={context} modal={false}>
          <div
            ref={setPanel}
            id={panelId}
            className="popover__panel"
            style={floatingStyles}
            role="group"
            aria-label={label}
            {...getFloatingProps({
              // An Escape that closed the panel must not also close what is around it.
              onKeyDown: (event) => {
                if (event.key === "Escape") event.stopPropagation();
              },
            })}
          >
            {children(() => setOpen(false))}
          </div>
        </FloatingFocusManager>
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
  const [shownFor, setShownFor] = useState(key);
  if (shownFor !== key) {
    setShownFor(key);
    setShown(selected);
  }
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
