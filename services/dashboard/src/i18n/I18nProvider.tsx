import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { en, type MessageKey } from "./en";
import { ru } from "./ru";
import { uk } from "./uk";

export type Locale = "en" | "uk" | "ru";
/** In the order the language button steps through them. */
export const LOCALES: readonly Locale[] = ["en", "uk", "ru"];
/** Each language named in itself. */
export const LOCALE_NAMES: Record<Locale, string> = { en: "English", uk: "Українська", ru: "Русский" };
const TAGS: Record<Locale, string> = { en: "en-US", uk: "uk-UA", ru: "ru-RU" };

const DICTIONARIES: Record<Locale, Record<MessageKey, string>> = { en, uk, ru };

function isLocale(value: string | null): value is Locale {
  return value !== null && (LOCALES as readonly string[]).includes(value);
}
const STORAGE_KEY = "tt.lang";

export type LabelGroup = "category" | "priority" | "status" | "messageStatus" | "activity" | "role";
export type TranslateVars = Record<string, string | number>;

export interface I18n {
  locale: Locale;
  setLocale: (locale: Locale) => void;
  t: (key: MessageKey, vars?: TranslateVars) => string;
  /** The display name of an enum value (`label("category", "bug")`), or the value itself. */
  label: (group: LabelGroup, value: string) => string;
  /** Picks `key.one|few|many|other` by the locale's plural rules for `count`. */
  plural: (key: string, count: number, vars?: TranslateVars) => string;
  formatNumber: (value: number, options?: Intl.NumberFormatOptions) => string;
  formatDate: (iso: string, options?: Intl.DateTimeFormatOptions) => string;
  formatRelative: (iso: string, now?: number) => string;
}

function interpolate(template: string, vars?: TranslateVars): string {
  if (!vars) return template;
  return template.replace(/\{(\w+)\}/g, (match, name: string) => (name in vars ? String(vars[name]) : match));
}

export function translate(locale: Locale, key: MessageKey, vars?: TranslateVars): string {
  return interpolate(DICTIONARIES[locale][key] ?? en[key] ?? key, vars);
}

function initialLocale(): Locale {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (isLocale(saved)) return saved;
  } catch {
    // storage unavailable
  }
  const preferred = typeof navigator !== "undefined" ? navigator.language.toLowerCase() : "en";
  return LOCALES.find((locale) => preferred.startsWith(locale)) ?? "en";
}

const UNITS: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ["year", 365 * 24 * 3600],
  ["month", 30 * 24 * 3600],
  ["week", 7 * 24 * 3600],
  ["day", 24 * 3600],
  ["hour", 3600],
  ["minute", 60],
];

export function makeI18n(locale: Locale, setLocale: (locale: Locale) => void = () => undefined): I18n {
  const tag = TAGS[locale];
  const rules = new Intl.PluralRules(tag);
  const relative = new Intl.RelativeTimeFormat(tag, { numeric: "auto", style: "short" });
  const t = (key: MessageKey, vars?: TranslateVars) => translate(locale, key, vars);
  return {
    locale,
    setLocale,
    t,
    label(group, value) {
      const dict = DICTIONARIES[locale] as Record<string, string>;
      return dict[`${group}.${value}`] ?? (en as Record<string, string>)[`${group}.${value}`] ?? value;
    },
    plural(key, count, vars) {
      const form = rules.select(count);
      const dict = DICTIONARIES[locale] as Record<string, string>;
      const template = dict[`${key}.${form}`] ?? dict[`${key}.other`] ?? (en as Record<string, string>)[`${key}.other`] ?? key;
      return interpolate(template, { count, ...vars });
    },
    formatNumber(value, options) {
      return new Intl.NumberFormat(tag, options).format(value);
    },
    formatDate(iso, options = { dateStyle: "medium", timeStyle: "short" }) {
      const date = new Date(iso);
      return Number.isNaN(date.getTime()) ? iso : new Intl.DateTimeFormat(tag, options).format(date);
    },
    formatRelative(iso, now = Date.now()) {
      const time = new Date(iso).getTime();
      if (Number.isNaN(time)) return iso;
      const seconds = Math.round((time - now) / 1000);
      if (Math.abs(seconds) < 45) return t("time.justNow");
      for (const [unit, size] of UNITS) {
        if (Math.abs(seconds) >= size || unit === "minute") {
          return relative.format(Math.round(seconds / size), unit);
        }
      }
      return relative.format(seconds, "second");
    },
  };
}

const I18nContext = createContext<I18n>(makeI18n("en"));

export function I18nProvider({ children, locale: fixed }: { children: ReactNode; locale?: Locale }) {
  const [locale, setLocaleState] = useState<Locale>(() => fixed ?? initialLocale());
  const setLocale = useCallback((next: Locale) => {
    setLocaleState(next);
    try {
      localStorage.setItem(STORAGE_KEY, next);
    } catch {
      // storage unavailable: the choice lasts for this page only
    }
  }, []);
  useEffect(() => {
    document.documentElement.lang = locale;
  }, [locale]);
  const value = useMemo(() => makeI18n(locale, setLocale), [locale, setLocale]);
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  return useContext(I18nContext);
}
