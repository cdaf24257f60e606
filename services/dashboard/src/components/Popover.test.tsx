import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MultiSelectMenu } from "./Popover";

const OPTIONS = [
  { value: "bug", label: "Bug" },
  { value: "feature", label: "Feature" },
  { value: "noise", label: "Noise" },
];

function Toolbar({ onChange = () => undefined }: { onChange?: (next: string[]) => void }) {
  return (
    <div>
      <MultiSelectMenu label="Category" options={OPTIONS} selected={[]} onChange={onChange} />
      <button type="button">Next control</button>
    </div>
  );
}

const panel = () => screen.queryByRole("group", { name: "Category" });

describe("popover menu", () => {
  it("opens with its first control focused and closes when focus moves out", async () => {
    const user = userEvent.setup();
    render(<Toolbar />);
    const button = screen.getByRole("button", { name: "Category" });
    expect(button).toHaveAttribute("aria-expanded", "false");
    await user.click(button);
    expect(button).toHaveAttribute("aria-expanded", "true");
    await waitFor(() => expect(within(panel()!).getByLabelText("Bug")).toHaveFocus());

    await user.tab();
    await user.tab();
    expect(within(panel()!).getByLabelText("Noise")).toHaveFocus();
    await user.tab();
    await waitFor(() => expect(panel()).not.toBeInTheDocument());
    expect(button).toHaveAttribute("aria-expanded", "false");
    expect(button).not.toHaveFocus();
  });

  it("closes on Escape and gives focus back to its button, the Escape going no further", async () => {
    const user = userEvent.setup();
    const outer = vi.fn();
    render(
      <div
        onKeyDown={(event) => {
          if (event.key === "Escape") outer();
        }}
      >
        <Toolbar />
      </div>,
    );
    const button = screen.getByRole("button", { name: "Category" });
    await user.click(button);
    await waitFor(() => expect(within(panel()!).getByLabelText("Bug")).toHaveFocus());
    await user.keyboard("{Escape}");
    expect(panel()).not.toBeInTheDocument();
    expect(button).toHaveFocus();
    expect(outer).not.toHaveBeenCalled();
  });

  it("closes on a click elsewhere", async () => {
    const user = userEvent.setup();
    render(<Toolbar />);
    await user.click(screen.getByRole("button", { name: "Category" }));
    expect(panel()).toBeInTheDocument();
    await user.click(document.body);
    expect(panel()).not.toBeInTheDocument();
  });

  it("shows a pick at once and reports the new selection", async () => {
    const user = userEvent.setup();
    const onChange = vi.fn();
    render(<Toolbar onChange={onChange} />);
    await user.click(screen.getByRole("button", { name: "Category" }));
    await user.click(within(panel()!).getByLabelText("Feature"));
    expect(onChange).toHaveBeenLastCalledWith(["feature"]);
    expect(within(panel()!).getByLabelText("Feature")).toBeChecked();
  });
});

describe("popover placement", () => {
  // jsdom lays nothing out: give the window, the button and the panel a size.
  const PANEL = { width: 200, height: 150 };
  let buttonRect = new DOMRect(0, 0, 40, 24);
  beforeEach(() => {
    vi.spyOn(document.documentElement, "clientWidth", "get").mockReturnValue(1024);
    vi.spyOn(document.documentElement, "clientHeight", "get").mockReturnValue(768);
    vi.spyOn(HTMLElement.prototype, "offsetWidth", "get").mockImplementation(function (this: HTMLElement) {
      return this.getAttribute("role") === "group" ? PANEL.width : 40;
    });
    vi.spyOn(HTMLElement.prototype, "offsetHeight", "get").mockImplementation(function (this: HTMLElement) {
      return this.getAttribute("role") === "group" ? PANEL.height : 24;
    });
    vi.spyOn(HTMLElement.prototype, "getBoundingClientRect").mockImplementation(function (this: HTMLElement) {
      return this.getAttribute("aria-label") === "Category" && this.tagName === "BUTTON"
        ? buttonRect
        : new DOMRect(0, 0, this.offsetWidth, this.offsetHeight);
    });
  });
  afterEach(() => vi.restoreAllMocks());

  const placed = async () => {
    const user = userEvent.setup();
    render(<Toolbar />);
    await user.click(screen.getByRole("button", { name: "Category" }));
    await waitFor(() => expect(panel()!.style.left).not.toBe(""));
    return { left: parseFloat(panel()!.style.left), top: parseFloat(panel()!.style.top) };
  };

  it("opens below its button, aligned with it", async () => {
    buttonRect = new DOMRect(100, 40, 40, 24);
    expect(await placed()).toEqual({ left: 100, top: 40 + 24 + 4 });
  });

  it("shifts left to stay inside the window at the right edge", async () => {
    buttonRect = new DOMRect(980, 40, 40, 24);
    const { left } = await placed();
    expect(left + PANEL.width).toBeLessThanOrEqual(1024 - 8);
  });

  it("opens above its button when there is no room below", async () => {
    buttonRect = new DOMRect(100, 700, 40, 24);
    const { top } = await placed();
    expect(top).toBe(700 - 4 - PANEL.height);
  });
});
