import { useEffect, useState, type FormEvent } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { useDeleteTask, useTask, useUpdateTask } from "../../api/queries";
import {
  CATEGORIES,
  PRIORITIES,
  TASK_STATUSES,
  type Activity,
  type Issue,
  type TaskDetail,
  type TaskExport,
  type TaskPatch,
} from "../../api/types";
import {
  Avatar,
  CategoryChip,
  ChannelTag,
  ConfidenceMeter,
  PriorityBadge,
  PriorityIcon,
  RelativeTime,
  StatusIcon,
} from "../../components/Badges";
import { Dialog } from "../../components/Dialog";
import { Icon } from "../../components/Icon";
import { ErrorState, LoadingState, errorText } from "../../components/States";
import { useToast } from "../../components/Toasts";
import { usePageTitle } from "../../hooks/usePageTitle";
import type { MessageKey } from "../../i18n/en";
import { useI18n, type LabelGroup } from "../../i18n/I18nProvider";
import { MergeDialog } from "../tasks/MergeDialog";
import { parseLabels } from "../tasks/NewTaskDialog";

function InlineTitle({ task, onSave }: { task: TaskDetail; onSave: (title: string) => void }) {
  const { t } = useI18n();
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(task.title);
  useEffect(() => setDraft(task.title), [task.title]);
  if (!editing) {
    return (
      <div className="detail__title-row">
        <h1 className="detail__title">{task.title}</h1>
        <button type="button" className="icon-btn" onClick={() => setEditing(true)} aria-label={t("task.editTitle")}>
          <svg width="14" height="14" viewBox="0 0 16 16" aria-hidden="true">
            <path d="M11 2.5l2.5 2.5L6 12.5H3.5V10z" fill="none" stroke="currentColor" strokeWidth="1.5" strokeLinejoin="round" />
          </svg>
        </button>
      </div>
    );
  }
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const title = draft.trim();
    if (title && title !== task.title) onSave(title);
    setEditing(false);
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
            setDraft(task.title);
            setEditing(false);
          }
        }}
        onBlur={submit}
      />
    </form>
  );
}

function Description({ task, onSave }: { task: TaskDetail; onSave: (description: string) => void }) {
  const { t } = useI18n();
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(task.description);
  useEffect(() => setDraft(task.description), [task.description]);
  if (!editing) {
    return (
      <div className="detail__description">
        {task.description ? <p>{task.description}</p> : <p className="muted">{t("task.noDescription")}</p>}
        <button type="button" className="link-btn" onClick={() => setEditing(true)}>
          {t("task.editDescription")}
        </button>
      </div>
    );
  }
  return (
    <form
      className="form"
      onSubmit={(event) => {
        event.preventDefault();
        if (draft !== task.description) onSave(draft);
        setEditing(false);
      }}
    >
      <label className="form__field">
        <span className="visually-hidden">{t("field.description")}</span>
        <textarea autoFocus rows={5} value={draft} onChange={(event) => setDraft(event.target.value)} />
      </label>
      <div className="form__actions">
        <button type="button" className="btn btn--ghost" onClick={() => setEditing(false)}>
          {t("action.cancel")}
        </button>
        <button type="submit" className="btn btn--primary">
          {t("action.save")}
        </button>
      </div>
    </form>
  );
}

function IssueRow({ issue }: { issue: Issue }) {
  const { formatNumber } = useI18n();
  return (
    <li className="history__item">
      <CategoryChip category={issue.category} size="sm" />
      <PriorityBadge priority={issue.priority} />
      <ConfidenceMeter value={issue.confidence} />
      <span className="model-tag">{issue.model}</span>
      {issue.prompt_version ? <span className="muted">{issue.prompt_version}</span> : null}
      <span className="muted">{formatNumber(Math.round(issue.latency_ms))} ms</span>
      <span className="feed__spacer" />
      <RelativeTime iso={issue.created_at} />
    </li>
  );
}

function describeData(data: Record<string, unknown>): string {
  return Object.entries(data)
    .filter(([, value]) => value !== null && value !== undefined && typeof value !== "object")
    .map(([key, value]) => `${key}: ${String(value)}`)
    .join(" · ");
}

const ENUM_FIELDS: Record<string, LabelGroup> = { status: "status", category: "category", priority: "priority" };
const FIELD_KEYS: Record<string, MessageKey> = {
  status: "field.status",
  category: "field.category",
  priority: "field.priority",
  assignee: "field.assignee",
  labels: "field.labels",
  title: "field.title",
  description: "field.description",
  needs_review: "filters.review",
};

