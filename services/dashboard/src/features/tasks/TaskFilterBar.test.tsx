import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it } from "vitest";
import { installFakeApi, type FakeApi } from "../../test/fakeApi";
import { makeTask } from "../../test/fixtures";
import { renderApp } from "../../test/render";

describe("board filters and the URL", () => {
  let api: FakeApi;
  beforeEach(() => {
    api = installFakeApi([
      makeTask({ id: 1, title: "Crash on login", category: "bug", status: "open" }),
      makeTask({ id: 2, title: "Dark mode", category: "feature", status: "open" }),
    ]);
  });

  it("shows the filters written in the URL and asks the API for them", async () => {
    renderApp("/board?category=bug&priority=high&needs_review=true&q=crash");
    expect(await screen.findByRole("searchbox", { name: "Search" })).toHaveValue("crash");
    expect(screen.getByRole("button", { name: "Category" })).toHaveTextContent("Bug");
    expect(screen.getByRole("combobox", { name: "Review" })).toHaveValue("true");
    await waitFor(() => {
      const list = api.requests.find((request) => request.path === "/api/tasks" && request.query.get("status") === "open");
      expect(list?.query.getAll("category")).toEqual(["bug"]);
      expect(list?.query.get("priority")).toBe("high");
      expect(list?.query.get("needs_review")).toBe("true");
      expect(list?.query.get("q")).toBe("crash");
    });
  });

  it("writes a chosen filter into the URL and narrows the board", async () => {
    const user = userEvent.setup();
    const { router } = renderApp("/board");
    expect(await screen.findByText("Dark mode")).toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Category" }));
    await user.click(within(screen.getByRole("group", { name: "Category" })).getByLabelText("Bug"));
    expect(router.state.location.search).toBe("?category=bug");
    await waitFor(() => expect(screen.queryByText("Dark mode")).not.toBeInTheDocument());
    expect(screen.getByText("Crash on login")).toBeInTheDocument();

    await user.keyboard("{Escape}");
    await user.type(screen.getByRole("searchbox", { name: "Search" }), "crash");
    await waitFor(() => expect(router.state.location.search).toBe("?category=bug&q=crash"));

    // On a loaded machine the board can re-render more than findBy's default second after the URL
    // changed (this failed 3 runs in 4 at load 11, on main as well): allow five.
    await user.click(await screen.findByRole("button", { name: /Clear \(2\)/ }, { timeout: 5000 }));
    expect(router.state.location.search).toBe("");
  });

  it("keeps the table view in the URL next to the filters", async () => {
    const user = userEvent.setup();
    const { router } = renderApp("/board?status=open");
    await user.click(await screen.findByTestId("view-table"));
    expect(router.state.location.search).toBe("?status=open&view=table");
    expect(await screen.findByTestId("task-table")).toBeInTheDocument();
  });
});
