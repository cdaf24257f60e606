import { useState } from "react";
import { useNavigate } from "react-router";
import { useCreateTask } from "../../api/queries";
import { CATEGORIES, PRIORITIES, type Category, type Priority } from "../../api/types";
import { Field, FormDialog } from "../../components/FormDialog";
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

  const submit = () =>
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

  return (
    <FormDialog
      open={open}
      onClose={onClose}
      title={t("task.new")}
      onSubmit={submit}
      submitLabel={t("action.create")}
      canSubmit={Boolean(title.trim())}
      pending={create.isPending}
      error={create.error}
    >
      <Field label={t("field.title")}>
        <input required autoFocus value={title} onChange={(event) => setTitle(event.target.value)} maxLength={200} />
      </Field>
      <Field label={t("field.description")}>
        <textarea rows={4} value={description} onChange={(event) => setDescription(event.target.value)} />
      </Field>
      <div className="form__row">
        <Field label={t("field.category")}>
          <select value={category} onChange={(event) => setCategory(event.target.value as Category)}>
            {CATEGORIES.map((value) => (
              <option key={value} value={value}>
                {label("category", value)}
              </option>
            ))}
          </select>
        </Field>
        <Field label={t("field.priority")}>
          <select value={priority} onChange={(event) => setPriority(event.target.value as Priority)}>
            {PRIORITIES.map((value) => (
              <option key={value} value={value}>
                {label("priority", value)}
              </option>
            ))}
          </select>
        </Field>
      </div>
      <div className="form__row">
        <Field label={t("field.assignee")}>
          <input value={assignee} onChange={(event) => setAssignee(event.target.value)} maxLength={200} />
        </Field>
        <Field label={t("field.labels")}>
          <input value={labels} onChange={(event) => setLabels(event.target.value)} placeholder={t("field.labelsHint")} />
        </Field>
      </div>
    </FormDialog>
  );
}
