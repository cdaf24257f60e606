import { usePageTitle } from "../../hooks/usePageTitle";
import { useI18n } from "../../i18n/I18nProvider";
import "./AdminPage.css";
import { TokensSection } from "./TokensSection";

/** Everyone's own API tokens (for scripts and the CLI), outside the admin page. */
export function MyTokensPage() {
  const { t } = useI18n();
  usePageTitle(t("user.tokens"));
  return (
    <div className="page">
      <header className="page__header">
        <h1>{t("user.tokens")}</h1>
      </header>
      <div className="page__body admin">
        <TokensSection canSeeAll={false} />
      </div>
    </div>
  );
}
