import { useI18n } from "../i18n/I18nProvider";
import { Icon } from "./Icon";

/** Where an editor sees write controls, a viewer sees this instead. */
export function ReadOnlyBadge() {
  const { t } = useI18n();
  return (
    <span className="badge read-only" title={t("user.readOnly")} data-testid="read-only">
      <Icon name="shield" size={12} /> {t("user.readOnlyShort")}
    </span>
  );
}
