import type { Issue, TaskDetail } from "../../api/types";
import { CategoryChip, ConfidenceMeter, PriorityBadge, RelativeTime } from "../../components/Badges";
import { useI18n } from "../../i18n/I18nProvider";
import { DetailSection } from "./DetailSection";
import "./HistoryList.css";

/** Every classification run of the task's messages: what the model said, how sure, how fast. */
export function ClassificationHistory({ task }: { task: TaskDetail }) {
  const { t } = useI18n();
  const issues = task.issues ?? [];
  return (
    <DetailSection id="sec-history" title={t("task.history")} count={issues.length} empty={issues.length ? null : t("task.noHistory")}>
      <ul className="history">
        {issues.map((issue) => (
          <IssueRow key={issue.id} issue={issue} />
        ))}
      </ul>
    </DetailSection>
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
