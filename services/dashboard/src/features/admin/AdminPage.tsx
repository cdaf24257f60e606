import type { ComponentType } from "react";
import { NavLink, Navigate, useParams } from "react-router";
import { usePageTitle } from "../../hooks/usePageTitle";
import type { MessageKey } from "../../i18n/en";
import { useI18n } from "../../i18n/I18nProvider";
import "./AdminPage.css";
import { ExportsSection } from "../exports/ExportsAdmin";
import { TokensSection } from "./TokensSection";
import { UsersSection } from "./UsersSection";

/**
 * The admin page's sections, one tab each at `/admin/<id>`. A new section (export targets, …)
 * is one more entry here: a component and its label.
 */
export const ADMIN_SECTIONS: ReadonlyArray<{ id: string; label: MessageKey; component: ComponentType }> = [
  { id: "users", label: "admin.users", component: UsersSection },
  { id: "tokens", label: "admin.tokens", component: TokensSection },
  { id: "exports", label: "exports.admin", component: ExportsSection },
];

export function AdminPage() {
  const { t } = useI18n();
  const { section } = useParams();
  const current = ADMIN_SECTIONS.find((item) => item.id === section);
  usePageTitle(current ? `${t(current.label)} · ${t("nav.admin")}` : t("nav.admin"));
  if (!current) return <Navigate to={`/admin/${ADMIN_SECTIONS[0]?.id ?? "users"}`} replace />;
  const Section = current.component;
  return (
    <div className="page">
      <header className="page__header">
        <h1>{t("nav.admin")}</h1>
        <nav className="admin-tabs" aria-label={t("admin.sections")}>
          {ADMIN_SECTIONS.map((item) => (
            <NavLink
              key={item.id}
              to={`/admin/${item.id}`}
              className={({ isActive }) => `admin-tabs__tab${isActive ? " admin-tabs__tab--active" : ""}`}
            >
              {t(item.label)}
            </NavLink>
          ))}
        </nav>
      </header>
      <div className="page__body admin">
        <Section />
      </div>
    </div>
  );
}
