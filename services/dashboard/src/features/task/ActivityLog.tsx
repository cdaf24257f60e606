import type { Activity, TaskDetail } from "../../api/types";
import { RelativeTime } from "../../components/Badges";
import type { MessageKey } from "../../i18n/en";
import { useI18n, type LabelGroup } from "../../i18n/I18nProvider";
import "./ActivityLog.css";
import { DetailSection } from "./DetailSection";

/** Who changed what on the task, oldest first. */
export function ActivityLog({ task }: { task: TaskDetail }) {
  const { t } = useI18n();
  const activity = task.activity ?? [];
  return (
    <DetailSection id="sec-activity" title={t("task.activity")} empty={activity.length ? null : t("task.noActivity")}>
      <ol className="activity">
        {activity.map((item) => (
          <ActivityRow key={item.id} item={item} />
        ))}
      </ol>
    </DetailSection>
  );
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

type Change = { from?: unknown; to?: unknown };

function isChange(value: unknown): value is Change {
  return typeof value === "object" && value !== null && !Array.isArray(value) && ("from" in value || "to" in value);
}

/** The entry's plain values (not the changes), as `key: value` pairs. */
export function describeData(data: Record<string, unknown>): string {
  return Object.entries(data)
    .filter(([, value]) => value !== null && value !== undefined && typeof value !== "object")
    .map(([key, value]) => `${key}: ${String(value as string | number | boolean)}`)
    .join(" · ");
}

function ActivityRow({ item }: { item: Activity }) {
  const { label, t } = useI18n();
  const fieldName = (field: string) => {
    const key = FIELD_KEYS[field];
    return key ? t(key) : field;
  };
  const value = (field: string, raw: unknown) => {
    if (raw === null || raw === undefined || raw === "") return "—";
    const group = ENUM_FIELDS[field];
    if (group && typeof raw === "string") return label(group, raw);
    if (Array.isArray(raw)) return raw.join(", ");
    if (typeof raw === "string" || typeof raw === "number" || typeof raw === "boolean") return String(raw);
    return JSON.stringify(raw);
  };
  const data = (item.data ?? {}) as Record<string, unknown>;
  const changes = Object.entries(data).filter((entry): entry is [string, Change] => isChange(entry[1]));
  const details = describeData(data);
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
      {details ? <span className="muted activity__data">{details}</span> : null}
      <span className="feed__spacer" />
      <RelativeTime iso={item.created_at} />
    </li>
  );
}
