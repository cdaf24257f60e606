import { act, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { installFakeApi } from "../test/fakeApi";
import { FakeWebSocket } from "../test/fakeSocket";
import { makeTask } from "../test/fixtures";
import { renderApp } from "../test/render";

describe("live connection", () => {
  it("announces connected, reconnecting and connected again, and refetches after the reconnect", async () => {
    const api = installFakeApi([makeTask({ id: 1, title: "One" })]);
    renderApp("/board");
    const indicator = await screen.findByTestId("connection");
    expect(indicator).toHaveAttribute("data-state", "connecting");
    await vi.waitFor(() => expect(FakeWebSocket.instances).toHaveLength(1));
    expect(FakeWebSocket.last().url).toBe("ws://localhost:3000/ws");

    act(() => FakeWebSocket.last().open());
    expect(indicator).toHaveAttribute("data-state", "connected");
    expect(indicator).toHaveTextContent("Live");

    act(() => FakeWebSocket.last().drop());
    expect(indicator).toHaveAttribute("data-state", "reconnecting");
    expect(indicator).toHaveTextContent("Reconnecting…");

    const before = api.requests.filter((request) => request.path === "/api/tasks").length;
    await vi.waitFor(() => expect(FakeWebSocket.instances).toHaveLength(2), { timeout: 3000 });
    act(() => FakeWebSocket.last().open());
    expect(indicator).toHaveAttribute("data-state", "connected");
    await vi.waitFor(() => expect(api.requests.filter((request) => request.path === "/api/tasks").length).toBeGreaterThan(before));
  });

  it("applies a live task event to the board without a refetch", async () => {
    const api = installFakeApi([]);
    renderApp("/board");
    await vi.waitFor(() => expect(FakeWebSocket.instances).toHaveLength(1));
    act(() => FakeWebSocket.last().open());
    await screen.findAllByText("Nothing here");
    const requests = api.requests.length;
    act(() =>
      FakeWebSocket.last().receive({
        id: "e1",
        type: "task.created",
        ts: "2026-11-26T10:00:00Z",
        data: makeTask({ id: 42, title: "Arrived live", status: "open" }),
      }),
    );
    expect(await screen.findByText("Arrived live")).toBeInTheDocument();
    expect(api.requests.slice(requests).filter((request) => request.path === "/api/tasks")).toHaveLength(0);
  });
});
