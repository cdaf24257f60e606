import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it } from "vitest";
import { installFakeApi, type FakeApi } from "../../test/fakeApi";
import { makeTask } from "../../test/fixtures";
import { renderApp } from "../../test/render";
import { installFakeExports, makeExport, makeTarget, type FakeExports } from "./fakeExports";

const section = (name: string) => screen.getByRole("region", { name: new RegExp(`^${name}`) });

describe("a task's exports", () => {
  let api: FakeApi;
  let fake: FakeExports;
  beforeEach(() => {
    api = installFakeApi([makeTask({ id: 7, title: "Checkout throws 500" })]);
    api.details[7] = {
      exports: [
        makeExport({
          id: 1,
          status: "failed",
          error: "bad credentials: GitHub refused the credentials (401)",
          attempts: 1,
        }),
      ],
    };
    fake = installFakeExports(api, [makeTarget(), makeTarget({ id: 2, name: "ops jira", kind: "jira", config: { project_key: "OPS" } })]);
  });

  it("shows state, target and reason, and retries a failed export", async () => {
    const user = userEvent.setup();
    renderApp("/tasks/7");
    await screen.findByRole("heading", { level: 1, name: "Checkout throws 500" });
    const row = within(section("Exports")).getByText("web repo").closest("li")!;
    expect(row).toHaveTextContent("Failed");
    expect(row).toHaveTextContent("bad credentials: GitHub refused the credentials (401)");
    await user.click(within(row).getByRole("button", { name: "Retry now" }));
    await waitFor(() => expect(fake.sent.map((item) => item.route)).toContain("POST /api/tasks/7/exports/1/retry"));
    await waitFor(() => expect(within(section("Exports")).getByText("Pending")).toBeInTheDocument());
    expect(within(section("Exports")).queryByRole("button", { name: "Retry now" })).not.toBeInTheDocument();
  });

  it("exports to a target the task is not in yet", async () => {
    const user = userEvent.setup();
    renderApp("/tasks/7");
    await screen.findByRole("heading", { level: 1, name: "Checkout throws 500" });
    await user.click(await within(section("Exports")).findByRole("button", { name: "Export to…" }));
    const items = screen.getAllByRole("menuitem");
    expect(items.map((item) => item.textContent)).toEqual(["Jira ops jira"]); // web repo has an export already
    await user.click(items[0]!);
    await waitFor(() => expect(fake.sent).toContainEqual({ route: "POST /api/tasks/7/exports", body: { target_id: 2 } }));
    expect(await within(section("Exports")).findByText("ops jira")).toBeInTheDocument();
  });
});

describe("a viewer's view of a task's exports", () => {
  it("lists them without Export to… or Retry", async () => {
    const api = installFakeApi([makeTask({ id: 7, title: "Checkout throws 500" })]);
    api.auth.mode = "on";
    api.auth.me = { id: 2, username: "vic", email: null, role: "viewer", via: "session" };
    api.details[7] = { exports: [makeExport({ id: 1, status: "failed", error: "gave up after 8 attempts: GitHub answered 502" })] };
    installFakeExports(api, [makeTarget(), makeTarget({ id: 2, name: "ops jira", kind: "jira" })]);
    renderApp("/tasks/7");
    await screen.findByRole("heading", { level: 1, name: "Checkout throws 500" });
    const exports = section("Exports");
    expect(within(exports).getByText("Failed")).toBeInTheDocument();
    expect(within(exports).queryByRole("button", { name: "Retry now" })).not.toBeInTheDocument();
    expect(within(exports).queryByRole("button", { name: "Export to…" })).not.toBeInTheDocument();
  });
});

describe("the exports admin page", () => {
  let fake: FakeExports;
  beforeEach(() => {
    const api = installFakeApi([]);
    fake = installFakeExports(api, [makeTarget({ exports: 3 })]);
  });

  it("adds a target with its token, never shows a token, and refuses to delete one with exports", async () => {
    const user = userEvent.setup();
    renderApp("/admin/exports");
    expect(await screen.findByRole("link", { name: "Exports" })).toHaveAttribute("aria-current", "page"); // a tab of the admin page
    const targets = await screen.findByRole("region", { name: "Export targets" });
    expect(await within(targets).findByText("acme/web")).toBeInTheDocument();
    expect(within(targets).getByText("/webhook/github")).toBeInTheDocument();

    const form = screen.getByRole("form", { name: "New target" });
    await user.selectOptions(within(form).getByLabelText("Kind"), "jira");
    await user.type(within(form).getByLabelText("Name"), "ops jira");
    await user.type(within(form).getByLabelText("Site URL"), "https://acme.atlassian.net");
    await user.type(within(form).getByLabelText("Account email"), "bot@acme.test");
    await user.type(within(form).getByLabelText("Project key"), "OPS");
    await user.type(within(form).getByLabelText("API token"), "s3cret-token");
    expect(within(form).getByLabelText("API token")).toHaveAttribute("type", "password");
    await user.click(within(form).getByRole("button", { name: "Add target" }));

    await waitFor(() =>
      expect(fake.sent).toContainEqual({
        route: "POST /api/export-targets",
        body: {
          name: "ops jira",
          kind: "jira",
          enabled: true,
          config: { base_url: "https://acme.atlassian.net", email: "bot@acme.test", project_key: "OPS" },
          token: "s3cret-token",
        },
      }),
    );
    expect(await within(targets).findByText("ops jira")).toBeInTheDocument();
    expect(document.body).not.toHaveTextContent("s3cret-token");
    expect(within(form).getByLabelText("API token")).toHaveValue("");

    await user.click(within(targets).getByRole("button", { name: "Delete web repo" }));
    expect(await screen.findByText(/has exports; disable it instead/)).toBeInTheDocument();
  });

  it("adds a routing rule for a target", async () => {
    const user = userEvent.setup();
    renderApp("/admin/exports");
    const rules = await screen.findByRole("region", { name: "Routing rules" });
    expect(await within(rules).findByText("No rules: tasks are exported by hand only.")).toBeInTheDocument();
    const form = await within(rules).findByRole("form", { name: "New rule" });
    await user.selectOptions(within(form).getByLabelText("Target"), "web repo");
    await user.selectOptions(within(form).getByLabelText("Category"), "bug");
    await user.click(within(form).getByRole("button", { name: "Add rule" }));
    await waitFor(() =>
      expect(fake.sent).toContainEqual({
        route: "POST /api/export-rules",
        body: { target_id: 1, channel_id: null, category: "bug", priority: null, enabled: true },
      }),
    );
    const row = (await within(rules).findByRole("checkbox", { name: "Rule 1 enabled" })).closest("tr")!;
    expect(row).toHaveTextContent("web repo");
    expect(row).toHaveTextContent("Bug");
  });

  it("says why the rules could not be read and reads them again", async () => {
    fake.rulesFailures = 1;
    const user = userEvent.setup();
    renderApp("/admin/exports");
    const rules = await screen.findByRole("region", { name: "Routing rules" });
    expect(await within(rules).findByRole("alert")).toHaveTextContent("database unavailable");
    await user.click(within(rules).getByRole("button", { name: "Try again" }));
    expect(await within(rules).findByText("No rules: tasks are exported by hand only.")).toBeInTheDocument();
    expect(within(rules).queryByRole("alert")).not.toBeInTheDocument();
  });
});
