import { useRef, useState, type FormEvent } from "react";
import type { TaskDetail } from "../../api/types";
import { useI18n } from "../../i18n/I18nProvider";
import "./InlineTitle.css";

/** The task's title as a heading; the pencil turns it into a field (Enter or leaving saves, Escape cancels). */
export function InlineTitle({ task, onSave }: { task: TaskDetail; onSave: ((title: string) => void) | null }) {
  const { t } = useI18n();
  // null while not editing; the draft starts from the title as it is when editing starts.
  const [draft, setDraft] = useState<string | null>(null);
  // Escape unmounts the field, and a browser may report that as a blur: that blur must not save.
  const cancelled = useRef(false);
  if (draft === null || !onSave) {
    return (
      <div className="detail__title-row">
        <h1 className="detail__title">{task.title}</h1>
        {onSave ? (
          <button
            type="button"
            className="icon-btn"
            onClick={() => {
              cancelled.current = false;
              setDraft(task.title);
            }}
            aria-label={t("task.editTitle")}
          >
            <svg width="14" height="14" viewBox="0 0 16 16" aria-hidden="true">
              <path d="M11 2.5l2.5 2.5L6 12.5H3.5V10z" fill="none" stroke="currentColor" strokeWidth="1.5" strokeLinejoin="round" />
            </svg>
          </button>
        ) : null}
      </div>
    );
  }
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (cancelled.current) return;
    const title = draft.trim();
    if (title && title !== task.title) onSave(title);
    setDraft(null);
  };
  return (
    <form className="detail__title-form" onSubmit={submit}>
      <label className="visually-hidden" htmlFor="title-input">
        {t("field.title")}
      </label>
      <input
        id="title-input"
        autoFocus
        className="detail__title-input"
        value={draft}
        maxLength={200}
        onChange={(event) => setDraft(event.target.value)}
        onKeyDown={(event) => {
          if (event.key === "Escape") {
            cancelled.current = true;
            setDraft(null);
          }
        }}
        onBlur={submit}
      />
    </form>
  );
}
