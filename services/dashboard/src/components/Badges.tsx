import { useEffect, useState } from "react";
import { useI18n } from "../i18n/I18nProvider";

export function CategoryChip({ category, size = "md" }: { category: string; size?: "sm" | "md" }) {
  const { label } = useI18n();
  return (
    <span className={`chip chip--${size} cat cat--${category}`} data-category={category}>
      <span className="chip__dot" aria-hidden="true" />
      {label("category", category)}
    </span>
  );
}

/** Priority as Linear draws it: signal bars, or a filled square with "!" for urgent. */
export function PriorityIcon({ priority, size = 14 }: { priority: string; size?: number }) {
  if (priority === "urgent") {
    return (
      <svg className="prio-icon prio--urgent" width={size} height={size} viewBox="0 0 14 14" aria-hidden="true">
        <rect x="1" y="1" width="12" height="12" rx="3" fill="currentColor" />
        <path d="M7 3.8v4M7 10v.2" stroke="var(--urgent-fg)" strokeWidth="1.8" strokeLinecap="round" />
      </svg>
    );
  }
  const level = priority === "high" ? 3 : priority === "medium" ? 2 : priority === "low" ? 1 : 0;
  return (
    <svg className={`prio-icon prio--${priority}`} width={size} height={size} viewBox="0 0 14 14" aria-hidden="true">
      {[0, 1, 2].map((i) => (
        <rect
          key={i}
          x={1.5 + i * 4}
          y={9 - i * 3}
          width="3"
          height={4 + i * 3}
          rx="1"
          fill="currentColor"
          opacity={i < level ? 1 : 0.25}
        />
      ))}
    </svg>
  );
}

export function PriorityBadge({ priority, showLabel = true }: { priority: string; showLabel?: boolean }) {
  const { label } = useI18n();
  const text = label("priority", priority);
  return (
    <span className={`prio prio--${priority}`} data-priority={priority} title={showLabel ? undefined : text}>
      <PriorityIcon priority={priority} />
      {showLabel ? <span>{text}</span> : <span className="visually-hidden">{text}</span>}
    </span>
  );
}

export function StatusIcon({ status, size = 14 }: { status: string; size?: number }) {
  const common = { width: size, height: size, viewBox: "0 0 14 14", "aria-hidden": true as const };
  switch (status) {
    case "in_progress":
      return (
        <svg {...common} className="status-icon status--in_progress">
          <circle cx="7" cy="7" r="5.5" fill="none" stroke="currentColor" strokeWidth="1.5" />
          <path d="M7 3.5a3.5 3.5 0 010 7z" fill="currentColor" />
        </svg>
      );
    case "completed":
      return (
        <svg {...common} className="status-icon status--completed">
          <circle cx="7" cy="7" r="6.2" fill="currentColor" />
          <path d="M4.3 7.2l1.8 1.8 3.6-3.8" fill="none" stroke="var(--surface)" strokeWidth="1.6" strokeLinecap="round" strokeLinejoin="round" />
        </svg>
      );
    case "closed":
      return (
        <svg {...common} className="status-icon status--closed">
          <circle cx="7" cy="7" r="6.2" fill="currentColor" />
          <path d="M5 5l4 4M9 5l-4 4" stroke="var(--surface)" strokeWidth="1.5" strokeLinecap="round" />
        </svg>
      );
    default:
      return (
        <svg {...common} className="status-icon status--open">
          <circle cx="7" cy="7" r="5.5" fill="none" stroke="currentColor" strokeWidth="1.5" strokeDasharray="0" />
        </svg>
      );
  }
}

export function StatusLabel({ status }: { status: string }) {
  const { label } = useI18n();
  return (
    <span className="status-label" data-status={status}>
      <StatusIcon status={status} />
      <span>{label("status", status)}</span>
    </span>
  );
}

export function ConfidenceMeter({ value }: { value: number | null | undefined }) {
  const { t, formatNumber } = useI18n();
  if (value === null || value === undefined) return <span className="muted">—</span>;
  const pct = Math.round(value * 100);
  const level = value >= 0.8 ? "high" : value >= 0.6 ? "mid" : "low";
  return (
    <span className={`confidence confidence--${level}`} title={t("field.confidence")}>
      <span className="confidence__bar" aria-hidden="true">
        <span style={{ width: `${pct}%` }} />
      </span>
      <span className="confidence__value">{formatNumber(value, { style: "percent" })}</span>
    </span>
  );
}

function hue(text: string): number {
  let hash = 0;
  for (const char of text) hash = (hash * 31 + char.charCodeAt(0)) | 0;
  return Math.abs(hash) % 360;
}

export function Avatar({ name, size = 20 }: { name: string | null | undefined; size?: number }) {
  const { t } = useI18n();
  if (!name) {
    return (
      <span className="avatar avatar--empty" style={{ width: size, height: size }} title={t("field.unassigned")}>
        <span className="visually-hidden">{t("field.unassigned")}</span>
      </span>
    );
  }
  const initials = name
    .replace(/^@/, "")
    .split(/[\s._-]+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((part) => part[0]?.toUpperCase() ?? "")
    .join("");
  return (
    <span
      className="avatar"
      style={{ width: size, height: size, fontSize: size * 0.45, ["--avatar-hue" as string]: hue(name) }}
      title={name}
      aria-hidden="true"
    >
      {initials || "?"}
    </span>
  );
}

/** "5 min ago", refreshed every half minute, with the full date as a tooltip. */
export function RelativeTime({ iso }: { iso: string }) {
  const { formatRelative, formatDate } = useI18n();
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 30_000);
    return () => clearInterval(timer);
  }, []);
  return (
    <time dateTime={iso} title={formatDate(iso)} className="reltime">
      {formatRelative(iso, now)}
    </time>
  );
}

export function ChannelTag({ channel }: { channel: { kind: string; name: string } | null | undefined }) {
  if (!channel) return null;
  const kind = channel.kind === "telegram" ? "TG" : channel.kind.slice(0, 5).toUpperCase();
  // The default channel of a kind is named after it ("api"); saying it twice adds nothing.
  const sameAsKind = channel.name.toLowerCase() === channel.kind.toLowerCase();
  return (
    <span className="channel-tag" title={`${channel.kind}: ${channel.name}`}>
      <span className="channel-tag__kind">{kind}</span>
      {sameAsKind ? <span className="visually-hidden">{channel.name}</span> : <span className="channel-tag__name">{channel.name}</span>}
    </span>
  );
}
