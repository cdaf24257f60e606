import { describe, expect, it } from "vitest";
import { makeTask } from "../../test/fixtures";
import { EMPTY_FILTERS, compareTasks, parseFilters, taskMatchesQuery, toTaskQuery, writeFilters } from "./filters";

describe("filters in the URL", () => {
  it("reads repeated and comma-separated values, in canonical order", () => {
    const filters = parseFilters(new URLSearchParams("status=completed&status=open&category=feature,bug&priority=urgent"));
    expect(filters.status).toEqual(["open", "completed"]);
    expect(filters.category).toEqual(["bug", "feature"]);
    expect(filters.priority).toEqual(["urgent"]);
  });

  it("ignores values the API would reject", () => {
    const filters = parseFilters(new URLSearchParams("status=bogus&category=bug&needs_review=maybe&sort=random&q=%20%20"));
    expect(filters).toEqual({ ...EMPTY_FILTERS, category: ["bug"] });
  });

  it("round-trips every filter and leaves defaults out of the URL", () => {
    const filters = {
      ...EMPTY_FILTERS,
      status: ["open" as const, "in_progress" as const],
      priority: ["high" as const],
      channel: "support",
      assignee: "dana",
      needsReview: false,
      q: "login fails",
      sort: "-priority" as const,
    };
    const params = writeFilters(filters);
    expect(params.toString()).toBe(
      "status=open&status=in_progress&priority=high&channel=support&assignee=dana&needs_review=false&q=login+fails&sort=-priority",
    );
    expect(parseFilters(params)).toEqual(filters);
    expect(writeFilters(EMPTY_FILTERS).toString()).toBe("");
  });

  it("keeps unrelated parameters such as the view", () => {
    const params = writeFilters({ ...EMPTY_FILTERS, category: ["bug"] }, new URLSearchParams("view=table&category=task"));
    expect(params.toString()).toBe("view=table&category=bug");
  });

  it("maps to the API query", () => {
    expect(toTaskQuery({ ...EMPTY_FILTERS, status: ["open"], needsReview: true, q: "x" }, 50)).toEqual({
      sort: "-created_at",
      limit: 50,
      status: ["open"],
      needs_review: true,
      q: "x",
    });
  });
});

describe("matching a task against a list's query", () => {
  const task = makeTask({ status: "open", category: "bug", priority: "high", needs_review: true, assignee: "dana" });

  it("applies every structured filter", () => {
    expect(taskMatchesQuery(task, { status: ["open"], category: ["bug"], priority: ["high"] })).toBe(true);
    expect(taskMatchesQuery(task, { status: ["completed"] })).toBe(false);
    expect(taskMatchesQuery(task, { needs_review: false })).toBe(false);
    expect(taskMatchesQuery(task, { assignee: "sam" })).toBe(false);
    expect(taskMatchesQuery(task, { channel: ["api"] })).toBe(true);
    expect(taskMatchesQuery(task, { channel: ["telegram"] })).toBe(false);
  });

  it("leaves full-text search to the server", () => {
    expect(taskMatchesQuery(task, { q: "anything" })).toBeNull();
    expect(taskMatchesQuery(task, { q: "anything", status: ["closed"] })).toBe(false);
  });

  it("orders by priority with urgent first", () => {
    const rows = [makeTask({ priority: "low" }), makeTask({ priority: "urgent" }), makeTask({ priority: "medium" })];
    expect(rows.sort(compareTasks("-priority")).map((row) => row.priority)).toEqual(["urgent", "medium", "low"]);
  });
});
