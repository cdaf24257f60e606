import { describe, expect, it } from "vitest";
import { en } from "./en";
import { makeI18n } from "./I18nProvider";
import { ru } from "./ru";
import { uk } from "./uk";

const TRANSLATIONS = { uk, ru };
const PLURAL_FORMS = ["one", "few", "many", "other"];

describe.each(Object.entries(TRANSLATIONS))("the %s dictionary", (_, dictionary) => {
  it("translates every English key", () => {
    const missing = Object.keys(en).filter((key) => !(key in dictionary) || !dictionary[key]);
    expect(missing).toEqual([]);
  });

  it("has no key English does not, but the plural forms English lacks", () => {
    const extra = Object.keys(dictionary).filter((key) => !(key in en));
    const stems = new Set(Object.keys(en).filter((key) => key.endsWith(".other")).map((key) => key.slice(0, -".other".length)));
    expect(extra.filter((key) => !(PLURAL_FORMS.includes(key.split(".").pop()!) && stems.has(key.slice(0, key.lastIndexOf(".")))))).toEqual([]);
  });

  it("gives every counted word all four Slavic plural forms", () => {
    for (const key of Object.keys(en).filter((name) => name.endsWith(".other"))) {
      const stem = key.slice(0, -".other".length);
      expect(PLURAL_FORMS.filter((form) => !dictionary[`${stem}.${form}`]).map((form) => `${stem}.${form}`)).toEqual([]);
    }
  });

  it("keeps the same placeholders as English", () => {
    const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const [key, text] of Object.entries(en)) {
      expect([key, placeholders(dictionary[key] ?? "")]).toEqual([key, placeholders(text)]);
    }
  });
});

describe("dictionaries", () => {
  it("uses Ukrainian and Russian plural forms", () => {
    const { plural } = makeI18n("uk");
    expect([1, 3, 5, 21, 22, 25].map((n) => plural("count.tasks", n))).toEqual([
      "1 задача",
      "3 задачі",
      "5 задач",
      "21 задача",
      "22 задачі",
      "25 задач",
    ]);
    expect([1, 3, 5, 11, 21, 22, 25].map((n) => makeI18n("ru").plural("count.messages", n))).toEqual([
      "1 сообщение",
      "3 сообщения",
      "5 сообщений",
      "11 сообщений",
      "21 сообщение",
      "22 сообщения",
      "25 сообщений",
    ]);
    expect(makeI18n("en").plural("count.tasks", 1)).toBe("1 task");
    expect(makeI18n("en").plural("count.tasks", 2)).toBe("2 tasks");
  });

  it("falls back to the raw value for unknown enum values", () => {
    expect(makeI18n("uk").label("category", "bug")).toBe("Помилка");
    expect(makeI18n("uk").label("activity", "brand_new_kind")).toBe("brand_new_kind");
    expect(makeI18n("ru").label("priority", "urgent")).toBe("Срочно");
  });
});
