import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { installFakeApi } from "../test/fakeApi";
import { renderApp } from "../test/render";

describe("app frame", () => {
  it("cycles the theme system → light → dark and remembers the choice", async () => {
    installFakeApi([]);
    const user = userEvent.setup();
    renderApp("/board");
    const toggle = await screen.findByTestId("theme-toggle");
    expect(toggle).toHaveAccessibleName("Theme: System");
    await user.click(toggle);
    expect(document.documentElement.dataset.theme).toBe("light");
    expect(localStorage.getItem("tt.theme")).toBe("light");
    await user.click(toggle);
    expect(document.documentElement.dataset.theme).toBe("dark");
    expect(toggle).toHaveAccessibleName("Theme: Dark");
    await user.click(toggle);
    expect(localStorage.getItem("tt.theme")).toBeNull();
  });

  it("switches the whole interface to Ukrainian, then Russian, and back", async () => {
    installFakeApi([]);
    const user = userEvent.setup();
    renderApp("/board");
    expect(await screen.findByRole("heading", { level: 1, name: "Board" })).toBeInTheDocument();
    const toggle = screen.getByTestId("lang-toggle");
    expect(toggle).toHaveAttribute("title", "Switch to Українська");
    await user.click(toggle);
    expect(screen.getByRole("heading", { level: 1, name: "Дошка" })).toBeInTheDocument();
    expect(document.documentElement.lang).toBe("uk");
    expect(localStorage.getItem("tt.lang")).toBe("uk");
    await user.click(toggle);
    expect(screen.getByRole("heading", { level: 1, name: "Доска" })).toBeInTheDocument();
    expect(screen.getByRole("link", { name: /Входящие/ })).toBeInTheDocument();
    expect(toggle).toHaveAccessibleName("Язык: Русский");
    expect(document.documentElement.lang).toBe("ru");
    expect(localStorage.getItem("tt.lang")).toBe("ru");
    await user.click(toggle);
    expect(screen.getByRole("heading", { level: 1, name: "Board" })).toBeInTheDocument();
  });

  it("navigates with g-chords and opens the shortcut help with ?", async () => {
    installFakeApi([]);
    const user = userEvent.setup();
    const { router } = renderApp("/board");
    await screen.findByRole("heading", { level: 1, name: "Board" });
    await user.keyboard("gi");
    expect(router.state.location.pathname).toBe("/inbox");
    await user.keyboard("gs");
    expect(router.state.location.pathname).toBe("/stats");
    await user.keyboard("?");
    expect(await screen.findByRole("dialog", { name: "Keyboard shortcuts" })).toBeInTheDocument();
  });
});
