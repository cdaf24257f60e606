import { describe, expect, it } from "vitest";
import { en } from "./en";
import { makeI18n } from "./I18nProvider";
import { uk } from "./uk";

describe("dictionaries", () => {
  it("translate every English key into Ukrainian", () => {
    const missing = Object.keys(en).filter((key) => !(key in uk) || !uk[key]);
    expect(missing).toEqual([]);
  });

  it("keep the same placeholders in both languages", () => {
    const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const [key, text] of Object.entries(en)) {
      expect([key, placeholders(uk[key] ?? "")]).toEqual([key, placeholders(text)]);
    }
  });

  it("uses Ukrainian plural forms", () => {
    const { plural } = makeI18n("uk");
    expect([1, 3, 5, 21, 22, 25].map((n) => plural("count.tasks", n))).toEqual([
      "1 задача",
      "3 задачі",
      "5 задач",
      "21 задача",
      "22 задачі",
      "25 задач",
    ]);
    expect(makeI18n("en").plural("count.tasks", 1)).toBe("1 task");
    expect(makeI18n("en").plural("count.tasks", 2)).toBe("2 tasks");
  });

  it("falls back to the raw value for unknown enum values", () => {
    expect(makeI18n("uk").label("category", "bug")).toBe("Помилка");
    expect(makeI18n("uk").label("activity", "brand_new_kind")).toBe("brand_new_kind");
  });
});
