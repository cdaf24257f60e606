import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it } from "vitest";
import { installFakeApi, type FakeApi } from "../../test/fakeApi";
import { makeTask } from "../../test/fixtures";
import { renderApp } from "../../test/render";

const selectedTitle = () => within(screen.getByTestId("review-detail")).getByRole("heading", { level: 2 }).textContent;

describe("review queue keyboard shortcuts", () => {
  let api: FakeApi;
  beforeEach(() => {
    api = installFakeApi([
      makeTask({ id: 3, title: "Newest", needs_review: true, created_at: "2026-11-26T12:00:00Z", category: "question", priority: "low" }),
      makeTask({ id: 2, title: "Middle", needs_review: true, created_at: "2026-11-26T11:00:00Z" }),
      makeTask({ id: 1, title: "Oldest", needs_review: true, created_at: "2026-11-26T10:00:00Z" }),
      makeTask({ id: 4, title: "Already reviewed", needs_review: false }),
    ]);
  });

  it("moves with j and k and lists only tasks that need review", async () => {
    const user = userEvent.setup();
    renderApp("/review");
    await screen.findByTestId("review-detail");
    expect(screen.getAllByTestId("review-item").map((item) => item.dataset.reviewId)).toEqual(["3", "2", "1"]);
    expect(selectedTitle()).toBe("Newest");
    await user.keyboard("j");
    expect(selectedTitle()).toBe("Middle");
    await user.keyboard("jjj");
    expect(selectedTitle()).toBe("Oldest");
    await user.keyboard("k");
    expect(selectedTitle()).toBe("Middle");
    expect(screen.getByRole("button", { current: true })).toHaveTextContent("Middle");
  });

  it("corrects priority and category with number and letter keys", async () => {
    const user = userEvent.setup();
    renderApp("/review");
    await screen.findByTestId("review-detail");
    await user.keyboard("1");
    await user.keyboard("b");
    await waitFor(() =>
      expect(api.patches()).toEqual([
        { id: 3, body: { priority: "urgent" } },
        { id: 3, body: { category: "bug" } },
      ]),
    );
    expect(screen.getByTestId("set-priority-urgent")).toHaveAttribute("aria-pressed", "true");
    expect(screen.getByTestId("set-category-bug")).toHaveAttribute("aria-pressed", "true");
    // the server counts a correction as the review, but the task stays selected until we move on
    expect(selectedTitle()).toBe("Newest");
    expect(await screen.findByText("Reviewed")).toBeInTheDocument();
    await user.keyboard("j");
    expect(selectedTitle()).toBe("Middle");
    await waitFor(() => expect(screen.getAllByTestId("review-item").map((item) => item.dataset.reviewId)).toEqual(["2", "1"]));
  });

  it("approves with a and dismisses as noise with n, moving on to the next task", async () => {
    const user = userEvent.setup();
    renderApp("/review");
    await screen.findByTestId("review-detail");
    await user.keyboard("a");
    await waitFor(() => expect(selectedTitle()).toBe("Middle"));
    expect(screen.getAllByTestId("review-item")).toHaveLength(2);
    await user.keyboard("n");
    await waitFor(() => expect(selectedTitle()).toBe("Oldest"));
    await waitFor(() =>
      expect(api.patches()).toEqual([
        { id: 3, body: { needs_review: false } },
        { id: 2, body: { category: "noise", status: "closed", needs_review: false } },
      ]),
    );
    expect(screen.getByText("Task #2 dismissed as noise")).toBeInTheDocument();
  });

  it("opens the merge dialog with m and merges into the chosen task", async () => {
    const user = userEvent.setup();
    renderApp("/review");
    await screen.findByTestId("review-detail");
    await user.keyboard("m");
    const dialog = await screen.findByRole("dialog", { name: "Merge task #3 into…" });
    await user.click(await within(dialog).findByRole("radio", { name: /Middle/ }));
    // typing in the dialog must not trigger queue shortcuts
    expect(api.patches()).toEqual([]);
    await user.click(within(dialog).getByRole("button", { name: "Merge into #2" }));
    await waitFor(() => expect(api.requests.some((r) => r.method === "POST" && r.path === "/api/tasks/3/merge")).toBe(true));
    expect(api.requests.find((r) => r.path === "/api/tasks/3/merge")?.body).toEqual({ into: 2 });
  });

  it("lists the shortcuts in the help overlay", async () => {
    const user = userEvent.setup();
    renderApp("/review");
    await screen.findByTestId("review-detail");
    await user.keyboard("?");
    const help = await screen.findByRole("dialog", { name: "Keyboard shortcuts" });
    expect(within(help).getByText("Approve the classification")).toBeInTheDocument();
    expect(within(help).getByText("Dismiss as noise (closes the task)")).toBeInTheDocument();
  });
});
