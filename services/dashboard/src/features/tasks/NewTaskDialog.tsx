import { useState, type FormEvent } from "react";
import { useNavigate } from "react-router";
import { useCreateTask } from "../../api/queries";
import { CATEGORIES, PRIORITIES, type Category, type Priority } from "../../api/types";
import { Dialog } from "../../components/Dialog";
import { errorText } from "../../components/States";
import { useToast } from "../../components/Toasts";
import { useI18n } from "../../i18n/I18nProvider";

export function parseLabels(text: string): string[] {
  return [...new Set(text.split(",").map((label) => label.trim()).filter(Boolean))];
}

export function NewTaskDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { t, label } = useI18n();
  const create = useCreateTask();
  const toast = useToast();
  const navigate = useNavigate();
  const [title, setTitle] = useState("");
  const [description, setDescription] = useState("");
  const [category, setCategory] = useState<Category>("task");
  const [priority, setPriority] = useState<Priority>("medium");
  const [assignee, setAssignee] = useState("");
  const [labels, setLabels] = useState("");

  const reset = () => {
    setTitle("");
    setDescription("");
    setCategory("task");
    setPriority("medium");
    setAssignee("");
    setLabels("");
    create.reset();
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!title.trim()) return;
    create.mutate(
      {
        title: title.trim(),
        description: description.trim(),
        category,
        priority,
        assignee: assignee.trim() || null,
        labels: parseLabels(labels),
      },
      {
        onSuccess: (task) => {
          toast.push({
            kind: "success",
            text: t("task.created", { id: task.id }),
            action: { label: t("action.open"), run: () => void navigate(`/tasks/${task.id}`) },
          });
          reset();
          onClose();
        },
      },
    );
  };

  return (
    <Dialog
      open={open}
      onClose={onClose}
      title={t("task.new")}
      footer={
        <>
          <button type="button" className="btn btn--ghost" onClick={onClose}>
            {t("action.cancel")}
          </button>
          <button type="submit" form="new-task-form" className="btn btn--primary" disabled={!title.trim() || create.isPending}>
            {t("action.create")}
          </button>
        </>
      }
    >
      <form id="new-task-form" className="form" onSubmit={submit}>
        <label className="form__field">
          <span>{t("field.title")}</span>
          <input required autoFocus value={title} onChange={(event) => setTitle(event.target.value)} maxLength={200} />
        </label>
        <label className="form__field">
          <span>{t("field.description")}</span>
          <textarea rows={4} value={description} onChange={(event) => setDescription(event.target.value)} />
        </label>
        <div className="form__row">
          <label className="form__field">
            <span>{t("field.category")}</span>
            <select value={category} onChange={(event) => setCategory(event.target.value as Category)}>
              {CATEGORIES.map((value) => (
                <option key={value} value={value}>
                  {label("category", value)}
                </option>
              ))}
            </select>
          </label>
          <label className="form__field">
            <span>{t("field.priority")}</span>
            <select value={priority} onChange={(event) => setPriority(event.target.value as Priority)}>
              {PRIORITIES.map((value) => (
                <option key={value} value={value}>
                  {label("priority", value)}
                </option>
              ))}
            </select>
          </label>
        </div>
        <div className="form__row">
          <label className="form__field">
            <span>{t("field.assignee")}</span>
            <input value={assignee} onChange={(event) => setAssignee(event.target.value)} maxLength={200} />
          </label>
          <label className="form__field">
            <span>{t("field.labels")}</span>
            <input value={labels} onChange={(event) => setLabels(event.target.value)} placeholder={t("field.labelsHint")} />
          </label>
        </div>
        {create.isError ? (
          <p className="form__error" role="alert">
            {errorText(create.error, t("state.networkError"))}
          </p>
        ) : null}
      </form>
    </Dialog>
  );
}
