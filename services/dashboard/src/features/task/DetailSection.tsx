import type { ReactNode } from "react";
import "./DetailSection.css";

/** One titled part of the task page; `empty` is shown instead of the content when there is nothing. */
export function DetailSection({
  id,
  title,
  count,
  empty,
  actions = null,
  children,
}: {
  /** The heading's id (also a link target: `#sec-activity`). */
  id: string;
  title: string;
  count?: number;
  empty: string | null;
  /** Controls beside the heading (e.g. "Export to…"). */
  actions?: ReactNode;
  children: ReactNode;
}) {
  return (
    <section className="detail__section" aria-labelledby={id}>
      <div className="detail__section-head">
        <h2 id={id}>
          {title}
          {count !== undefined ? (
            <>
              {" "}
              <span className="muted">{count}</span>
            </>
          ) : null}
        </h2>
        {actions}
      </div>
      {empty !== null ? <p className="muted">{empty}</p> : children}
    </section>
  );
}
