import { useState } from "react";
import { NavLink, Outlet, useNavigate } from "react-router";
import { useConfig, useStats } from "../api/queries";
import { useCan } from "../auth/session";
import { UserMenu } from "../features/auth/UserMenu";
import type { MessageKey } from "../i18n/en";
import { LOCALE_NAMES, LOCALES, useI18n, type Locale } from "../i18n/I18nProvider";
import { useHotkeys } from "../hooks/useHotkeys";
import { useTheme } from "../theme/ThemeProvider";
import { ConnectionIndicator } from "./ConnectionIndicator";
import { HelpOverlay } from "./HelpOverlay";
import { Icon, type IconName } from "./Icon";
import "./Layout.css";

const NAV: Array<{ to: string; label: MessageKey; icon: IconName; key: string }> = [
  { to: "/board", label: "nav.board", icon: "board", key: "b" },
  { to: "/inbox", label: "nav.inbox", icon: "inbox", key: "i" },
  { to: "/review", label: "nav.review", icon: "review", key: "r" },
  { to: "/stats", label: "nav.stats", icon: "stats", key: "s" },
];

const ADMIN_NAV = { to: "/admin", label: "nav.admin", icon: "shield", key: "a" } as const;

function ThemeToggle() {
  const { preference, cycle } = useTheme();
  const { t } = useI18n();
  const icon: IconName = preference === "dark" ? "moon" : preference === "light" ? "sun" : "monitor";
  const current = t(`theme.${preference}` as MessageKey);
  return (
    <button
      type="button"
      className="sidebar__tool"
      onClick={cycle}
      aria-label={`${t("theme.label")}: ${current}`}
      title={t("theme.toggle")}
      data-testid="theme-toggle"
    >
      <Icon name={icon} />
      <span>{current}</span>
    </button>
  );
}

function LanguageToggle() {
  const { locale, setLocale, t } = useI18n();
  const next: Locale = LOCALES[(LOCALES.indexOf(locale) + 1) % LOCALES.length] ?? "en";
  // Each language is named in itself, so the button reads right whichever is active.
  const name = LOCALE_NAMES[locale];
  return (
    <button
      type="button"
      className="sidebar__tool"
      onClick={() => setLocale(next)}
      aria-label={`${t("lang.label")}: ${name}`}
      title={t("lang.switch", { name: LOCALE_NAMES[next] })}
      data-testid="lang-toggle"
    >
      <Icon name="globe" />
      <span lang={locale}>{name}</span>
    </button>
  );
}

export function Layout() {
  const { t, formatNumber } = useI18n();
  const config = useConfig();
  const stats = useStats();
  const navigate = useNavigate();
  const [helpOpen, setHelpOpen] = useState(false);
  const reviewCount = stats.data?.needs_review ?? 0;
  const isAdmin = useCan("admin");
  const nav = isAdmin ? [...NAV, ADMIN_NAV] : NAV;

  useHotkeys({
    "?": () => setHelpOpen(true),
    "/": () => document.querySelector<HTMLInputElement>("[data-search]")?.focus(),
    ...Object.fromEntries(nav.map((item) => [`g ${item.key}`, () => navigate(item.to)])),
  });

  return (
    <div className="app">
      <a className="skip-link" href="#main">
        {t("nav.skip")}
      </a>
      <aside className="sidebar" aria-label={t("nav.sidebar")}>
        <div className="sidebar__brand">
          <span className="brand-mark" aria-hidden="true">
            <svg viewBox="0 0 32 32" width="22" height="22">
              <rect width="32" height="32" rx="8" fill="var(--accent)" />
              <path d="M9 16.5l4.5 4.5L23 11.5" fill="none" stroke="#fff" strokeWidth="3" strokeLinecap="round" strokeLinejoin="round" />
            </svg>
          </span>
          <span className="sidebar__name">Task Tracker</span>
        </div>
        <nav className="sidebar__nav" aria-label={t("nav.main")}>
          <ul>
            {nav.map((item) => (
              <li key={item.to}>
                <NavLink to={item.to} className={({ isActive }) => `nav-item${isActive ? " nav-item--active" : ""}`}>
                  <Icon name={item.icon} />
                  <span className="nav-item__label">{t(item.label)}</span>
                  {item.to === "/review" && reviewCount > 0 ? (
                    <span className="nav-item__count" aria-label={t("nav.reviewCount", { count: reviewCount })}>
                      {formatNumber(reviewCount)}
                    </span>
                  ) : null}
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <div className="sidebar__footer">
          <UserMenu />
          <ConnectionIndicator />
          <ThemeToggle />
          <LanguageToggle />
          <button type="button" className="sidebar__tool" onClick={() => setHelpOpen(true)} data-testid="help-button">
            <Icon name="keyboard" />
            <span>{t("help.shortcuts")}</span>
            <kbd className="sidebar__kbd">?</kbd>
          </button>
          {config.data ? (
            <p className="sidebar__meta">
              v{config.data.version} · {config.data.classifier}
            </p>
          ) : null}
        </div>
      </aside>
      <main id="main" className="main" tabIndex={-1}>
        <Outlet />
      </main>
      <HelpOverlay open={helpOpen} onClose={() => setHelpOpen(false)} />
    </div>
  );
}
