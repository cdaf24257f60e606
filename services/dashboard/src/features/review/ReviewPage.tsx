import { useEffect, useMemo, useState } from "react";
import { useNavigate } from "react-router";
import { useTask, useTaskList, useUpdateTask } from "../../api/queries";
import { CATEGORIES, PRIORITIES, type Category, type Priority, type Task, type TaskPatch, type TaskQuery } from "../../api/types";
import { useCan } from "../../auth/session";
import { Avatar, CategoryChip, ChannelTag, ConfidenceMeter, PriorityIcon, RelativeTime } from "../../components/Badges";
import "../../components/Feed.css";
import { Icon } from "../../components/Icon";
import { ReadOnlyBadge } from "../../components/ReadOnlyBadge";
import { QueryView } from "../../components/QueryView";
import { EmptyState, errorText } from "../../components/States";
import { useToast } from "../../components/Toasts";
import { usePageTitle } from "../../hooks/usePageTitle";
import { useI18n } from "../../i18n/I18nProvider";
import { MergeDialog } from "../tasks/MergeDialog";
import { CATEGORY_KEYS, PRIORITY_KEYS, useReviewShortcuts } from "./useReviewShortcuts";
import "./ReviewPage.css";

export const REVIEW_QUERY: TaskQuery = { needs_review: true, sort: "-created_at", limit: 100 };

const keyOf = <T extends string>(map: Record<string, T>, value: T) =>
  Object.entries(map).find(([, v]) => v === value)?.[0] ?? "";

function ReviewDetail({
  task,
  onPatch,
  onApprove,
  onNoise,
  onMerge,
  readOnly,
}: {
  task: Task;
  onPatch: (patch: TaskPatch) => void;
  onApprove: () => void;
  onNoise: () => void;
  onMerge: () => void;
  /** A viewer sees the classification but cannot change it. */
  readOnly: boolean;
}) {
  const { t, label, formatNumber } = useI18n();
  const detail = useTask(task.id);
  const source = detail.data?.messages?.find((message) => message.id === task.source_message_id) ?? detail.data?.messages?.[0];
  const latest = detail.data?.issues?.[0];

  return (
    <article className="review-detail" aria-labelledby="review-title" data-testid="review-detail" data-task-id={task.id}>
      <header className="review-detail__header">
        <span className="card__id">#{task.id}</span>
        <h2 id="review-title">{task.title}</h2>
      </header>
      {task.description ? <p className="review-detail__description">{task.description}</p> : null}

      {source ? (
        <blockquote className="quote">
          <div className="quote__head">
            <Avatar name={source.author ?? source.channel.name} size={20} />
            <span className="feed__author">{source.author ?? t("inbox.anonymous")}</span>
            <ChannelTag channel={source.channel} />
            <RelativeTime iso={source.sent_at} />
          </div>
          <p>{source.content}</p>
        </blockquote>
      ) : detail.isPending ? (
        <div className="skeleton skeleton--block" />
      ) : null}

      <dl className="review-facts">
        <div>
          <dt>{t("field.confidence")}</dt>
          <dd>
            <ConfidenceMeter value={task.confidence} />
          </dd>
        </div>
        {latest ? (
          <div>
            <dt>{t("field.model")}</dt>
            <dd>
              <span className="model-tag">{latest.model}</span>{" "}
              <span className="muted">{formatNumber(Math.round(latest.latency_ms))} ms</span>
            </dd>
          </div>
        ) : null}
      </dl>

      <fieldset className="picker" disabled={readOnly}>
        <legend>{t("field.category")}</legend>
        <div className="picker__options">
          {CATEGORIES.filter((value) => value !== "noise").map((value) => (
            <button
              key={value}
              type="button"
              className={`picker__option${task.category === value ? " picker__option--on" : ""}`}
              aria-pressed={task.category === value}
              onClick={() => onPatch({ category: value })}
              data-testid={`set-category-${value}`}
            >
              <span className={`dot cat--${value}`} aria-hidden="true" />
              {label("category", value)}
              <kbd>{keyOf(CATEGORY_KEYS, value)}</kbd>
            </button>
          ))}
        </div>
      </fieldset>
      <fieldset className="picker" disabled={readOnly}>
        <legend>{t("field.priority")}</legend>
        <div className="picker__options">
          {PRIORITIES.map((value) => (
            <button
              key={value}
              type="button"
              className={`picker__option${task.priority === value ? " picker__option--on" : ""}`}
              aria-pressed={task.priority === value}
              onClick={() => onPatch({ priority: value })}
              data-testid={`set-priority-${value}`}
            >
              <PriorityIcon priority={value} />
              {label("priority", value)}
              <kbd>{keyOf(PRIORITY_KEYS, value)}</kbd>
            </button>
          ))}
        </div>
      </fieldset>

      {readOnly ? (
        <div className="review-actions">
          <ReadOnlyBadge />
        </div>
      ) : (
        <div className="review-actions">
          <button type="button" className="btn btn--primary" onClick={onApprove} data-testid="review-approve">
            <Icon name="check" /> {t("review.approve")} <kbd className="btn__kbd">A</kbd>
          </button>
          <button type="button" className="btn" onClick={onNoise} data-testid="review-noise">
            <Icon name="noise" /> {t("review.noise")} <kbd className="btn__kbd">N</kbd>
          </button>
          <button type="button" className="btn" onClick={onMerge} data-testid="review-merge">
            <Icon name="merge" /> {t("action.merge")} <kbd className="btn__kbd">M</kbd>
          </button>
        </div>
      )}
    </article>
  );
}

