import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { installFakeApi } from "../../test/fakeApi";
import { makeTask } from "../../test/fixtures";
import { renderApp } from "../../test/render";

describe("kanban board", () => {
  it("moves a focused card to the next column with Shift+→ and keeps focus on it", async () => {
    const api = installFakeApi([makeTask({ id: 5, title: "Fix export", status: "open" })]);
    const user = userEvent.setup();
    renderApp("/board");
    const card = await within(await screen.findByTestId("column-open")).findByText("Fix export");
    const link = card.closest("a")!;
    link.focus();
    await user.keyboard("{Shift>}{ArrowRight}{/Shift}");

    await waitFor(() => expect(within(screen.getByTestId("column-in_progress")).getByText("Fix export")).toBeInTheDocument());
    expect(within(screen.getByTestId("column-open")).queryByText("Fix export")).not.toBeInTheDocument();
    expect(api.patches()).toEqual([{ id: 5, body: { status: "in_progress" } }]);
    await waitFor(() => expect(document.activeElement).toHaveAttribute("data-task-id", "5"));
    expect(screen.getByText("Task #5 moved to In progress")).toBeInTheDocument();
  });

  it("puts the card back when the server refuses the move", async () => {
    const api = installFakeApi([makeTask({ id: 6, title: "Refused", status: "open" })]);
    const fetch = vi.mocked(globalThis.fetch);
    const serve = fetch.getMockImplementation()!;
    const user = userEvent.setup();
    renderApp("/board");
    const link = (await screen.findByText("Refused")).closest("a")!;
    fetch.mockImplementation(async (input, init) =>
      input instanceof Request && input.method === "PATCH"
        ? new Response(JSON.stringify({ detail: "task is locked", code: "conflict" }), { status: 409 })
        : serve(input, init),
    );
    link.focus();
    await user.keyboard("{Shift>}{ArrowRight}{/Shift}");
    expect(await screen.findByText(/task is locked/)).toBeInTheDocument();
    await waitFor(() => expect(within(screen.getByTestId("column-open")).getByText("Refused")).toBeInTheDocument());
    expect(api.tasks[0]?.status).toBe("open");
  });

  it("keeps the second of two quick moves when the first answer arrives after it", async () => {
    installFakeApi([makeTask({ id: 8, title: "Quick mover", status: "open" })]);
    const fetch = vi.mocked(globalThis.fetch);
    const serve = fetch.getMockImplementation()!;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let delayed = false;
    fetch.mockImplementation(async (input, init) => {
      const response = await serve(input, init);
      if (input instanceof Request && input.method === "PATCH" && !delayed) {
        delayed = true;
        await gate; // the answer "in progress" is delivered after the second move
      }
      return response;
    });
    const user = userEvent.setup();
    renderApp("/board");
    (await screen.findByText("Quick mover")).closest("a")!.focus();
    await user.keyboard("{Shift>}{ArrowRight}{/Shift}");
    await waitFor(() => expect(document.activeElement).toHaveAttribute("data-task-id", "8"));
    await user.keyboard("{Shift>}{ArrowRight}{/Shift}");
    await waitFor(() => expect(within(screen.getByTestId("column-completed")).getByText("Quick mover")).toBeInTheDocument());
    release();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(within(screen.getByTestId("column-completed")).getByText("Quick mover")).toBeInTheDocument();
    expect(within(screen.getByTestId("column-in_progress")).queryByText("Quick mover")).not.toBeInTheDocument();
  });

  it("shows an empty column message and a loading-free board when there are no tasks", async () => {
    installFakeApi([]);
    renderApp("/board");
    expect(await within(await screen.findByTestId("column-completed")).findByText("Nothing here")).toBeInTheDocument();
  });
});
