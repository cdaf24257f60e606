import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import type { Role, User } from "../../api/types";
import { installFakeApi, type FakeApi } from "../../test/fakeApi";
import { renderApp } from "../../test/render";

function account(id: number, username: string, role: Role): User & { password: string } {
  return {
    id,
    username,
    email: null,
    role,
    disabled: false,
    telegram_user_id: null,
    created_at: "2026-11-01T10:00:00Z",
    password: "pw",
  };
}

function asAdmin(): FakeApi {
  const api = installFakeApi([]);
  api.auth.mode = "on";
  api.auth.users = [account(1, "root", "admin"), account(2, "ann", "editor")];
  api.auth.me = { id: 1, username: "root", email: null, role: "admin", via: "session" };
  return api;
}

const lastRequest = (api: FakeApi, method: string, path: string) =>
  [...api.requests].reverse().find((r) => r.method === method && r.path === path);

describe("admin page", () => {
  it("is in the navigation for admins and opens on the users", async () => {
    asAdmin();
    const user = userEvent.setup();
    const { router } = renderApp("/board");
    await user.click(await screen.findByRole("link", { name: "Administration" }));
    await screen.findByRole("heading", { level: 1, name: "Administration" });
    expect(router.state.location.pathname).toBe("/admin/users");
    const rows = await screen.findAllByTestId("user-row");
    expect(rows.map((row) => row.dataset.username)).toEqual(["root", "ann"]);
    expect(within(rows[0]!).getByRole("button", { name: "Disable root" })).toBeDisabled(); // not oneself
  });

  it("creates a user with a role", async () => {
    const api = asAdmin();
    const user = userEvent.setup();
    renderApp("/admin/users");
    await user.click(await screen.findByRole("button", { name: /New user/ }));
    const dialog = screen.getByRole("dialog", { name: "New user" });
    await user.type(within(dialog).getByLabelText("Username"), "vic");
    await user.type(within(dialog).getByLabelText("Password"), "s3cret-enough");
    await user.selectOptions(within(dialog).getByLabelText("Role"), "viewer");
    await user.click(within(dialog).getByRole("button", { name: "Create user" }));
    expect(await screen.findByText("User vic created")).toBeInTheDocument();
    expect(lastRequest(api, "POST", "/api/users")?.body).toEqual({ username: "vic", email: null, password: "s3cret-enough", role: "viewer" });
    await waitFor(() => expect(screen.getAllByTestId("user-row")).toHaveLength(3));
  });

  it("shows why a user was not created", async () => {
    asAdmin();
    const user = userEvent.setup();
    renderApp("/admin/users");
    await user.click(await screen.findByRole("button", { name: /New user/ }));
    const dialog = screen.getByRole("dialog", { name: "New user" });
    await user.type(within(dialog).getByLabelText("Username"), "ann");
    await user.type(within(dialog).getByLabelText("Password"), "whatever-long-enough");
    await user.click(within(dialog).getByRole("button", { name: "Create user" }));
    expect(await within(dialog).findByRole("alert")).toHaveTextContent("user ann exists");
  });

  it("changes a role, disables a user and sets a Telegram user id", async () => {
    const api = asAdmin();
    const user = userEvent.setup();
    renderApp("/admin/users");
    await screen.findAllByTestId("user-row");
    await user.selectOptions(screen.getByLabelText("Role of ann"), "admin");
    await waitFor(() => expect(lastRequest(api, "PATCH", "/api/users/2")?.body).toEqual({ role: "admin" }));

    await user.click(screen.getByRole("button", { name: "Disable ann" }));
    await waitFor(() => expect(lastRequest(api, "PATCH", "/api/users/2")?.body).toEqual({ disabled: true }));
    expect(await screen.findByRole("button", { name: "Enable ann" })).toBeInTheDocument();

    const telegram = screen.getByLabelText("Telegram user id of ann");
    await user.type(telegram, "12ab");
    expect(telegram).toHaveAttribute("aria-invalid", "true");
    await user.clear(telegram);
    await user.type(telegram, "123456789{Enter}");
    await waitFor(() => expect(lastRequest(api, "PATCH", "/api/users/2")?.body).toEqual({ telegram_user_id: 123456789 }));
  });

  it("creates a token, shows it once with a copy button, and revokes it", async () => {
    const api = asAdmin();
    const user = userEvent.setup(); // with a stand-in clipboard
    renderApp("/admin/tokens");
    expect(await screen.findByText("No API tokens")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: /New token/ }));
    const form = screen.getByRole("dialog", { name: "New token" });
    await user.type(within(form).getByLabelText("Name"), "ci-import");
    await user.selectOptions(within(form).getByLabelText("Expires"), "30");
    await user.click(within(form).getByRole("button", { name: "Create token" }));

    const reveal = await screen.findByRole("dialog", { name: "Token “ci-import” created" });
    expect(lastRequest(api, "POST", "/api/tokens")?.body).toEqual({ name: "ci-import", expires_in_days: 30 });
    expect(within(reveal).getByTestId("new-token")).toHaveTextContent("tt_secret1abcdef");
    await user.click(within(reveal).getByRole("button", { name: "Copy" }));
    expect(await navigator.clipboard.readText()).toBe("tt_secret1abcdef");
    expect(await screen.findByText("Token copied")).toBeInTheDocument();
    await user.click(within(reveal).getByRole("button", { name: "I have copied it" }));
    // Once closed, the secret is nowhere on the page: the list shows its prefix only.
    const row = await screen.findByTestId("token-row");
    expect(document.body).not.toHaveTextContent("tt_secret1abcdef");
    expect(row).toHaveTextContent("tt_secre…");

    await user.click(within(row).getByRole("button", { name: "Revoke token ci-import" }));
    const confirm = screen.getByRole("dialog", { name: "Revoke token “ci-import”?" });
    await user.click(within(confirm).getByRole("button", { name: "Revoke" }));
    expect(await screen.findByText("Token ci-import revoked")).toBeInTheDocument();
    expect(lastRequest(api, "DELETE", "/api/tokens/1")).toBeDefined();
    // Revoked tokens stay listed, marked, with nothing left to do.
    await waitFor(() => expect(within(screen.getByTestId("token-row")).getByText("revoked")).toBeInTheDocument());
    expect(within(screen.getByTestId("token-row")).queryByRole("button")).not.toBeInTheDocument();
  });
});
