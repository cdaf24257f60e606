import { useChannels } from "../../api/queries";
import { CATEGORIES, PRIORITIES, TASK_SORTS, TASK_STATUSES, type TaskSort } from "../../api/types";
import { PriorityIcon, StatusIcon } from "../../components/Badges";
import { Icon } from "../../components/Icon";
import { useDebouncedField } from "../../hooks/useDebouncedField";
import { MultiSelectMenu } from "../../components/Popover";
import type { MessageKey } from "../../i18n/en";
import { useI18n } from "../../i18n/I18nProvider";
import { countActiveFilters } from "./filters";
import type { TaskFiltersApi } from "./useTaskFilters";

export function TaskFilterBar({ api, showStatus = true }: { api: TaskFiltersApi; showStatus?: boolean }) {
  const { filters, setFilters, clearFilters } = api;
  const { t, label } = useI18n();
  const channels = useChannels();
  const [q, setQ] = useDebouncedField(filters.q, (next) => setFilters({ q: next }, { replace: true }));
  const [assignee, setAssignee] = useDebouncedField(filters.assignee ?? "", (next) =>
    setFilters({ assignee: next.trim() || null }, { replace: true }),
  );
  const active = countActiveFilters(filters);

  return (
    <div className="toolbar" role="search" aria-label={t("filters.label")}>
      <label className="search-field">
        <Icon name="search" />
        <span className="visually-hidden">{t("filters.search")}</span>
        <input
          type="search"
          data-search
          placeholder={t("filters.searchPlaceholder")}
          value={q}
          onChange={(event) => setQ(event.target.value)}
          onKeyDown={(event) => {
            if (event.key === "Enter") setFilters({ q }, { replace: true });
            if (event.key === "Escape") (event.target as HTMLInputElement).blur();
          }}
        />
      </label>
      {showStatus ? (
        <MultiSelectMenu
          label={t("field.status")}
          options={TASK_STATUSES.map((value) => ({ value, label: label("status", value), icon: <StatusIcon status={value} /> }))}
          selected={filters.status}
          onChange={(status) => setFilters({ status })}
        />
      ) : null}
      <MultiSelectMenu
        label={t("field.category")}
        options={CATEGORIES.map((value) => ({
          value,
          label: label("category", value),
          icon: <span className={`dot cat--${value}`} aria-hidden="true" />,
        }))}
        selected={filters.category}
        onChange={(category) => setFilters({ category })}
      />
      <MultiSelectMenu
        label={t("field.priority")}
        options={PRIORITIES.map((value) => ({ value, label: label("priority", value), icon: <PriorityIcon priority={value} /> }))}
        selected={filters.priority}
        onChange={(priority) => setFilters({ priority })}
      />
      <label className="select-chip">
        <span className="visually-hidden">{t("field.channel")}</span>
        <select
          value={filters.channel ?? ""}
          onChange={(event) => setFilters({ channel: event.target.value || null })}
          className={filters.channel ? "is-active" : undefined}
        >
          <option value="">{t("filters.anyChannel")}</option>
          {(channels.data?.data ?? []).map((channel) => (
            <option key={channel.id} value={channel.name}>
              {channel.name}
            </option>
          ))}
          {filters.channel && !channels.data?.data.some((channel) => channel.name === filters.channel) ? (
            <option value={filters.channel}>{filters.channel}</option>
          ) : null}
        </select>
      </label>
      <label className="text-chip">
        <Icon name="user" />
        <span className="visually-hidden">{t("field.assignee")}</span>
        <input
          type="text"
          placeholder={t("field.assignee")}
          value={assignee}
          onChange={(event) => setAssignee(event.target.value)}
          size={10}
        />
      </label>
      <label className="select-chip">
        <span className="visually-hidden">{t("filters.review")}</span>
        <select
          value={filters.needsReview === null ? "" : String(filters.needsReview)}
          onChange={(event) =>
            setFilters({ needsReview: event.target.value === "" ? null : event.target.value === "true" })
          }
          className={filters.needsReview !== null ? "is-active" : undefined}
        >
          <option value="">{t("filters.reviewAny")}</option>
          <option value="true">{t("filters.reviewNeeded")}</option>
          <option value="false">{t("filters.reviewDone")}</option>
        </select>
      </label>
      {active > 0 ? (
        <button type="button" className="btn btn--ghost btn--sm" onClick={clearFilters}>
          <Icon name="close" size={14} /> {t("filters.clear", { count: active })}
        </button>
      ) : null}
      <span className="toolbar__spacer" />
      <label className="select-chip">
        <span className="toolbar__label">{t("filters.sort")}</span>
        <select value={filters.sort} onChange={(event) => setFilters({ sort: event.target.value as TaskSort })}>
          {TASK_SORTS.map((sort) => (
            <option key={sort} value={sort}>
              {t(`sort.${sort}` as MessageKey)}
            </option>
          ))}
        </select>
      </label>
    </div>
  );
}
