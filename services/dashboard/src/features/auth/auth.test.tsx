import { act, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { notifyUnauthorized } from "../../api/client";
import type { Role, User } from "../../api/types";
import { installFakeApi, type FakeApi } from "../../test/fakeApi";
import { FakeWebSocket } from "../../test/fakeSocket";
import { makeTask } from "../../test/fixtures";
import { renderApp } from "../../test/render";

function account(id: number, username: string, role: Role, password = "correct horse"): User & { password: string } {
  return {
    id,
    username,
    email: null,
    role,
    disabled: false,
    telegram_user_id: null,
    created_at: "2026-11-01T10:00:00Z",
    password,
  };
}

/** A server with accounts on and nobody signed in. */
function authOn(api: FakeApi, ...users: Array<User & { password: string }>): FakeApi {
  api.auth.mode = "on";
  api.auth.me = null;
  api.auth.users = users;
  return api;
}

function signIn(api: FakeApi, username: string) {
  const user = api.auth.users.find((row) => row.username === username)!;
  api.auth.me = { id: user.id, username: user.username, email: user.email ?? null, role: user.role, via: "session" };
}

describe("signing in", () => {
  it("sends an anonymous visitor to the login page and back where they were going", async () => {
    const api = authOn(installFakeApi([makeTask({ id: 3, title: "Rotate keys" })]), account(1, "ann", "editor"));
    const user = userEvent.setup();
    const { router } = renderApp("/tasks/3?tab=x");
    await screen.findByRole("heading", { level: 1, name: "Sign in to Task Tracker" });
    expect(router.state.location.pathname).toBe("/login");
    expect(router.state.location.search).toBe(`?next=${encodeURIComponent("/tasks/3?tab=x")}`);
    expect(FakeWebSocket.instances).toHaveLength(0); // no live connection before signing in

    await user.type(screen.getByLabelText("Username"), "ann");
    await user.type(screen.getByLabelText("Password"), "correct horse");
    await user.click(screen.getByRole("button", { name: "Sign in" }));

    expect(await screen.findByRole("heading", { level: 1, name: "Rotate keys" })).toBeInTheDocument();
    expect(router.state.location.pathname).toBe("/tasks/3");
    expect(router.state.location.search).toBe("?tab=x");
    expect(api.requests.find((r) => r.path === "/api/auth/login")?.body).toEqual({ username: "ann", password: "correct horse" });
    expect(screen.getByTestId("user-name")).toHaveTextContent("ann");
    expect(screen.getByTestId("user-role")).toHaveTextContent("Editor");
  });

  it("says when the password is wrong, and clears it", async () => {
    authOn(installFakeApi([]), account(1, "ann", "editor"));
    const user = userEvent.setup();
    renderApp("/login");
    await user.type(await screen.findByLabelText("Username"), "ann");
    await user.type(screen.getByLabelText("Password"), "wrong");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByText("Wrong username or password.")).toBeInTheDocument();
    expect(screen.getByLabelText("Password")).toHaveValue("");
  });

  it("counts down a rate limit and keeps the button off until it is over", async () => {
    const api = authOn(installFakeApi([]), account(1, "ann", "editor"));
    api.auth.rateLimitSeconds = 2;
    const user = userEvent.setup();
    renderApp("/login");
    await user.type(await screen.findByLabelText("Username"), "ann");
    await user.type(screen.getByLabelText("Password"), "correct horse");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByText("Too many attempts. Try again in 2 s.")).toBeInTheDocument();
    await user.type(screen.getByLabelText("Password"), "correct horse");
    expect(screen.getByRole("button", { name: "Sign in" })).toBeDisabled();
    expect(await screen.findByText("Too many attempts. Try again in 1 s.", {}, { timeout: 2000 })).toBeInTheDocument();
    expect(await screen.findByText("You can try again now.", {}, { timeout: 2000 })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Sign in" })).toBeEnabled();
  });

  it("ignores a next= that leaves the app", async () => {
    authOn(installFakeApi([]), account(1, "ann", "viewer"));
    const user = userEvent.setup();
    const { router } = renderApp(`/login?next=${encodeURIComponent("//evil.example/x")}`);
    await user.type(await screen.findByLabelText("Username"), "ann");
    await user.type(screen.getByLabelText("Password"), "correct horse");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    await waitFor(() => expect(router.state.location.pathname).toBe("/board"));
  });

  it("shows no login at all when the server runs without accounts", async () => {
    const api = installFakeApi([]);
    const { router } = renderApp("/login?next=%2Finbox");
    await waitFor(() => expect(router.state.location.pathname).toBe("/inbox"));
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Account: local Admin" }));
    expect(screen.getByTestId("user-menu")).toHaveTextContent("Accounts are off");
    expect(screen.queryByRole("button", { name: "Sign out" })).not.toBeInTheDocument();
    expect(api.requests.some((r) => r.path === "/api/auth/ws-ticket")).toBe(false);
  });
});

