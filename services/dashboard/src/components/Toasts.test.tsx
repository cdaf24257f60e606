import { act, render, screen, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { I18nProvider } from "../i18n/I18nProvider";
import { TOAST_MS, ToastProvider, useToast } from "./Toasts";

type Push = ReturnType<typeof useToast>["push"];

function mount(): { push: Push; unmount: () => void } {
  let push: Push = () => undefined;
  function Grab() {
    push = useToast().push;
    return null;
  }
  const { unmount } = render(
    <I18nProvider locale="en">
      <ToastProvider>
        <Grab />
      </ToastProvider>
    </I18nProvider>,
  );
  return { push: (toast) => act(() => push(toast)), unmount };
}

describe("toasts", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("announces errors assertively and other news politely", () => {
    const { push } = mount();
    push({ kind: "error", text: "Could not save" });
    push({ kind: "success", text: "Saved" });
    expect(within(screen.getByRole("alert")).getByText("Could not save")).toBeInTheDocument();
    expect(within(screen.getByRole("alert")).queryByText("Saved")).not.toBeInTheDocument();
    expect(within(screen.getByRole("status")).getByText("Saved")).toBeInTheDocument();
    expect(screen.getByRole("alert")).toHaveAttribute("aria-live", "assertive");
  });

  it("takes a toast without an action away after its time", () => {
    const { push } = mount();
    push({ kind: "success", text: "Saved" });
    act(() => {
      vi.advanceTimersByTime(TOAST_MS.success - 1);
    });
    expect(screen.getByText("Saved")).toBeInTheDocument();
    act(() => {
      vi.advanceTimersByTime(1);
    });
    expect(screen.queryByText("Saved")).not.toBeInTheDocument();
  });

  it("keeps a toast with an action until it is dismissed", () => {
    const { push } = mount();
    const run = vi.fn();
    push({ kind: "success", text: "Task #7 created", action: { label: "Open", run } });
    act(() => {
      vi.advanceTimersByTime(10 * 60_000);
    });
    expect(screen.getByText("Task #7 created")).toBeInTheDocument();
    act(() => screen.getByRole("button", { name: "Open" }).click());
    expect(run).toHaveBeenCalledOnce();
    expect(screen.queryByText("Task #7 created")).not.toBeInTheDocument();
  });

  it("clears its timers when dismissed and when unmounted", () => {
    const { push, unmount } = mount();
    push({ kind: "info", text: "First" });
    push({ kind: "error", text: "Second" });
    expect(vi.getTimerCount()).toBe(2);
    act(() => screen.getAllByRole("button", { name: "Dismiss" })[0]?.click());
    expect(vi.getTimerCount()).toBe(1);
    unmount();
    expect(vi.getTimerCount()).toBe(0);
  });
});
