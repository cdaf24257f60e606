import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { ApiError } from "../api/client";
import { I18nProvider } from "../i18n/I18nProvider";
import { FormDialog } from "./FormDialog";
import { QueryView, isEmptyData, type ViewableQuery } from "./QueryView";

function query<T>(state: Partial<ViewableQuery<T>>): ViewableQuery<T> {
  return { data: undefined, isPending: false, error: null, refetch: vi.fn(() => Promise.resolve()), ...state };
}

function show<T>(q: ViewableQuery<T>, props: { empty?: React.ReactNode; frame?: (node: React.ReactNode) => React.ReactNode } = {}) {
  return render(
    <I18nProvider locale="en">
      <QueryView query={q} empty={props.empty ?? <p>Nothing yet</p>} frame={props.frame}>
        {(data) => <p>{`rows: ${JSON.stringify(data)}`}</p>}
      </QueryView>
    </I18nProvider>,
  );
}

describe("QueryView", () => {
  it("shows the loading state until there is data", () => {
    show(query({ isPending: true }));
    expect(screen.getByRole("status")).toHaveAttribute("aria-busy", "true");
    expect(screen.queryByText(/rows:/)).not.toBeInTheDocument();
  });

  it("shows the error with a retry that refetches", async () => {
    const q = query({ error: new ApiError(500, "Database unavailable", null) });
    show(q);
    expect(screen.getByRole("alert")).toHaveTextContent("Database unavailable");
    await userEvent.click(screen.getByRole("button", { name: "Try again" }));
    expect(q.refetch).toHaveBeenCalledOnce();
  });

  it("shows the empty state for an empty list, a page of none and an infinite query of empty pages", () => {
    for (const data of [[], { data: [] }, { pages: [{ data: [] }, { data: [] }] }]) {
      const { unmount } = show(query({ data }));
      expect(screen.getByText("Nothing yet")).toBeInTheDocument();
      unmount();
    }
  });

  it("renders the data, and keeps it on screen when a background refetch fails", () => {
    show(query({ data: { data: [1, 2] }, error: new ApiError(503, "down", null) }));
    expect(screen.getByText('rows: {"data":[1,2]}')).toBeInTheDocument();
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
  });

  it("frames the states but not the data", () => {
    const frame = (node: React.ReactNode) => <section aria-label="frame">{node}</section>;
    const { unmount } = show(query({ isPending: true }), { frame });
    expect(screen.getByRole("region", { name: "frame" })).toBeInTheDocument();
    unmount();
    show(query({ data: [3] }), { frame });
    expect(screen.queryByRole("region", { name: "frame" })).not.toBeInTheDocument();
    expect(screen.getByText("rows: [3]")).toBeInTheDocument();
  });

  it("tells which answers are empty", () => {
    expect([[], [0], { data: [] }, { data: [1] }, { pages: [] }, { pages: [{ data: [1] }] }, { total: 0 }, null].map(isEmptyData)).toEqual([
      true,
      false,
      true,
      false,
      true,
      false,
      false,
      false,
    ]);
  });
});

describe("FormDialog", () => {
  function mount(props: { canSubmit?: boolean; pending?: boolean; error?: unknown }) {
    const onSubmit = vi.fn();
    const onClose = vi.fn();
    const { unmount } = render(
      <I18nProvider locale="en">
        <FormDialog open onClose={onClose} title="New thing" onSubmit={onSubmit} submitLabel="Create" {...props}>
          <label>
            Name <input />
          </label>
        </FormDialog>
      </I18nProvider>,
    );
    return { onSubmit, onClose, unmount };
  }

  it("submits from the footer button and from Enter in a field", async () => {
    const user = userEvent.setup();
    const { onSubmit } = mount({});
    await user.click(screen.getByRole("button", { name: "Create" }));
    await user.type(screen.getByLabelText("Name"), "x{Enter}");
    expect(onSubmit).toHaveBeenCalledTimes(2);
  });

  it("does not submit while it cannot or while the last submit is pending", async () => {
    const user = userEvent.setup();
    for (const props of [{ canSubmit: false }, { pending: true }]) {
      const { onSubmit, unmount } = mount(props);
      expect(screen.getByRole("button", { name: "Create" })).toBeDisabled();
      await user.type(screen.getByLabelText("Name"), "x{Enter}");
      expect(onSubmit).not.toHaveBeenCalled();
      unmount();
    }
  });

  it("shows why the last attempt failed, and cancels", async () => {
    const user = userEvent.setup();
    const { onClose } = mount({ error: new ApiError(409, "Name taken", null) });
    expect(screen.getByRole("alert")).toHaveTextContent("Name taken");
    await user.click(screen.getByRole("button", { name: "Cancel" }));
    expect(onClose).toHaveBeenCalledOnce();
  });
});