function ActivityRow({ item }: { item: Activity }) {
  const { label, t } = useI18n();
  const fieldName = (field: string) => (FIELD_KEYS[field] ? t(FIELD_KEYS[field]) : field);
  const value = (field: string, raw: unknown) => {
    if (raw === null || raw === undefined || raw === "") return "—";
    const group = ENUM_FIELDS[field];
    if (group && typeof raw === "string") return label(group, raw);
    return Array.isArray(raw) ? raw.join(", ") : String(raw);
  };
  const data = (item.data ?? {}) as Record<string, unknown>;
  const changes = Object.entries(data).filter(
    ([, value]) => value && typeof value === "object" && !Array.isArray(value) && ("from" in value || "to" in value),
  ) as Array<[string, { from?: unknown; to?: unknown }]>;
  return (
    <li className="activity__item">
      <span className="activity__dot" aria-hidden="true" />
      <span className="activity__actor">{item.actor ?? t("activity.system")}</span>
      <span>{label("activity", item.kind)}</span>
      {changes.map(([field, change]) => (
        <span key={field} className="activity__change">
          {fieldName(field)}: <s>{value(field, change.from)}</s> → <strong>{value(field, change.to)}</strong>
        </span>
      ))}
      {describeData(data) ? <span className="muted activity__data">{describeData(data)}</span> : null}
      <span className="feed__spacer" />
      <RelativeTime iso={item.created_at} />
    </li>
  );
}

function ExportRow({ item }: { item: TaskExport }) {
  return (
    <li className="history__item">
      <span className="model-tag">{item.tracker}</span>
      <span className={`pill pill--${item.status}`}>{item.status}</span>
      {item.url ? (
        <a href={item.url} target="_blank" rel="noreferrer" className="task-link">
          {item.external_id ?? item.url} <Icon name="external" size={12} />
        </a>
      ) : (
        <span className="muted">{item.external_id}</span>
      )}
      <span className="feed__spacer" />
      <RelativeTime iso={item.created_at} />
    </li>
  );
}

