import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it } from "vitest";
import { keys } from "../../api/keys";
import type { TaskDetail } from "../../api/types";
import { installFakeApi, type FakeApi } from "../../test/fakeApi";
import { makeMessage, makeTask } from "../../test/fixtures";
import { renderApp } from "../../test/render";

const section = (name: string) => screen.getByRole("region", { name: new RegExp(`^${name}`) });

describe("task page", () => {
  let api: FakeApi;
  beforeEach(() => {
    api = installFakeApi([
      makeTask({
        id: 7,
        title: "Checkout throws 500",
        description: "Since the last deploy.",
        category: "bug",
        priority: "high",
        assignee: "ann",
        labels: ["payments", "prod"],
        needs_review: true,
        source_message_id: 70,
        message_count: 2,
      }),
      makeTask({ id: 8, title: "Another task" }),
    ]);
    api.details[7] = {
      messages: [
        makeMessage({ id: 70, author: "bob", content: "Checkout is broken" }),
        makeMessage({ id: 71, author: null, content: "Same here" }),
      ],
      issues: [
        {
          id: 1,
          message_id: 70,
          category: "bug",
          priority: "high",
          actionable: true,
          confidence: 0.42,
          model: "builtin-nb",
          prompt_version: "v3",
          latency_ms: 12.4,
          title: "Checkout throws 500",
          summary: "",
          created_at: "2026-11-26T10:00:00Z",
        },
      ],
      activity: [
        { id: 1, kind: "created", actor: null, data: { source: "telegram" }, created_at: "2026-11-26T10:00:00Z" },
        {
          id: 2,
          kind: "status_changed",
          actor: "ann",
          data: { status: { from: "open", to: "in_progress" } },
          created_at: "2026-11-26T10:05:00Z",
        },
      ],
      exports: [
        {
          id: 1,
          task_id: 7,
          target_id: 1,
          target_name: "web repo",
          tracker: "github",
          status: "exported",
          external_id: "#42",
          url: "https://example.test/issues/42",
          attempts: 0,
          created_at: "2026-11-26T10:06:00Z",
        },
      ],
    };
  });

  it("shows the task, its messages, classifications, activity, exports and properties", async () => {
    renderApp("/tasks/7");
    expect(await screen.findByRole("heading", { level: 1, name: "Checkout throws 500" })).toBeInTheDocument();
    expect(screen.getByText("Since the last deploy.")).toBeInTheDocument();
    expect(screen.getByText("payments")).toBeInTheDocument();
    expect(screen.getAllByText("Needs review").length).toBeGreaterThan(0);

    const messages = section("Source messages");
    expect(within(messages).getAllByRole("listitem").map((item) => item.dataset.messageId)).toEqual(["70", "71"]);
    expect(within(messages).getByText("source").closest("li")).toHaveAttribute("data-message-id", "70");
    expect(within(messages).getByText("Unknown author")).toBeInTheDocument();

    const history = section("Classification history");
    expect(within(history).getByText("builtin-nb")).toBeInTheDocument();
    expect(within(history).getByText("12 ms")).toBeInTheDocument();

    const activity = section("Activity");
    const [created, changed] = within(activity).getAllByRole("listitem");
    expect(created).toHaveTextContent("System");
    expect(created).toHaveTextContent("source: telegram");
    expect(changed).toHaveTextContent("ann");
    expect(changed).toHaveTextContent("Status: Open → In progress");

    const exports = section("Exports");
    expect(within(exports).getByRole("link", { name: /#42/ })).toHaveAttribute("href", "https://example.test/issues/42");

    const properties = screen.getByRole("complementary", { name: "Properties" });
    expect(within(properties).getByLabelText("Status")).toHaveValue("open");
    expect(within(properties).getByLabelText("Priority")).toHaveValue("high");
    expect(within(properties).getByLabelText("Assignee")).toHaveValue("ann");
    expect(within(properties).getByLabelText("Labels")).toHaveValue("payments, prod");
    expect(within(properties).getByText("2 messages")).toBeInTheDocument();
  });

  it("says so when a section is empty", async () => {
    renderApp("/tasks/8");
    await screen.findByRole("heading", { level: 1, name: "Another task" });
    expect(within(section("Source messages")).getByText("No messages are linked to this task.")).toBeInTheDocument();
    expect(within(section("Activity")).getByText("No activity yet.")).toBeInTheDocument();
    expect(within(section("Exports")).getByText("Not exported to any tracker yet")).toBeInTheDocument();
  });

  it("saves an edited title with Enter and drops it with Escape", async () => {
    const user = userEvent.setup();
    renderApp("/tasks/7");
    await user.click(await screen.findByRole("button", { name: "Edit title" }));
    const field = screen.getByRole("textbox", { name: "Title" });
    expect(field).toHaveFocus();
    await user.clear(field);
    await user.type(field, "Checkout fails with 500{Enter}");
    await waitFor(() => expect(api.patches()).toEqual([{ id: 7, body: { title: "Checkout fails with 500" } }]));
    expect(await screen.findByRole("heading", { level: 1, name: "Checkout fails with 500" })).toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Edit title" }));
    expect(screen.getByRole("textbox", { name: "Title" })).toHaveValue("Checkout fails with 500");
    await user.type(screen.getByRole("textbox", { name: "Title" }), " and more{Escape}");
    expect(screen.getByRole("heading", { level: 1, name: "Checkout fails with 500" })).toBeInTheDocument();
    expect(api.patches()).toHaveLength(1);
  });

  it("edits the description, and cancel leaves it as it was", async () => {
    const user = userEvent.setup();
    renderApp("/tasks/7");
    await user.click(await screen.findByRole("button", { name: "Edit description" }));
    await user.type(screen.getByRole("textbox", { name: "Description" }), " Only on Safari.");
    await user.click(screen.getByRole("button", { name: "Cancel" }));
    expect(screen.getByText("Since the last deploy.")).toBeInTheDocument();
    expect(api.patches()).toEqual([]);

    await user.click(screen.getByRole("button", { name: "Edit description" }));
    expect(screen.getByRole("textbox", { name: "Description" })).toHaveValue("Since the last deploy.");
    await user.type(screen.getByRole("textbox", { name: "Description" }), " Only on Safari.");
    await user.click(screen.getByRole("button", { name: "Save" }));
    await waitFor(() =>
      expect(api.patches()).toEqual([{ id: 7, body: { description: "Since the last deploy. Only on Safari." } }]),
    );
  });

  it("changes properties: selects at once, text fields when left", async () => {
    const user = userEvent.setup();
    renderApp("/tasks/7");
    const properties = await screen.findByRole("complementary", { name: "Properties" });
    await user.selectOptions(within(properties).getByLabelText("Status"), "in_progress");
    await user.selectOptions(within(properties).getByLabelText("Category"), "feature");

    const assignee = within(properties).getByLabelText("Assignee");
    await user.clear(assignee);
    await user.type(assignee, "   {Enter}");
    const labels = within(properties).getByLabelText("Labels");
    await user.clear(labels);
    await user.type(labels, "prod, ux,  prod");
    await user.tab();
    await waitFor(() =>
      expect(api.patches()).toEqual([
        { id: 7, body: { status: "in_progress" } },
        { id: 7, body: { category: "feature" } },
        { id: 7, body: { assignee: null } },
        { id: 7, body: { labels: ["prod", "ux"] } },
      ]),
    );
    // leaving a field unchanged sends nothing
    await user.click(labels);
    await user.tab();
    expect(api.patches()).toHaveLength(4);
  });

  it("shows a change made elsewhere in the assignee field", async () => {
    const { client } = renderApp("/tasks/7");
    const assignee = await screen.findByLabelText("Assignee");
    expect(assignee).toHaveValue("ann");
    // what a live event (or another tab's save) does to the cache
    client.setQueryData<TaskDetail>(keys.task(7), (old) => (old ? { ...old, assignee: "carol" } : old));
    await waitFor(() => expect(assignee).toHaveValue("carol"));
  });

  it("announces a failed save as an error", async () => {
    const user = userEvent.setup();
    api.failures["PATCH /api/tasks/7"] = { status: 409, detail: "task was merged meanwhile" };
    renderApp("/tasks/7");
    await user.selectOptions(await screen.findByLabelText("Priority"), "urgent");
    const alert = await screen.findByText("task was merged meanwhile");
    expect(alert.closest("[role=alert]")).toHaveAttribute("aria-live", "assertive");
  });

  it("deletes after confirmation and goes back to the board", async () => {
    const user = userEvent.setup();
    const { router } = renderApp("/tasks/7");
    await user.click(await screen.findByRole("button", { name: "Delete" }));
    const dialog = await screen.findByRole("dialog", { name: "Delete task #7?" });
    expect(api.requests.some((request) => request.method === "DELETE")).toBe(false);
    await user.click(within(dialog).getByRole("button", { name: "Delete" }));
    await waitFor(() => expect(router.state.location.pathname).toBe("/board"));
    expect(api.requests.filter((request) => request.method === "DELETE").map((request) => request.path)).toEqual([
      "/api/tasks/7",
    ]);
    expect(await screen.findByText("Task #7 deleted")).toBeInTheDocument();
  });

  it("says the task does not exist", async () => {
    renderApp("/tasks/404");
    expect(await screen.findByText("Not found")).toBeInTheDocument();
    expect(within(screen.getByRole("main")).getByRole("link", { name: /Board/ })).toHaveAttribute("href", "/board");
  });
});
