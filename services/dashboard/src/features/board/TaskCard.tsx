import { useDraggable } from "@dnd-kit/core";
import { useEffect, useRef, type KeyboardEvent } from "react";
import { Link } from "react-router";
import type { Task } from "../../api/types";
import { Avatar, CategoryChip, ChannelTag, PriorityBadge } from "../../components/Badges";
import { Icon } from "../../components/Icon";
import { useI18n } from "../../i18n/I18nProvider";
import "./TaskCard.css";

export function TaskCardBody({ task }: { task: Task }) {
  const { t, plural } = useI18n();
  return (
    <>
      <div className="card__top">
        <span className="card__id">#{task.id}</span>
        {task.needs_review ? <span className="badge badge--review">{t("task.needsReview")}</span> : null}
        <span className="card__spacer" />
        {task.assignee ? <Avatar name={task.assignee} size={18} /> : null}
      </div>
      <p className="card__title">{task.title}</p>
      <div className="card__meta">
        <PriorityBadge priority={task.priority} showLabel={false} />
        <CategoryChip category={task.category} size="sm" />
        {task.labels.slice(0, 2).map((label) => (
          <span key={label} className="label-tag">
            {label}
          </span>
        ))}
        <span className="card__spacer" />
        {task.message_count > 1 ? (
          <span className="card__count" title={plural("count.messages", task.message_count)}>
            <Icon name="message" size={12} />
            {task.message_count}
          </span>
        ) : null}
        <ChannelTag channel={task.channel} />
      </div>
    </>
  );
}

/**
 * A board card: a link to the task, draggable with a pointer; Shift+←/→ moves it between columns
 * for keyboard users (announced by the board).
 */
export function TaskCard({
  task,
  onMove,
  describedBy,
  refocus,
  onRefocused,
}: {
  task: Task;
  /** Missing for viewers, who cannot move tasks: the card is a plain link. */
  onMove: ((task: Task, direction: -1 | 1) => void) | null;
  describedBy: string;
  /** This card was just moved by keyboard: it takes focus again where it lands. */
  refocus: boolean;
  onRefocused: () => void;
}) {
  const { attributes, listeners, setNodeRef, isDragging } = useDraggable({ id: task.id, data: { task }, disabled: !onMove });
  const element = useRef<HTMLAnchorElement | null>(null);
  useEffect(() => {
    if (refocus && element.current && document.activeElement !== element.current) {
      element.current.focus();
      onRefocused();
    }
  }, [refocus, onRefocused]);
  const onKeyDown = (event: KeyboardEvent<HTMLAnchorElement>) => {
    if (onMove && event.shiftKey && (event.key === "ArrowLeft" || event.key === "ArrowRight")) {
      event.preventDefault();
      onMove(task, event.key === "ArrowLeft" ? -1 : 1);
    }
  };
  return (
    <li className="board__item">
      <Link
        ref={(node) => {
          setNodeRef(node);
          element.current = node;
        }}
        to={`/tasks/${task.id}`}
        className={`card prio-edge--${task.priority}${isDragging ? " card--dragging" : ""}`}
        data-task-id={task.id}
        data-testid="task-card"
        draggable={false}
        aria-describedby={onMove ? describedBy : undefined}
        aria-roledescription={onMove ? attributes["aria-roledescription"] : undefined}
        onKeyDown={onKeyDown}
        {...(onMove ? listeners : {})}
      >
        <TaskCardBody task={task} />
      </Link>
    </li>
  );
}
