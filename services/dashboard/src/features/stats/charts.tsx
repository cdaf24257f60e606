import { useI18n } from "../../i18n/I18nProvider";
import "./charts.css";

export interface DayCount {
  day: string;
  count: number;
}

/** Reads `messages_per_day` defensively: the schema types it as a list of loose objects. */
export function toDayCounts(rows: Array<Record<string, unknown>> | undefined): DayCount[] {
  return (rows ?? [])
    .map((row) => ({ day: typeof row.day === "string" ? row.day : "", count: Number(row.count ?? 0) }))
    .filter((row) => row.day && Number.isFinite(row.count))
    .sort((a, b) => a.day.localeCompare(b.day));
}

function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/**
 * Days without messages are missing from the API's list; fill them with zeros so the bars keep a
 * time scale, showing at least `minDays` days up to today (or the last day, if later).
 */
export function fillDays(rows: DayCount[], today: Date = new Date(), minDays = 14, maxDays = 90): DayCount[] {
  const counts = new Map(rows.map((row) => [row.day, row.count]));
  const last = [isoDay(today), ...rows.map((row) => row.day)].sort().pop()!;
  const end = new Date(`${last}T00:00:00Z`);
  const first = rows[0]?.day ?? last;
  const span = Math.round((end.getTime() - new Date(`${first}T00:00:00Z`).getTime()) / 86_400_000) + 1;
  const days = Math.min(maxDays, Math.max(minDays, span));
  const filled: DayCount[] = [];
  for (let i = days - 1; i >= 0; i--) {
    const day = isoDay(new Date(end.getTime() - i * 86_400_000));
    filled.push({ day, count: counts.get(day) ?? 0 });
  }
  return filled;
}

/** A round upper bound for an axis: 1, 2, 5 × 10^n. */
export function niceMax(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

/** Vertical bars per day, drawn in SVG; the same numbers are in a table for screen readers. */
export function DayBars({ data, label }: { data: DayCount[]; label: string }) {
  const { formatDate, formatNumber } = useI18n();
  const width = 1100;
  const height = 220;
  const pad = { left: 32, right: 8, top: 8, bottom: 22 };
  const max = niceMax(Math.max(0, ...data.map((row) => row.count)));
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  const slot = data.length ? innerW / data.length : innerW;
  const bar = Math.max(2, Math.min(36, slot * 0.7));
  const labelEvery = Math.max(1, Math.ceil(data.length / 8));
  const short = (day: string) => formatDate(`${day}T00:00:00`, { month: "short", day: "numeric" });

  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${width} ${height}`} className="chart__svg" role="img" aria-label={label}>
        {[0, 0.5, 1].map((f) => {
          const y = pad.top + innerH * (1 - f);
          return (
            <g key={f}>
              <line x1={pad.left} x2={width - pad.right} y1={y} y2={y} className="chart__grid" />
              <text x={pad.left - 6} y={y + 3} className="chart__axis" textAnchor="end">
                {formatNumber(max * f)}
              </text>
            </g>
          );
        })}
        {data.map((row, i) => {
          const h = (row.count / max) * innerH;
          const x = pad.left + slot * i + (slot - bar) / 2;
          return (
            <g key={row.day}>
              <rect x={x} y={pad.top + innerH - h} width={bar} height={Math.max(h, row.count ? 1 : 0)} rx={2} className="chart__bar">
                <title>{`${short(row.day)}: ${formatNumber(row.count)}`}</title>
              </rect>
              {i % labelEvery === 0 ? (
                <text x={x + bar / 2} y={height - 6} className="chart__axis" textAnchor="middle">
                  {short(row.day)}
                </text>
              ) : null}
            </g>
          );
        })}
      </svg>
      <table className="visually-hidden">
        <caption>{label}</caption>
        <tbody>
          {data.map((row) => (
            <tr key={row.day}>
              <th scope="row">{row.day}</th>
              <td>{row.count}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}

export interface BarRow {
  key: string;
  label: string;
  value: number;
  className?: string;
}

/** Horizontal bars with their values: readable as a list without the graphics. */
export function BarList({ rows, label }: { rows: BarRow[]; label: string }) {
  const { formatNumber } = useI18n();
  const total = rows.reduce((sum, row) => sum + row.value, 0);
  const max = Math.max(1, ...rows.map((row) => row.value));
  return (
    <ul className="barlist" aria-label={label}>
      {rows.map((row) => (
        <li key={row.key} className="barlist__row">
          <span className="barlist__label">{row.label}</span>
          <span className="barlist__track" aria-hidden="true">
            <span className={`barlist__fill ${row.className ?? ""}`} style={{ width: `${(row.value / max) * 100}%` }} />
          </span>
          <span className="barlist__value">
            {formatNumber(row.value)}
            <span className="muted"> · {total ? formatNumber(row.value / total, { style: "percent" }) : "0%"}</span>
          </span>
        </li>
      ))}
    </ul>
  );
}

/** A ring split by share; the legend carries the numbers. */
export function Donut({ rows, label }: { rows: BarRow[]; label: string }) {
  const { formatNumber } = useI18n();
  const total = rows.reduce((sum, row) => sum + row.value, 0);
  const radius = 40;
  const circumference = 2 * Math.PI * radius;
  const lengths = rows.map((row) => (total ? (row.value / total) * circumference : 0));
  // Each slice starts where the ones before it end.
  const offsets = lengths.map((_, i) => lengths.slice(0, i).reduce((sum, length) => sum + length, 0));
  return (
    <div className="donut">
      <svg viewBox="0 0 100 100" width="120" height="120" role="img" aria-label={label}>
        <circle cx="50" cy="50" r={radius} className="donut__track" />
        {rows.map((row, i) => {
          const length = lengths[i] ?? 0;
          return (
            <circle
              key={row.key}
              cx="50"
              cy="50"
              r={radius}
              className={`donut__slice donut__slice--${i % 6}`}
              strokeDasharray={`${length} ${circumference - length}`}
              strokeDashoffset={-(offsets[i] ?? 0)}
              transform="rotate(-90 50 50)"
            >
              <title>{`${row.label}: ${formatNumber(row.value)}`}</title>
            </circle>
          );
        })}
        <text x="50" y="54" textAnchor="middle" className="donut__total">
          {formatNumber(total)}
        </text>
      </svg>
      <ul className="legend">
        {rows.map((row, i) => (
          <li key={row.key}>
            <span className={`legend__swatch donut__slice--${i % 6}`} aria-hidden="true" />
            <span className="legend__label">{row.label}</span>
            <span className="muted">{formatNumber(row.value)}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}
