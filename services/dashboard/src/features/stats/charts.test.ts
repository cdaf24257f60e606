import { describe, expect, it } from "vitest";
import { fillDays, niceMax, toDayCounts } from "./charts";

describe("stats chart helpers", () => {
  it("reads messages_per_day defensively and in order", () => {
    expect(toDayCounts([{ day: "2026-11-26", count: 3 }, { day: "2026-11-24", count: "2" }, { count: 1 }])).toEqual([
      { day: "2026-11-24", count: 2 },
      { day: "2026-11-26", count: 3 },
    ]);
  });

  it("fills missing days with zeros up to today", () => {
    const days = fillDays([{ day: "2026-11-24", count: 2 }], new Date("2026-11-26T15:00:00Z"), 3);
    expect(days).toEqual([
      { day: "2026-11-24", count: 2 },
      { day: "2026-11-25", count: 0 },
      { day: "2026-11-26", count: 0 },
    ]);
    expect(fillDays([{ day: "2026-11-26", count: 1 }], new Date("2026-11-26T00:00:00Z"))).toHaveLength(14);
  });

  it("rounds the axis to 1, 2 or 5 times a power of ten", () => {
    expect([0, 1, 3, 7, 12, 180].map(niceMax)).toEqual([1, 1, 5, 10, 20, 200]);
  });
});
