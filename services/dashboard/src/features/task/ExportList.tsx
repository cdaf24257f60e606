import type { TaskDetail, TaskExport } from "../../api/types";
import { RelativeTime } from "../../components/Badges";
import "../../components/Feed.css";
import { Icon } from "../../components/Icon";
import { useI18n } from "../../i18n/I18nProvider";
import { DetailSection } from "./DetailSection";
import "./HistoryList.css";

/** Where the task was sent (issue trackers) and how that went. */
export function ExportList({ task }: { task: TaskDetail }) {
  const { t } = useI18n();
  const exports = task.exports ?? [];
  return (
    <DetailSection id="sec-exports" title={t("task.exports")} empty={exports.length ? null : t("task.noExports")}>
      <ul className="history">
        {exports.map((item) => (
          <ExportRow key={item.id} item={item} />
        ))}
      </ul>
    </DetailSection>
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
