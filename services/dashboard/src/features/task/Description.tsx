import { useState } from "react";
import type { TaskDetail } from "../../api/types";
import { useI18n } from "../../i18n/I18nProvider";
import "./Description.css";

export function Description({ task, onSave }: { task: TaskDetail; onSave: ((description: string) => void) | null }) {
  const { t } = useI18n();
  // null while not editing; the draft starts from the description as it is when editing starts.
  const [draft, setDraft] = useState<string | null>(null);
  if (draft === null || !onSave) {
    return (
      <div className="detail__description">
        {task.description ? <p>{task.description}</p> : <p className="muted">{t("task.noDescription")}</p>}
        {onSave ? (
          <button type="button" className="link-btn" onClick={() => setDraft(task.description)}>
            {t("task.editDescription")}
          </button>
        ) : null}
      </div>
    );
  }
  return (
    <form
      className="form"
      onSubmit={(event) => {
        event.preventDefault();
        if (draft !== task.description) onSave(draft);
        setDraft(null);
      }}
    >
      <label className="form__field">
        <span className="visually-hidden">{t("field.description")}</span>
        <textarea autoFocus rows={5} value={draft} onChange={(event) => setDraft(event.target.value)} />
      </label>
      <div className="form__actions">
        <button type="button" className="btn btn--ghost" onClick={() => setDraft(null)}>
          {t("action.cancel")}
        </button>
        <button type="submit" className="btn btn--primary">
          {t("action.save")}
        </button>
      </div>
    </form>
  );
}