describe("a signed-in session", () => {
  it("opens the live connection with a one-time ticket", async () => {
    const api = authOn(installFakeApi([]), account(1, "ann", "editor"));
    signIn(api, "ann");
    renderApp("/board");
    await waitFor(() => expect(FakeWebSocket.instances).toHaveLength(1));
    expect(FakeWebSocket.last().url).toBe("ws://localhost:3000/ws?ticket=ticket-1");
    act(() => FakeWebSocket.last().drop(4401));
    expect(await screen.findByRole("heading", { level: 1, name: "Sign in to Task Tracker" })).toBeInTheDocument();
  });

  it("goes to the login page when a request finds the session gone", async () => {
    const api = authOn(installFakeApi([makeTask({ id: 1, title: "Old" })]), account(1, "ann", "editor"));
    signIn(api, "ann");
    const { router } = renderApp("/inbox");
    await screen.findByRole("heading", { level: 1, name: "Inbox" });
    api.auth.me = null; // expired on the server
    act(() => notifyUnauthorized());
    await screen.findByRole("heading", { level: 1, name: "Sign in to Task Tracker" });
    expect(router.state.location.search).toBe("?next=%2Finbox");
    expect(screen.getByText("Sign in to continue.")).toBeInTheDocument();
  });

  it("signs out from the user menu", async () => {
    const api = authOn(installFakeApi([]), account(1, "ann", "admin"));
    signIn(api, "ann");
    const user = userEvent.setup();
    const { router } = renderApp("/board");
    await user.click(await screen.findByRole("button", { name: "Account: ann Admin" }));
    const menu = screen.getByTestId("user-menu");
    expect(within(menu).getByRole("link", { name: "Administration" })).toBeInTheDocument();
    await user.click(within(menu).getByRole("button", { name: "Sign out" }));
    await screen.findByRole("heading", { level: 1, name: "Sign in to Task Tracker" });
    // To the login page itself, not back here through the gate (`?next=%2Fboard`).
    expect(router.state.location.pathname).toBe("/login");
    expect(router.state.location.search).toBe("");
    expect(api.requests.some((r) => r.method === "POST" && r.path === "/api/auth/logout")).toBe(true);
    expect(api.auth.me).toBeNull();
  });
});

describe("an editor's own API tokens", () => {
  it("are a page of the user menu, without everyone's", async () => {
    const api = authOn(installFakeApi([]), account(3, "eve", "editor"));
    signIn(api, "eve");
    const user = userEvent.setup();
    const { router } = renderApp("/board");
    await user.click(await screen.findByRole("button", { name: "Account: eve Editor" }));
    await user.click(screen.getByRole("link", { name: "Your API tokens" }));
    expect(router.state.location.pathname).toBe("/account/tokens");
    expect(await screen.findByText("No API tokens")).toBeInTheDocument();
    expect(screen.queryByRole("group", { name: "Whose tokens" })).not.toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: /New token/ }));
    await user.type(within(screen.getByRole("dialog", { name: "New token" })).getByLabelText("Name"), "laptop");
    await user.click(screen.getByRole("button", { name: "Create token" }));
    expect(await screen.findByTestId("new-token")).toHaveTextContent(/^tt_/);
    const listed = api.requests.filter((r) => r.method === "GET" && r.path === "/api/tokens");
    expect(listed.every((r) => r.query.get("user_id") === "3")).toBe(true);
    expect(api.requests.some((r) => r.path === "/api/users")).toBe(false);
  });
});

describe("a viewer", () => {
  it("sees the board without write controls", async () => {
    const api = authOn(installFakeApi([makeTask({ id: 7, title: "Look only", status: "open" })]), account(2, "vic", "viewer"));
    signIn(api, "vic");
    const user = userEvent.setup();
    renderApp("/board");
    const card = (await screen.findByText("Look only")).closest("a")!;
    expect(screen.queryByRole("button", { name: /New task/ })).not.toBeInTheDocument();
    expect(screen.getByTestId("read-only")).toBeInTheDocument();
    expect(card).not.toHaveAttribute("aria-roledescription");
    card.focus();
    await user.keyboard("{Shift>}{ArrowRight}{/Shift}");
    await user.keyboard("c");
    expect(api.patches()).toEqual([]);
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(screen.queryByRole("link", { name: "Administration" })).not.toBeInTheDocument();
  });

  it("reads a task without editing it", async () => {
    const api = authOn(installFakeApi([makeTask({ id: 8, title: "Read me" })]), account(2, "vic", "viewer"));
    signIn(api, "vic");
    renderApp("/tasks/8");
    await screen.findByRole("heading", { level: 1, name: "Read me" });
    expect(screen.queryByRole("button", { name: "Edit title" })).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Edit description" })).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /Delete/ })).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /Merge/ })).not.toBeInTheDocument();
    expect(screen.getByLabelText("Status")).toBeDisabled();
    expect(screen.getByLabelText("Assignee")).toBeDisabled();
  });

  it("is told there is no admin page", async () => {
    const api = authOn(installFakeApi([]), account(2, "vic", "editor"));
    signIn(api, "vic");
    renderApp("/admin/users");
    expect(await screen.findByText("There is no such page")).toBeInTheDocument();
    expect(api.requests.some((r) => r.path === "/api/users")).toBe(false);
  });
});
