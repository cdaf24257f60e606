import { act, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { Classification } from "../../api/types";
import { installFakeApi, type FakeApi } from "../../test/fakeApi";
import { FakeWebSocket } from "../../test/fakeSocket";
import { makeMessage } from "../../test/fixtures";
import { renderApp } from "../../test/render";

function classification(overrides: Partial<Classification> = {}): Classification {
  return {
    category: "bug",
    priority: "high",
    actionable: true,
    confidence: 0.91,
    model: "builtin-nb",
    prompt_version: null,
    latency_ms: 8.2,
    title: "Checkout fails",
    summary: "",
    ...overrides,
  };
}

const rows = () => screen.getAllByTestId("message");
const rowOf = (text: string) => screen.getByText(text).closest("li")!;
const listRequests = (api: FakeApi) => api.requests.filter((r) => r.method === "GET" && r.path === "/api/messages");

describe("inbox page", () => {
  let api: FakeApi;
  beforeEach(() => {
    api = installFakeApi(
      [],
      [
        makeMessage({
          id: 3,
          author: "ann",
          content: "Checkout throws 500",
          status: "classified",
          task_id: 7,
          classification: classification(),
        }),
        makeMessage({
          id: 2,
          author: null,
          content: "thanks all!",
          status: "classified",
          classification: classification({ category: "noise", actionable: false, priority: "low" }),
        }),
        makeMessage({ id: 1, author: "bob", content: "Can we export to CSV?", status: "failed" }),
      ],
    );
  });

  it("lists messages with their classification and what became of them", async () => {
    renderApp("/inbox");
    await screen.findByText("Checkout throws 500");
    expect(rows().map((row) => row.dataset.messageId)).toEqual(["3", "2", "1"]);

    const classified = rowOf("Checkout throws 500");
    expect(within(classified).getByText("Classified")).toBeInTheDocument();
    expect(within(classified).getByText("builtin-nb")).toBeInTheDocument();
    expect(within(classified).getByRole("link", { name: "Task #7" })).toHaveAttribute("href", "/tasks/7");

    const noise = rowOf("thanks all!");
    expect(within(noise).getByText("Unknown author")).toBeInTheDocument();
    expect(within(noise).getByText("No task")).toBeInTheDocument();

    expect(within(rowOf("Can we export to CSV?")).getByText("Classification failed; it will be retried.")).toBeInTheDocument();
    expect(screen.getByText("3 messages")).toBeInTheDocument();
  });

  it("filters by status, category and text through the URL", async () => {
    const user = userEvent.setup();
    const { router } = renderApp("/inbox");
    await screen.findByText("Checkout throws 500");

    await user.selectOptions(screen.getByRole("combobox", { name: "Status" }), "failed");
    expect(router.state.location.search).toBe("?status=failed");
    await waitFor(() => expect(rows().map((row) => row.dataset.messageId)).toEqual(["1"]));

    await user.selectOptions(screen.getByRole("combobox", { name: "Status" }), "");
    await user.click(screen.getByRole("button", { name: "Category" }));
    await user.click(within(screen.getByRole("group", { name: "Category" })).getByLabelText("Noise"));
    expect(router.state.location.search).toBe("?category=noise");
    await waitFor(() => expect(rows().map((row) => row.dataset.messageId)).toEqual(["2"]));
    await user.keyboard("{Escape}");
    expect(screen.getByRole("button", { name: "Category" })).toHaveFocus();

    await user.type(screen.getByRole("searchbox", { name: "Search" }), "thanks");
    await waitFor(() => expect(router.state.location.search).toBe("?category=noise&q=thanks"));
    await waitFor(() => expect(listRequests(api).at(-1)?.query.get("q")).toBe("thanks"));
    expect(listRequests(api).at(-1)?.query.getAll("category")).toEqual(["noise"]);
  });

  it("sends a new message from the compose dialog", async () => {
    const user = userEvent.setup();
    renderApp("/inbox");
    await screen.findByText("Checkout throws 500");
    await user.click(screen.getByRole("button", { name: "New message" }));
    const dialog = await screen.findByRole("dialog", { name: "New message" });
    const send = within(dialog).getByRole("button", { name: "Send" });
    expect(send).toBeDisabled();
    await user.type(within(dialog).getByLabelText("Message"), "  Search is slow on big boards  ");
    await user.type(within(dialog).getByLabelText("Author"), "carol");
    await user.clear(within(dialog).getByLabelText("Channel"));
    await user.click(send);

    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    expect(api.requests.find((r) => r.method === "POST" && r.path === "/api/messages")?.body).toEqual({
      content: "Search is slow on big boards",
      author: "carol",
      channel: "api",
    });
    expect(await screen.findByText("Message sent for classification")).toHaveClass("toast__text");
    expect(screen.getByText("Message sent for classification").closest("[role=status]")).toHaveAttribute("aria-live", "polite");
  });

  it("shows the server's refusal in the compose dialog", async () => {
    const user = userEvent.setup();
    api.failures["POST /api/messages"] = { status: 409, detail: "channel is disabled" };
    renderApp("/inbox");
    await user.click(await screen.findByRole("button", { name: "New message" }));
    const dialog = await screen.findByRole("dialog", { name: "New message" });
    await user.type(within(dialog).getByLabelText("Message"), "hello");
    await user.click(within(dialog).getByRole("button", { name: "Send" }));
    expect(await within(dialog).findByRole("alert")).toHaveTextContent("channel is disabled");
  });

  it("offers to write the first message when there is none", async () => {
    api.messages = [];
    renderApp("/inbox");
    expect(await screen.findByText("No messages yet")).toBeInTheDocument();
  });

  it("puts a message that arrives live at the top and highlights it briefly", async () => {
    renderApp("/inbox");
    await screen.findByText("Checkout throws 500");
    await vi.waitFor(() => expect(FakeWebSocket.instances).toHaveLength(1));
    act(() => FakeWebSocket.last().open());
    expect(rowOf("Checkout throws 500")).not.toHaveClass("feed__item--fresh");

    const arrived = makeMessage({ id: 4, content: "Login page is blank", received_at: "2026-11-26T11:00:00Z" });
    act(() => FakeWebSocket.last().receive({ type: "message.received", id: "e1", ts: "t", data: arrived }));
    await waitFor(() => expect(rows()[0]).toHaveAttribute("data-message-id", "4"));
    expect(rowOf("Login page is blank")).toHaveClass("feed__item--fresh");
    expect(rowOf("Checkout throws 500")).not.toHaveClass("feed__item--fresh");
    await waitFor(() => expect(rowOf("Login page is blank")).not.toHaveClass("feed__item--fresh"), { timeout: 4000 });
  });
});
