import type { KeyboardEvent } from "react";
import { CATEGORIES, PRIORITIES, TASK_STATUSES, type TaskDetail, type TaskPatch } from "../../api/types";
import { Avatar, ChannelTag, ConfidenceMeter, PriorityIcon, StatusIcon } from "../../components/Badges";
import { useSyncedDraft } from "../../hooks/useSyncedDraft";
import { useI18n } from "../../i18n/I18nProvider";
import { parseLabels } from "../tasks/NewTaskDialog";
import "./TaskProperties.css";

const blurOnEnter = (event: KeyboardEvent<HTMLInputElement>) => {
  if (event.key === "Enter") event.currentTarget.blur();
};

/** The side panel: status, priority and category change at once; assignee and labels when the field is left. */
export function TaskProperties({ task, onPatch }: { task: TaskDetail; onPatch: (patch: TaskPatch) => void }) {
  const { t, label, formatDate } = useI18n();
  const [assignee, setAssignee] = useSyncedDraft(task.assignee ?? "");
  const [labels, setLabels] = useSyncedDraft(task.labels.join(", "));

  return (
    <dl className="props">
      <div className="props__row">
        <dt>
          <label htmlFor="prop-status">{t("field.status")}</label>
        </dt>
        <dd className="props__control">
          <StatusIcon status={task.status} />
          <select id="prop-status" value={task.status} onChange={(event) => onPatch({ status: event.target.value as TaskPatch["status"] })}>
            {TASK_STATUSES.map((value) => (
              <option key={value} value={value}>
                {label("status", value)}
              </option>
            ))}
          </select>
        </dd>
      </div>
      <div className="props__row">
        <dt>
          <label htmlFor="prop-priority">{t("field.priority")}</label>
        </dt>
        <dd className="props__control">
          <PriorityIcon priority={task.priority} />
          <select id="prop-priority" value={task.priority} onChange={(event) => onPatch({ priority: event.target.value as TaskPatch["priority"] })}>
            {PRIORITIES.map((value) => (
              <option key={value} value={value}>
                {label("priority", value)}
              </option>
            ))}
          </select>
        </dd>
      </div>
      <div className="props__row">
        <dt>
          <label htmlFor="prop-category">{t("field.category")}</label>
        </dt>
        <dd className="props__control">
          <span className={`dot cat--${task.category}`} aria-hidden="true" />
          <select id="prop-category" value={task.category} onChange={(event) => onPatch({ category: event.target.value as TaskPatch["category"] })}>
            {CATEGORIES.map((value) => (
              <option key={value} value={value}>
                {label("category", value)}
              </option>
            ))}
          </select>
        </dd>
      </div>
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
