import { act, renderHook } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { useDebouncedField } from "./useDebouncedField";

describe("useDebouncedField", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("commits once typing pauses, through the callback of the latest render", () => {
    const first = vi.fn();
    const latest = vi.fn();
    const { result, rerender } = renderHook(({ commit }) => useDebouncedField("", commit), {
      initialProps: { commit: first },
    });
    act(() => result.current[1]("zebra"));
    act(() => {
      vi.advanceTimersByTime(200);
    });
    // Another filter changed meanwhile: the page re-rendered with a callback that knows about it.
    rerender({ commit: latest });
    act(() => {
      vi.advanceTimersByTime(200);
    });
    expect(first).not.toHaveBeenCalled();
    expect(latest).toHaveBeenCalledOnce();
    expect(latest).toHaveBeenCalledWith("zebra");
  });
});
