import { useState, type ReactNode } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { useTask, useUpdateTask } from "../../api/queries";
import { useCan } from "../../auth/session";
import type { TaskPatch } from "../../api/types";
import { CategoryChip, PriorityBadge } from "../../components/Badges";
import { Icon } from "../../components/Icon";
import { ReadOnlyBadge } from "../../components/ReadOnlyBadge";
import { QueryView } from "../../components/QueryView";
import { errorText } from "../../components/States";
import { useToast } from "../../components/Toasts";
import { usePageTitle } from "../../hooks/usePageTitle";
import { useI18n } from "../../i18n/I18nProvider";
import { MergeDialog } from "../tasks/MergeDialog";
import { ActivityLog } from "./ActivityLog";
import { ClassificationHistory } from "./ClassificationHistory";
import { DeleteTaskDialog } from "./DeleteTaskDialog";
import { Description } from "./Description";
import { ExportList } from "./ExportList";
import { InlineTitle } from "./InlineTitle";
import { TaskMessages } from "./TaskMessages";
import { TaskProperties } from "./TaskProperties";
import "./TaskPage.css";

/** One task: title, description and properties to edit; its messages, classifications, activity, exports. */
export function TaskPage() {
  const { t, plural } = useI18n();
  const params = useParams();
  const id = Number(params.id);
  const navigate = useNavigate();
  const toast = useToast();
  const query = useTask(id);
  const update = useUpdateTask();
  const [merging, setMerging] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const canEdit = useCan("editor");
  usePageTitle(query.data ? `#${query.data.id} ${query.data.title}` : t("task.title"));

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

  return (
    <QueryView query={query} frame={(state) => <BarePage header={back}>{state}</BarePage>}>
      {(task) => (
        <div className="page">
          <header className="page__header">
            {back}
            <span className="breadcrumb muted">#{task.id}</span>
            <span className="page__spacer" />
            {canEdit ? (
              <>
                <button type="button" className="btn" onClick={() => setMerging(true)}>
                  <Icon name="merge" /> {t("action.merge")}
                </button>
                <button type="button" className="btn btn--danger" onClick={() => setConfirmDelete(true)}>
                  <Icon name="trash" /> {t("action.delete")}
                </button>
              </>
            ) : (
              <ReadOnlyBadge />
            )}
          </header>
          <div className="page__body detail">
            <div className="detail__main">
              {task.merged_into_id ? (
                <p className="notice">
                  {t("task.mergedInto")} <Link to={`/tasks/${task.merged_into_id}`}>#{task.merged_into_id}</Link>
                </p>
              ) : null}
              <InlineTitle task={task} onSave={canEdit ? (title) => patch({ title }) : null} />
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
              <Description task={task} onSave={canEdit ? (description) => patch({ description }) : null} />
              <TaskMessages task={task} />
              <ClassificationHistory task={task} />
              <ActivityLog task={task} />
              <ExportList task={task} canEdit={canEdit} />
            </div>
            <aside className="detail__side" aria-label={t("task.properties")}>
              {/* A disabled fieldset disables every control in it: viewers read the properties. */}
              <fieldset className="detail__props" disabled={!canEdit}>
                <TaskProperties task={task} onPatch={patch} />
              </fieldset>
              <p className="muted detail__count">{plural("count.messages", task.message_count)}</p>
            </aside>
          </div>
          {canEdit ? (
            <>
              <MergeDialog
                source={task}
                open={merging}
                onClose={() => setMerging(false)}
                onMerged={(target) => void navigate(`/tasks/${target.id}`)}
              />
              <DeleteTaskDialog task={task} open={confirmDelete} onClose={() => setConfirmDelete(false)} />
            </>
          ) : null}
        </div>
      )}
    </QueryView>
  );
}

/** The page before the task is there: the way back and a loading or error state. */
function BarePage({ header, children }: { header: ReactNode; children: ReactNode }) {
  return (
    <div className="page">
      <header className="page__header">{header}</header>
      <div className="page__body">{children}</div>
    </div>
  );
}
