import { useState } from "react";
import { useCan } from "../../auth/session";
import { Icon } from "../../components/Icon";
import { ReadOnlyBadge } from "../../components/ReadOnlyBadge";
import { useHotkeys } from "../../hooks/useHotkeys";
import { useI18n } from "../../i18n/I18nProvider";
import { NewTaskDialog } from "../tasks/NewTaskDialog";
import { TaskFilterBar } from "../tasks/TaskFilterBar";
import { useTaskFilters } from "../tasks/useTaskFilters";
import { usePageTitle } from "../../hooks/usePageTitle";
import { KanbanBoard } from "./KanbanBoard";
import { TaskTable } from "./TaskTable";
import "./BoardPage.css";

export function BoardPage() {
  const { t } = useI18n();
  const filters = useTaskFilters();
  const [creating, setCreating] = useState(false);
  const canEdit = useCan("editor");
  usePageTitle(t("nav.board"));
  useHotkeys(canEdit ? { c: () => setCreating(true) } : {});

  return (
    <div className="page page--board">
      <header className="page__header">
        <h1>{t("nav.board")}</h1>
        <div className="segmented" role="group" aria-label={t("board.view")}>
          <button
            type="button"
            aria-pressed={filters.view === "board"}
            onClick={() => filters.setView("board")}
            data-testid="view-board"
          >
            <Icon name="board" /> {t("board.viewBoard")}
          </button>
          <button
            type="button"
            aria-pressed={filters.view === "table"}
            onClick={() => filters.setView("table")}
            data-testid="view-table"
          >
            <Icon name="table" /> {t("board.viewTable")}
          </button>
        </div>
        <span className="page__spacer" />
        {canEdit ? (
          <button type="button" className="btn btn--primary" onClick={() => setCreating(true)}>
            <Icon name="plus" /> {t("task.new")}
            <kbd className="btn__kbd">C</kbd>
          </button>
        ) : (
          <ReadOnlyBadge />
        )}
      </header>
      <TaskFilterBar api={filters} />
      <div className="page__body page__body--board">
        {filters.view === "table" ? (
          <TaskTable filters={filters.filters} onSort={(sort) => filters.setFilters({ sort })} />
        ) : (
          <KanbanBoard filters={filters.filters} />
        )}
      </div>
      {canEdit ? <NewTaskDialog open={creating} onClose={() => setCreating(false)} /> : null}
    </div>
  );
}
