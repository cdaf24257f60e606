import type { KeyboardEvent, ReactNode } from "react";
import { CATEGORIES, PRIORITIES, TASK_STATUSES, type TaskDetail, type TaskPatch } from "../../api/types";
import { Avatar, ChannelTag, ConfidenceMeter, PriorityIcon, StatusIcon } from "../../components/Badges";
import { useSyncedDraft } from "../../hooks/useSyncedDraft";
import { useI18n } from "../../i18n/I18nProvider";
import { parseLabels } from "../tasks/NewTaskDialog";
import "./TaskProperties.css";

const blurOnEnter = (event: KeyboardEvent<HTMLInputElement>) => {
  if (event.key === "Enter") event.currentTarget.blur();
};

const CHOICES = { status: TASK_STATUSES, priority: PRIORITIES, category: CATEGORIES } as const;
type ChoiceField = keyof typeof CHOICES;

/** One enum property as a labelled select that patches the task as soon as it changes. */
function ChoiceRow<F extends ChoiceField>(props: {
  field: F;
  value: (typeof CHOICES)[F][number];
  icon: ReactNode;
  onPatch: (patch: TaskPatch) => void;
}) {
  const { field, value, icon, onPatch } = props;
  const { t, label } = useI18n();
  const id = `prop-${field}`;
  return (
    <div className="props__row">
      <dt>
        <label htmlFor={id}>{t(`field.${field}`)}</label>
      </dt>
      <dd className="props__control">
        {icon}
        <select id={id} value={value} onChange={(event) => onPatch({ [field]: event.target.value })}>
          {CHOICES[field].map((option) => (
            <option key={option} value={option}>
              {label(field, option)}
            </option>
          ))}
        </select>
      </dd>
    </div>
  );
}

/** The side panel: status, priority and category change at once; assignee and labels when the field is left. */
export function TaskProperties({ task, onPatch }: { task: TaskDetail; onPatch: (patch: TaskPatch) => void }) {
  const { t, formatDate } = useI18n();
  const [assignee, setAssignee] = useSyncedDraft(task.assignee ?? "");
  const [labels, setLabels] = useSyncedDraft(task.labels.join(", "));

  return (
    <dl className="props">
      <ChoiceRow field="status" value={task.status} icon={<StatusIcon status={task.status} />} onPatch={onPatch} />
      <ChoiceRow field="priority" value={task.priority} icon={<PriorityIcon priority={task.priority} />} onPatch={onPatch} />
      <ChoiceRow
        field="category"
        value={task.category}
        icon={<span className={`dot cat--${task.category}`} aria-hidden="true" />}
        onPatch={onPatch}
      />
      <div className="props__row">
        <dt>
          <label htmlFor="prop-assignee">{t("field.assignee")}</label>
        </dt>
        <dd className="props__control">
          <Avatar name={task.assignee} size={18} />
          <input
            id="prop-assignee"
            value={assignee}
            placeholder={t("field.unassigned")}
            onChange={(event) => setAssignee(event.target.value)}
            onBlur={() => {
              const next = assignee.trim() || null;
              if (next !== task.assignee) onPatch({ assignee: next });
            }}
            onKeyDown={blurOnEnter}
          />
        </dd>
      </div>
      <div className="props__row">
        <dt>
          <label htmlFor="prop-labels">{t("field.labels")}</label>
        </dt>
        <dd className="props__control">
          <input
            id="prop-labels"
            value={labels}
            placeholder={t("field.labelsHint")}
            onChange={(event) => setLabels(event.target.value)}
            onBlur={() => {
              const next = parseLabels(labels);
              if (next.join("\u0000") !== task.labels.join("\u0000")) onPatch({ labels: next });
            }}
            onKeyDown={blurOnEnter}
          />
        </dd>
      </div>
      <div className="props__row">
        <dt>{t("filters.review")}</dt>
        <dd className="props__control">
          <label className="switch">
            <input type="checkbox" checked={task.needs_review} onChange={(event) => onPatch({ needs_review: event.target.checked })} />
            <span>{t("task.needsReview")}</span>
          </label>
        </dd>
      </div>
      <div className="props__row">
        <dt>{t("field.confidence")}</dt>
        <dd>
          <ConfidenceMeter value={task.confidence} />
        </dd>
      </div>
      <div className="props__row">
        <dt>{t("field.channel")}</dt>
        <dd>{task.channel ? <ChannelTag channel={task.channel} /> : <span className="muted">—</span>}</dd>
      </div>
      <div className="props__row">
        <dt>{t("field.created")}</dt>
        <dd className="muted">{formatDate(task.created_at)}</dd>
      </div>
      <div className="props__row">
        <dt>{t("field.updated")}</dt>
        <dd className="muted">{formatDate(task.updated_at)}</dd>
      </div>
    </dl>
  );
}
