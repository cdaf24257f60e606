import { useStats } from "../../api/queries";
import { CATEGORIES, PRIORITIES, TASK_STATUSES, type Stats } from "../../api/types";
import { QueryView } from "../../components/QueryView";
import { EmptyState } from "../../components/States";
import { usePageTitle } from "../../hooks/usePageTitle";
import { useI18n, type LabelGroup } from "../../i18n/I18nProvider";
import { BarList, DayBars, Donut, fillDays, toDayCounts, type BarRow } from "./charts";
import "./StatsPage.css";

function ordered(counts: Record<string, number>, order: readonly string[], group: LabelGroup, label: (g: LabelGroup, v: string) => string, prefix: string): BarRow[] {
  const keys = [...order.filter((key) => key in counts), ...Object.keys(counts).filter((key) => !order.includes(key))];
  return keys.map((key) => ({ key, label: label(group, key), value: counts[key] ?? 0, className: `${prefix}--${key}` }));
}

export function StatsPage() {
  const { t } = useI18n();
  const stats = useStats();
  usePageTitle(t("nav.stats"));

  return (
    <div className="page">
      <header className="page__header">
        <h1>{t("nav.stats")}</h1>
      </header>
      <QueryView query={stats} frame={(state) => <div className="page__body">{state}</div>}>
        {(data) => <StatsBody data={data} />}
      </QueryView>
    </div>
  );
}

function StatsBody({ data }: { data: Stats }) {
  const { t, label, formatNumber } = useI18n();
  const recorded = toDayCounts(data.messages_per_day);
  const days = recorded.length ? fillDays(recorded) : [];
  const ms = (value: number | null | undefined) => (value === null || value === undefined ? "—" : `${formatNumber(Math.round(value))} ms`);
  const models = Object.entries(data.models)
    .sort((a, b) => b[1] - a[1])
    .map(([key, value]) => ({ key, label: key, value }));

  return (
    <div className="page__body stats">
      <section className="kpis" aria-label={t("stats.summary")}>
        <div className="kpi">
          <span className="kpi__label">{t("stats.totalTasks")}</span>
          <span className="kpi__value">{formatNumber(data.total_tasks)}</span>
        </div>
        <div className="kpi">
          <span className="kpi__label">{t("stats.totalMessages")}</span>
          <span className="kpi__value">{formatNumber(data.total_messages)}</span>
        </div>
        <div className="kpi">
          <span className="kpi__label">{t("stats.needsReview")}</span>
          <span className="kpi__value">{formatNumber(data.needs_review)}</span>
        </div>
        <div className="kpi">
          <span className="kpi__label">{t("stats.latency")}</span>
          <span className="kpi__value">
            {ms(data.latency_ms.p50)}
            <span className="kpi__sub">p95 {ms(data.latency_ms.p95)}</span>
          </span>
        </div>
      </section>

      <section className="panel panel--wide" aria-labelledby="chart-days">
        <h2 id="chart-days">{t("stats.messagesPerDay")}</h2>
        {days.length ? <DayBars data={days} label={t("stats.messagesPerDay")} /> : <EmptyState icon="stats" title={t("stats.noData")} />}
      </section>
      <section className="panel" aria-labelledby="chart-category">
        <h2 id="chart-category">{t("stats.byCategory")}</h2>
        <BarList rows={ordered(data.by_category, CATEGORIES, "category", label, "cat")} label={t("stats.byCategory")} />
      </section>
      <section className="panel" aria-labelledby="chart-priority">
        <h2 id="chart-priority">{t("stats.byPriority")}</h2>
        <BarList rows={ordered(data.by_priority, PRIORITIES, "priority", label, "prio-fill")} label={t("stats.byPriority")} />
      </section>
      <section className="panel" aria-labelledby="chart-status">
        <h2 id="chart-status">{t("stats.byStatus")}</h2>
        <BarList rows={ordered(data.by_status, TASK_STATUSES, "status", label, "status-fill")} label={t("stats.byStatus")} />
      </section>
      <section className="panel" aria-labelledby="chart-models">
        <h2 id="chart-models">{t("stats.models")}</h2>
        {models.length ? <Donut rows={models} label={t("stats.models")} /> : <p className="muted">{t("stats.noData")}</p>}
      </section>
    </div>
  );
}