export function ReviewPage() {
  const { t, label, plural } = useI18n();
  const navigate = useNavigate();
  const toast = useToast();
  const list = useTaskList(REVIEW_QUERY);
  const update = useUpdateTask();
  const queue = useMemo(() => list.data?.pages.flatMap((page) => page.data) ?? [], [list.data]);
  const [selectedId, setSelectedId] = useState<number | null>(null);
  const [lastIndex, setLastIndex] = useState(0);
  // A corrected task can leave the queue at once (the server treats a correction as a review);
  // it stays on screen, selected, until the reviewer moves on, so the next key still acts on it.
  const [held, setHeld] = useState<{ task: Task; index: number } | null>(null);
  const [merging, setMerging] = useState(false);
  const [announcement, setAnnouncement] = useState("");
  const canEdit = useCan("editor");
  usePageTitle(t("nav.review"));

  const tasks = useMemo(() => {
    if (!held || queue.some((task) => task.id === held.task.id)) return queue;
    const rows = [...queue];
    rows.splice(Math.min(held.index, rows.length), 0, held.task);
    return rows;
  }, [queue, held]);

  // Follow the selection by id; when the selected task leaves the queue, take its neighbour.
  const index = tasks.findIndex((task) => task.id === selectedId);
  const selected: Task | undefined = index >= 0 ? tasks[index] : tasks[Math.min(lastIndex, tasks.length - 1)];
  // Adjusted during render (state derived from the queue), so no frame shows the old selection.
  if (selected && selected.id !== selectedId) setSelectedId(selected.id);
  if (index >= 0 && index !== lastIndex) setLastIndex(index);

  useEffect(() => {
    if (selected) document.querySelector(`[data-review-id="${selected.id}"]`)?.scrollIntoView({ block: "nearest" });
  }, [selected]);

  const patch = (task: Task, body: TaskPatch, message: string, options: { hold?: boolean } = {}) => {
    setAnnouncement(message);
    const position = tasks.findIndex((row) => row.id === task.id);
    setHeld(options.hold ? { task: { ...task, ...body } as Task, index: position } : null);
    update.mutate(
      { id: task.id, patch: body },
      {
        // TanStack calls this for the newest mutate() only, so an older answer never lands here.
        onSuccess: (saved) =>
          setHeld((current) => (current && current.task.id === saved.id ? { ...current, task: saved } : current)),
        onError: (error) => toast.push({ kind: "error", text: errorText(error, t("state.networkError")) }),
      },
    );
  };

  const select = (id: number) => {
    setHeld((current) => (current && current.task.id !== id ? null : current));
    setSelectedId(id);
  };

  const move = (step: 1 | -1) => {
    if (!tasks.length) return;
    const from = selected ? tasks.findIndex((task) => task.id === selected.id) : -1;
    const next = tasks[Math.max(0, Math.min(tasks.length - 1, from + step))];
    if (next) select(next.id);
  };

  const browse = {
    next: () => move(1),
    previous: () => move(-1),
    open: () => selected && navigate(`/tasks/${selected.id}`),
  };
  const actions = {
    next: () => move(1),
    previous: () => move(-1),
    approve: () => selected && patch(selected, { needs_review: false }, t("review.approved", { id: selected.id })),
    noise: () =>
      selected &&
      patch(selected, { category: "noise", status: "closed", needs_review: false }, t("review.dismissed", { id: selected.id })),
    setPriority: (priority: Priority) =>
      selected &&
      selected.priority !== priority &&
      patch(selected, { priority }, t("review.changed", { id: selected.id, value: label("priority", priority) }), { hold: true }),
    setCategory: (category: Category) =>
      selected &&
      selected.category !== category &&
      patch(selected, { category }, t("review.changed", { id: selected.id, value: label("category", category) }), { hold: true }),
    merge: () => selected && setMerging(true),
    open: () => selected && navigate(`/tasks/${selected.id}`),
  };
  // Viewers keep the keys that only move around.
  const none = () => undefined;
  useReviewShortcuts(
    canEdit ? actions : { ...browse, approve: none, noise: none, setPriority: none, setCategory: none, merge: none },
    !merging,
  );

  return (
    <div className="page">
      <header className="page__header">
        <h1>{t("nav.review")}</h1>
        {list.data ? <span className="page__subtitle">{plural("count.tasks", queue.length)}</span> : null}
        <span className="page__spacer" />
        <p className="shortcut-hint" aria-hidden="true">
          <kbd>j</kbd>/<kbd>k</kbd> {t("help.next").toLowerCase()} · <kbd>a</kbd> {t("review.approve").toLowerCase()} · <kbd>n</kbd>{" "}
          {t("category.noise").toLowerCase()} · <kbd>1</kbd>–<kbd>4</kbd> {t("field.priority").toLowerCase()} · <kbd>?</kbd>
        </p>
      </header>
      <div className="visually-hidden" role="status" aria-live="polite">
        {announcement}
      </div>
      <div className="page__body page__body--split">
        <QueryView
          query={list}
          isEmpty={() => tasks.length === 0}
          empty={
            <EmptyState icon="review" title={t("review.empty")}>
              {t("review.emptyHint")}
            </EmptyState>
          }
        >
          {() => (
            <>
              <nav className="review-list" aria-label={t("review.queue")}>
                <ul>
                  {tasks.map((task) => (
                    <li key={task.id}>
                      <button
                        type="button"
                        className={`review-item${task.id === selected?.id ? " review-item--selected" : ""}`}
                        aria-current={task.id === selected?.id ? "true" : undefined}
                        data-review-id={task.id}
                        data-testid="review-item"
                        onClick={() => select(task.id)}
                      >
                        <PriorityIcon priority={task.priority} />
                        <span className="review-item__main">
                          <span className="review-item__title">{task.title}</span>
                          <span className="review-item__meta">
                            <span className="card__id">#{task.id}</span>
                            {task.needs_review ? null : <span className="badge badge--done">{t("task.reviewed")}</span>}
                            <CategoryChip category={task.category} size="sm" />
                            <ConfidenceMeter value={task.confidence} />
                          </span>
                        </span>
                        <RelativeTime iso={task.created_at} />
                      </button>
                    </li>
                  ))}
                </ul>
              </nav>
              {selected ? (
                <ReviewDetail
                  task={selected}
                  onPatch={(body) => {
                    if (body.category) actions.setCategory(body.category);
                    else if (body.priority) actions.setPriority(body.priority);
                  }}
                  onApprove={actions.approve}
                  onNoise={actions.noise}
                  onMerge={actions.merge}
                  readOnly={!canEdit}
                />
              ) : null}
            </>
          )}
        </QueryView>
      </div>
      <MergeDialog
        source={selected ?? null}
        open={merging}
        onClose={() => setMerging(false)}
        onMerged={() => setHeld(null)}
      />
    </div>
  );
}
