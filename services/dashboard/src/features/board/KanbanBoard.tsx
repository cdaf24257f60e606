import {
  DndContext,
  DragOverlay,
  PointerSensor,
  useDroppable,
  useSensor,
  useSensors,
  type Announcements,
  type DragEndEvent,
  type DragStartEvent,
} from "@dnd-kit/core";
import { useCallback, useId, useState } from "react";
import { useTaskList, useUpdateTask } from "../../api/queries";
import { useCan } from "../../auth/session";
import { TASK_STATUSES, type Task, type TaskStatus } from "../../api/types";
import { StatusIcon } from "../../components/Badges";
import { QueryView } from "../../components/QueryView";
import { LoadMore, errorText } from "../../components/States";
import { useToast } from "../../components/Toasts";
import { useI18n } from "../../i18n/I18nProvider";
import { toTaskQuery, type TaskFilters } from "../tasks/filters";
import { TaskCard, TaskCardBody } from "./TaskCard";
import "./KanbanBoard.css";

function Column({
  status,
  filters,
  onMove,
  instructionsId,
  refocusId,
  onRefocused,
}: {
  status: TaskStatus;
  filters: TaskFilters;
  /** Missing for viewers: cards are links only. */
  onMove: ((task: Task, direction: -1 | 1) => void) | null;
  instructionsId: string;
  refocusId: number | null;
  onRefocused: () => void;
}) {
  const { t, label, formatNumber } = useI18n();
  const query = useTaskList({ ...toTaskQuery(filters), status: [status] });
  const { setNodeRef, isOver } = useDroppable({ id: status });
  const tasks = query.data?.pages.flatMap((page) => page.data) ?? [];
  const headingId = useId();
  return (
    <section
      ref={setNodeRef}
      className={`board__column${isOver ? " board__column--over" : ""}`}
      aria-labelledby={headingId}
      data-status={status}
      data-testid={`column-${status}`}
    >
      <header className="board__column-header">
        <StatusIcon status={status} />
        <h2 id={headingId}>{label("status", status)}</h2>
        <span className="board__count">
          {query.isPending ? "…" : formatNumber(tasks.length) + (query.hasNextPage ? "+" : "")}
        </span>
      </header>
      <QueryView
        query={query}
        loading={
          <div className="board__placeholder" aria-busy="true">
            <div className="skeleton skeleton--card" />
            <div className="skeleton skeleton--card" />
          </div>
        }
        empty={<p className="board__empty">{t("board.emptyColumn")}</p>}
      >
        {() => (
          <ul className="board__list">
            {tasks.map((task) => (
              <TaskCard
                key={task.id}
                task={task}
                onMove={onMove}
                describedBy={instructionsId}
                refocus={refocusId === task.id}
                onRefocused={onRefocused}
              />
            ))}
          </ul>
        )}
      </QueryView>
      <LoadMore query={query} />
    </section>
  );
}

export function KanbanBoard({ filters }: { filters: TaskFilters }) {
  const { t, label } = useI18n();
  const update = useUpdateTask();
  const toast = useToast();
  const canEdit = useCan("editor");
  const instructionsId = useId();
  const [dragging, setDragging] = useState<Task | null>(null);
  const [announcement, setAnnouncement] = useState("");
  // A card moved by keyboard takes focus again where it lands.
  const [refocusId, setRefocusId] = useState<number | null>(null);
  const onRefocused = useCallback(() => setRefocusId(null), []);
  const columns = filters.status.length ? TASK_STATUSES.filter((s) => filters.status.includes(s)) : [...TASK_STATUSES];
  const sensors = useSensors(useSensor(PointerSensor, { activationConstraint: { distance: 5 } }));

  const move = (task: Task, status: TaskStatus) => {
    if (task.status === status) return;
    setAnnouncement(t("board.moved", { id: task.id, status: label("status", status) }));
    update.mutate(
      { id: task.id, patch: { status } },
      {
        onError: (error) => toast.push({ kind: "error", text: `${t("board.moveFailed")}: ${errorText(error, t("state.networkError"))}` }),
      },
    );
  };

  const moveBy = (task: Task, direction: -1 | 1) => {
    const index = TASK_STATUSES.indexOf(task.status);
    const target = TASK_STATUSES[index + direction];
    if (index < 0 || !target) return;
    setRefocusId(task.id);
    move(task, target);
  };

  const announcements: Announcements = {
    onDragStart: ({ active }) => t("board.dragStart", { id: String(active.id) }),
    onDragOver: ({ active, over }) =>
      over ? t("board.dragOver", { id: String(active.id), status: label("status", String(over.id)) }) : "",
    onDragEnd: ({ active, over }) =>
      over ? t("board.moved", { id: String(active.id), status: label("status", String(over.id)) }) : t("board.dragCancel"),
    onDragCancel: () => t("board.dragCancel"),
  };

  return (
    <DndContext
      sensors={sensors}
      accessibility={{ announcements, screenReaderInstructions: { draggable: t("board.instructions") } }}
      onDragStart={(event: DragStartEvent) => setDragging((event.active.data.current?.task as Task) ?? null)}
      onDragCancel={() => setDragging(null)}
      onDragEnd={(event: DragEndEvent) => {
        setDragging(null);
        const task = event.active.data.current?.task as Task | undefined;
        const status = event.over?.id as TaskStatus | undefined;
        if (task && status) move(task, status);
      }}
    >
      {canEdit ? (
        <p id={instructionsId} className="visually-hidden">
          {t("board.instructions")}
        </p>
      ) : null}
      <div className="visually-hidden" role="status" aria-live="polite">
        {announcement}
      </div>
      <div className="board" data-testid="board">
        {columns.map((status) => (
          <Column
            key={status}
            status={status}
            filters={filters}
            onMove={canEdit ? moveBy : null}
            instructionsId={instructionsId}
            refocusId={refocusId}
            onRefocused={onRefocused}
          />
        ))}
      </div>
      <DragOverlay dropAnimation={null}>
        {dragging ? (
          <div className={`card card--overlay prio-edge--${dragging.priority}`}>
            <TaskCardBody task={dragging} />
          </div>
        ) : null}
      </DragOverlay>
    </DndContext>
  );
}
