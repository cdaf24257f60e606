import { Link } from "react-router";
import { useTaskList } from "../../api/queries";
import type { TaskSort } from "../../api/types";
import { Avatar, CategoryChip, ChannelTag, ConfidenceMeter, PriorityBadge, RelativeTime, StatusLabel } from "../../components/Badges";
import { QueryView } from "../../components/QueryView";
import { EmptyState, LoadMore } from "../../components/States";
import { useI18n } from "../../i18n/I18nProvider";
import { toTaskQuery, type TaskFilters } from "../tasks/filters";
import "./TaskTable.css";

function SortHeader({
  label,
  asc,
  desc,
  sort,
  onSort,
}: {
  label: string;
  asc: TaskSort | null;
  desc: TaskSort;
  sort: TaskSort;
  onSort: (sort: TaskSort) => void;
}) {
  const active = sort === desc || sort === asc;
  const direction = sort === desc ? "descending" : sort === asc ? "ascending" : "none";
  return (
    <th scope="col" aria-sort={direction}>
      <button
        type="button"
        className={`th-sort${active ? " th-sort--active" : ""}`}
        onClick={() => onSort(sort === desc && asc ? asc : desc)}
      >
        {label}
        <span aria-hidden="true">{sort === desc ? "↓" : sort === asc ? "↑" : ""}</span>
      </button>
    </th>
  );
}

export function TaskTable({ filters, onSort }: { filters: TaskFilters; onSort: (sort: TaskSort) => void }) {
  const { t } = useI18n();
  const query = useTaskList(toTaskQuery(filters));
  return (
    <QueryView query={query} empty={<EmptyState icon="board" title={t("board.empty")}>{t("board.emptyHint")}</EmptyState>}>
      {(data) => {
        const tasks = data.pages.flatMap((page) => page.data);
        return (
          <div className="table-wrap">
            <table className="table" data-testid="task-table">
              <caption className="visually-hidden">{t("board.tableCaption")}</caption>
              <thead>
                <tr>
                  <th scope="col" className="table__id">
                    ID
                  </th>
                  <th scope="col">{t("field.title")}</th>
                  <th scope="col">{t("field.status")}</th>
                  <SortHeader label={t("field.priority")} asc="priority" desc="-priority" sort={filters.sort} onSort={onSort} />
                  <th scope="col">{t("field.category")}</th>
                  <th scope="col">{t("field.assignee")}</th>
                  <th scope="col">{t("field.channel")}</th>
                  <th scope="col">{t("field.confidence")}</th>
                  <SortHeader label={t("field.created")} asc="created_at" desc="-created_at" sort={filters.sort} onSort={onSort} />
                  <SortHeader label={t("field.updated")} asc={null} desc="-updated_at" sort={filters.sort} onSort={onSort} />
                </tr>
              </thead>
              <tbody>
                {tasks.map((task) => (
                  <tr key={task.id} data-task-id={task.id}>
                    <td className="table__id">#{task.id}</td>
                    <td className="table__title">
                      <Link to={`/tasks/${task.id}`}>{task.title}</Link>
                      {task.needs_review ? <span className="badge badge--review">{t("task.needsReview")}</span> : null}
                    </td>
                    <td>
                      <StatusLabel status={task.status} />
                    </td>
                    <td>
                      <PriorityBadge priority={task.priority} />
                    </td>
                    <td>
                      <CategoryChip category={task.category} size="sm" />
                    </td>
                    <td>
                      {task.assignee ? (
                        <span className="cell-user">
                          <Avatar name={task.assignee} size={18} />
                          {task.assignee}
                        </span>
                      ) : (
                        <span className="muted">—</span>
                      )}
                    </td>
                    <td>
                      <ChannelTag channel={task.channel} />
                    </td>
                    <td>
                      <ConfidenceMeter value={task.confidence} />
                    </td>
                    <td className="muted">
                      <RelativeTime iso={task.created_at} />
                    </td>
                    <td className="muted">
                      <RelativeTime iso={task.updated_at} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <LoadMore query={query} />
          </div>
        );
      }}
    </QueryView>
  );
}
