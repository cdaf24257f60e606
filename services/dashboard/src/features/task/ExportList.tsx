import type { TaskDetail, TaskExport } from "../../api/types";
import { RelativeTime } from "../../components/Badges";
import "../../components/Feed.css";
import { Icon } from "../../components/Icon";
import { Popover } from "../../components/Popover";
import { errorText } from "../../components/States";
import { useToast } from "../../components/Toasts";
import type { MessageKey } from "../../i18n/en";
import { useI18n } from "../../i18n/I18nProvider";
import { useExportChoices, useExportTask, useRetryExport } from "../exports/queries";
import { DetailSection } from "./DetailSection";
import "../exports/Exports.css";
import "./HistoryList.css";

/** Where the task was sent (issue trackers) and how that went; export it somewhere else, or retry. */
export function ExportList({ task, canEdit }: { task: TaskDetail; canEdit: boolean }) {
  const { t } = useI18n();
  const exports = task.exports ?? [];
  return (
    <DetailSection
      id="sec-exports"
      title={t("task.exports")}
      empty={exports.length ? null : t("task.noExports")}
      actions={canEdit ? <ExportTo task={task} /> : null}
    >
      <ul className="history">
        {exports.map((item) => (
          <ExportRow key={item.id} item={item} canEdit={canEdit} />
        ))}
      </ul>
    </DetailSection>
  );
}

function ExportTo({ task }: { task: TaskDetail }) {
  const { t } = useI18n();
  const toast = useToast();
  const choices = useExportChoices();
  const exportTask = useExportTask();
  const taken = new Set((task.exports ?? []).map((item) => item.target_id));
  const open = (choices.data ?? []).filter((target) => !taken.has(target.id));
  if (!choices.data?.length) return null;
  return (
    <Popover label={t("exports.exportTo")} buttonClassName="btn btn--ghost btn--sm" buttonContent={<>{t("exports.exportTo")}</>} align="end">
      {(close) =>
        open.length ? (
          <ul className="menu-list" role="menu">
            {open.map((target) => (
              <li key={target.id} role="none">
                <button
                  type="button"
                  role="menuitem"
                  className="menu-item export-choice"
                  onClick={() => {
                    close();
                    exportTask.mutate(
                      { taskId: task.id, targetId: target.id },
                      {
                        onSuccess: () => toast.push({ kind: "success", text: t("exports.queued", { target: target.name }) }),
                        onError: (error) => toast.push({ kind: "error", text: errorText(error, t("state.networkError")) }),
                      },
                    );
                  }}
                >
                  <span className="model-tag">{t(`exports.kind.${target.kind}`)}</span> {target.name}
                </button>
              </li>
            ))}
          </ul>
        ) : (
          <p className="muted">{t("exports.everywhere")}</p>
        )
      }
    </Popover>
  );
}

function ExportRow({ item, canEdit }: { item: TaskExport; canEdit: boolean }) {
  const { t } = useI18n();
  const toast = useToast();
  const retry = useRetryExport();
  const retryable = item.status === "failed" || item.status === "retrying";
  const state = ["pending", "retrying", "exported", "failed"].includes(item.status) ? item.status : "pending";
  return (
    <li className="history__item" data-export-id={item.id}>
      <span className="model-tag">{t(`exports.kind.${item.tracker}` as MessageKey)}</span>
      {item.target_name ? <span>{item.target_name}</span> : null}
      <span className={`pill pill--export-${item.status}`}>{t(`exports.state.${state}` as MessageKey)}</span>
      {item.url ? (
        <a href={item.url} target="_blank" rel="noreferrer" className="task-link">
          {item.external_id ?? item.url} <Icon name="external" size={12} />
        </a>
      ) : (
        <span className="muted">{item.external_id}</span>
      )}
      {item.error ? (
        <span className="export-error" title={item.error}>
          {item.error}
        </span>
      ) : null}
      <span className="feed__spacer" />
      {canEdit && retryable ? (
        <button
          type="button"
          className="btn btn--ghost btn--sm"
          disabled={retry.isPending}
          onClick={() =>
            retry.mutate(
              { taskId: item.task_id, exportId: item.id },
              { onError: (error) => toast.push({ kind: "error", text: errorText(error, t("state.networkError")) }) },
            )
          }
        >
          {t("action.retryNow")}
        </button>
      ) : null}
      <RelativeTime iso={item.updated_at ?? item.created_at} />
    </li>
  );
}