function Properties({ task, onPatch }: { task: TaskDetail; onPatch: (patch: TaskPatch) => void }) {
  const { t, label, formatDate } = useI18n();
  const [assignee, setAssignee] = useState(task.assignee ?? "");
  const [labels, setLabels] = useState(task.labels.join(", "));
  useEffect(() => setAssignee(task.assignee ?? ""), [task.assignee]);
  useEffect(() => setLabels(task.labels.join(", ")), [task.labels]);

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
            onKeyDown={(event) => event.key === "Enter" && (event.target as HTMLInputElement).blur()}
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
            onKeyDown={(event) => event.key === "Enter" && (event.target as HTMLInputElement).blur()}
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

export function TaskPage() {
  const { t, plural } = useI18n();
  const params = useParams();
  const id = Number(params.id);
  const navigate = useNavigate();
  const toast = useToast();
  const query = useTask(id);
  const update = useUpdateTask();
  const remove = useDeleteTask();
  const [merging, setMerging] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const task = query.data;
  usePageTitle(task ? `#${task.id} ${task.title}` : t("task.title"));

  const patch = (body: TaskPatch) =>
    update.mutate(
      { id, patch: body },
      { onError: (error) => toast.push({ kind: "error", text: errorText(error, t("state.networkError")) }) },
    );

  const back = (
    <Link to="/board" className="btn btn--ghost btn--sm">
      <Icon name="chevronLeft" /> {t("nav.board")}
    </Link>
  );

  if (query.isPending) {
    return (
      <div className="page">
        <header className="page__header">{back}</header>
        <div className="page__body">
          <LoadingState />
        </div>
      </div>
    );
  }
  if (!task) {
    return (
      <div className="page">
        <header className="page__header">{back}</header>
        <div className="page__body">
          <ErrorState error={query.error} onRetry={() => void query.refetch()} />
        </div>
      </div>
    );
  }

  const messages = task.messages ?? [];
  const issues = task.issues ?? [];
  const activity = task.activity ?? [];
  const exports = task.exports ?? [];

  return (
    <div className="page">
      <header className="page__header">
        {back}
        <span className="breadcrumb muted">#{task.id}</span>
        <span className="page__spacer" />
        <button type="button" className="btn" onClick={() => setMerging(true)}>
          <Icon name="merge" /> {t("action.merge")}
        </button>
        <button type="button" className="btn btn--danger" onClick={() => setConfirmDelete(true)}>
          <Icon name="trash" /> {t("action.delete")}
        </button>
      </header>
      <div className="page__body detail">
        <div className="detail__main">
          {task.merged_into_id ? (
            <p className="notice">
              {t("task.mergedInto")} <Link to={`/tasks/${task.merged_into_id}`}>#{task.merged_into_id}</Link>
            </p>
          ) : null}
          <InlineTitle task={task} onSave={(title) => patch({ title })} />
          <div className="detail__chips">
            <CategoryChip category={task.category} />
            <PriorityBadge priority={task.priority} />
            {task.needs_review ? <span className="badge badge--review">{t("task.needsReview")}</span> : null}
            {task.labels.map((label) => (
              <span key={label} className="label-tag">
                {label}
              </span>
            ))}
          </div>
          <Description task={task} onSave={(description) => patch({ description })} />

          <section className="detail__section" aria-labelledby="sec-messages">
            <h2 id="sec-messages">
              {t("task.messages")} <span className="muted">{messages.length}</span>
            </h2>
            {messages.length === 0 ? (
              <p className="muted">{t("task.noMessages")}</p>
            ) : (
              <ul className="feed feed--compact">
                {messages.map((message) => (
                  <li key={message.id} className="feed__item" data-message-id={message.id}>
                    <Avatar name={message.author ?? message.channel.name} size={24} />
                    <div className="feed__main">
                      <div className="feed__head">
                        <span className="feed__author">{message.author ?? t("inbox.anonymous")}</span>
                        <ChannelTag channel={message.channel} />
                        <RelativeTime iso={message.sent_at} />
                        {message.id === task.source_message_id ? <span className="badge">{t("task.source")}</span> : null}
                      </div>
                      <p className="feed__content">{message.content}</p>
                    </div>
                  </li>
                ))}
              </ul>
            )}
          </section>

          <section className="detail__section" aria-labelledby="sec-history">
            <h2 id="sec-history">
              {t("task.history")} <span className="muted">{issues.length}</span>
            </h2>
            {issues.length === 0 ? (
              <p className="muted">{t("task.noHistory")}</p>
            ) : (
              <ul className="history">
                {issues.map((issue) => (
                  <IssueRow key={issue.id} issue={issue} />
                ))}
              </ul>
            )}
          </section>

          <section className="detail__section" aria-labelledby="sec-activity">
            <h2 id="sec-activity">{t("task.activity")}</h2>
            {activity.length === 0 ? (
              <p className="muted">{t("task.noActivity")}</p>
            ) : (
              <ol className="activity">
                {activity.map((item) => (
                  <ActivityRow key={item.id} item={item} />
                ))}
              </ol>
            )}
          </section>

          <section className="detail__section" aria-labelledby="sec-exports">
            <h2 id="sec-exports">{t("task.exports")}</h2>
            {exports.length === 0 ? (
              <p className="muted">{t("task.noExports")}</p>
            ) : (
              <ul className="history">
                {exports.map((item) => (
                  <ExportRow key={item.id} item={item} />
                ))}
              </ul>
            )}
          </section>
        </div>
        <aside className="detail__side" aria-label={t("task.properties")}>
          <Properties task={task} onPatch={patch} />
          <p className="muted detail__count">{plural("count.messages", task.message_count)}</p>
        </aside>
      </div>
      <MergeDialog source={task} open={merging} onClose={() => setMerging(false)} onMerged={(target) => navigate(`/tasks/${target.id}`)} />
      <Dialog
        open={confirmDelete}
        onClose={() => setConfirmDelete(false)}
        title={t("task.deleteTitle", { id: task.id })}
        footer={
          <>
            <button type="button" className="btn btn--ghost" onClick={() => setConfirmDelete(false)}>
              {t("action.cancel")}
            </button>
            <button
              type="button"
              className="btn btn--danger"
              disabled={remove.isPending}
              onClick={() =>
                remove.mutate(task.id, {
                  onSuccess: () => {
                    toast.push({ kind: "success", text: t("task.deleted", { id: task.id }) });
                    navigate("/board");
                  },
                  onError: (error) => toast.push({ kind: "error", text: errorText(error, t("state.networkError")) }),
                })
              }
            >
              {t("action.delete")}
            </button>
          </>
        }
      >
        <p>{t("task.deleteConfirm")}</p>
      </Dialog>
    </div>
  );
}
