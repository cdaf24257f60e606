import { Link } from "react-router";
import { useI18n } from "../i18n/I18nProvider";
import { EmptyState } from "./States";

export function NotFound() {
  const { t } = useI18n();
  return (
    <div className="page">
      <div className="page__body">
        <EmptyState icon="search" title={t("state.pageNotFound")} action={<Link to="/board" className="btn">{t("nav.board")}</Link>} />
      </div>
    </div>
  );
}
