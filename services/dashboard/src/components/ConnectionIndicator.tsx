import { useI18n } from "../i18n/I18nProvider";
import { useLive } from "../live/LiveProvider";
import type { ConnectionState } from "../live/LiveSocket";
import type { MessageKey } from "../i18n/en";
import "./ConnectionIndicator.css";

const LABELS: Record<ConnectionState, MessageKey> = {
  connecting: "live.connecting",
  connected: "live.connected",
  reconnecting: "live.reconnecting",
  offline: "live.offline",
};

/** Live-update status; screen readers hear each change through the polite live region. */
export function ConnectionIndicator() {
  const { state, retryNow } = useLive();
  const { t } = useI18n();
  return (
    <div className={`conn conn--${state}`} data-testid="connection" data-state={state}>
      <span className="conn__dot" aria-hidden="true" />
      <span className="conn__label" role="status" aria-live="polite" aria-atomic="true">
        {t(LABELS[state])}
      </span>
      {state === "reconnecting" || state === "offline" ? (
        <button type="button" className="link-btn conn__retry" onClick={retryNow}>
          {t("action.retryNow")}
        </button>
      ) : null}
    </div>
  );
}
