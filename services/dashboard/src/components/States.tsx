import type { ReactNode } from "react";
import { ApiError } from "../api/client";
import { useI18n } from "../i18n/I18nProvider";
import { Icon, type IconName } from "./Icon";
import "./States.css";

export function Spinner({ label }: { label?: string }) {
  const { t } = useI18n();
  return (
    <span className="spinner" role="status">
      <span className="spinner__ring" aria-hidden="true" />
      <span className="visually-hidden">{label ?? t("state.loading")}</span>
    </span>
  );
}

export function LoadingState({ rows = 6 }: { rows?: number }) {
  const { t } = useI18n();
  return (
    <div className="loading-state" role="status" aria-busy="true">
      <span className="visually-hidden">{t("state.loading")}</span>
      {Array.from({ length: rows }, (_, i) => (
        <div key={i} className="skeleton" style={{ width: `${90 - ((i * 17) % 40)}%` }} aria-hidden="true" />
      ))}
    </div>
  );
}

export function EmptyState({
  icon = "inbox",
  title,
  children,
  action,
}: {
  icon?: IconName;
  title: string;
  children?: ReactNode;
  action?: ReactNode;
}) {
  return (
    <div className="empty-state">
      <span className="empty-state__icon" aria-hidden="true">
        <Icon name={icon} size={22} />
      </span>
      <p className="empty-state__title">{title}</p>
      {children ? <p className="empty-state__text">{children}</p> : null}
      {action}
    </div>
  );
}

export function errorText(error: unknown, fallback: string): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof TypeError) return fallback; // fetch's "Failed to fetch"
  if (error instanceof Error && error.message) return error.message;
  return fallback;
}

export function ErrorState({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { t } = useI18n();
  const notFound = error instanceof ApiError && error.status === 404;
  return (
    <div className="empty-state empty-state--error" role="alert">
      <span className="empty-state__icon" aria-hidden="true">
        <Icon name="close" size={22} />
      </span>
      <p className="empty-state__title">{notFound ? t("state.notFound") : t("state.error")}</p>
      <p className="empty-state__text">{errorText(error, t("state.networkError"))}</p>
      {onRetry && !notFound ? (
        <button type="button" className="btn" onClick={onRetry}>
          <Icon name="refresh" /> {t("action.retry")}
        </button>
      ) : null}
    </div>
  );
}

/** "Load more" under a cursor-paginated list; renders nothing on the last page. */
export function LoadMore({
  query,
}: {
  query: { hasNextPage: boolean; isFetchingNextPage: boolean; fetchNextPage: () => Promise<unknown> };
}) {
  const { t } = useI18n();
  if (!query.hasNextPage) return null;
  return (
    <button
      type="button"
      className="btn btn--ghost btn--block"
      onClick={() => void query.fetchNextPage()}
      disabled={query.isFetchingNextPage}
    >
      {query.isFetchingNextPage ? t("state.loading") : t("action.loadMore")}
    </button>
  );
}
