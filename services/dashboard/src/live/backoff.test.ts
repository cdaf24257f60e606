import { describe, expect, it } from "vitest";
import { backoffDelay } from "./backoff";

describe("reconnect backoff", () => {
  const options = { baseMs: 500, maxMs: 10_000 };

  it("doubles per attempt and stops at the cap", () => {
    const nominal = (attempt: number) => backoffDelay(attempt, options, () => 1);
    expect([1, 2, 3, 4, 5, 6, 7].map(nominal)).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
    expect(nominal(1000)).toBe(10_000);
  });

  it("jitters within half to all of the nominal delay", () => {
    expect(backoffDelay(3, options, () => 0)).toBe(1000);
    expect(backoffDelay(3, options, () => 0.5)).toBe(1500);
    for (let i = 0; i < 200; i++) {
      const delay = backoffDelay(4, options);
      expect(delay).toBeGreaterThanOrEqual(2000);
      expect(delay).toBeLessThanOrEqual(4000);
    }
  });
});
