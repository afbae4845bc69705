// Unit tests of the one condition editor (frontend/conditions): where the server's errors go,
// what the live count leaves out, and the editor rendered with errors next to their condition.
import { describe, expect, it } from "vitest";
import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";

import { ConditionEditor, EventEditor, errorsAt, leafProblems, pruneUnfinished, unplacedErrors } from "./index.js";
import { joinPath, nodePaths } from "./paths.js";

const TREE = {
  all: [
    { field: "country", op: "eq", value: "DE" },
    { any: [{ event: "page", within_days: 7, count: { op: "gte", value: 3 }, where: [{ property: "url", op: "contains", value: "/pricing" }] }] },
    { not: { tag: "vip" } },
  ],
};

describe("paths: the server names a mistake by its JSON path", () => {
  it("joins keys and indexes as segments/filters/validation.py does", () => {
    expect(joinPath("", "all[0]")).toBe("all[0]");
    expect(joinPath("all[1]", "any[0]")).toBe("all[1].any[0]");
    expect(joinPath("all[2]", "not")).toBe("all[2].not");
  });
  it("lists every node of the tree", () => {
    expect(nodePaths(TREE).map((n) => n.path)).toEqual(["", "all[0]", "all[1]", "all[1].any[0]", "all[2]", "all[2].not"]);
  });
  it("gives a leaf the errors below it, in words", () => {
    const errors = { "all[1].any[0].where[0].value": "must be text", "all[0].value": "unknown country" };
    expect(errorsAt(errors, TREE, "all[1].any[0]")).toEqual(["property 1 value: must be text"]);
    expect(errorsAt(errors, TREE, "all[0]")).toEqual(["value: unknown country"]);
    expect(errorsAt(errors, TREE, "all[1]")).toEqual([]); // a group owns only its own path
  });
  it("keeps the errors that name no condition for the top of the editor", () => {
    expect(unplacedErrors({ "all[9].op": "bad", "all[2].not.tag": "empty" }, TREE)).toEqual(["all[9].op: bad"]);
  });
});

describe("the live count leaves out conditions not filled in yet", () => {
  const problems = (c) => leafProblems(c, []);
  it("drops unfinished leaves and groups left empty, and counts them", () => {
    const tree = { all: [{ field: "country", op: "eq", value: "DE" }, { any: [{ event: "" }] }, { tag: "" }] };
    expect(pruneUnfinished(tree, problems)).toEqual({ tree: { all: [{ field: "country", op: "eq", value: "DE" }] }, unfinished: 2 });
  });
  it("keeps a finished tree as it is", () => {
    expect(pruneUnfinished(TREE, problems)).toEqual({ tree: TREE, unfinished: 0 });
  });
});

describe("an event since entering the workflow", () => {
  it("takes no second period", () => {
    expect(leafProblems({ event: "Order Completed", since_entry: true }, [])).toEqual([]);
    expect(leafProblems({ event: "Order Completed", since_entry: true, within_days: 3 }, [])[0]).toMatch(/choose one period/);
  });
});

describe("the editor shows each error next to its condition", () => {
  const render = (el) => renderToStaticMarkup(el);
  it("puts a server error in the condition the path names", () => {
    const html = render(createElement(ConditionEditor, { value: TREE, onChange: () => {}, lookups: { fields: [] }, idPrefix: "t", errors: { "all[2].not.tag": "no such tag" } }));
    const at = html.indexOf('class="cb-errors" data-path="all[2].not"');
    expect(at).toBeGreaterThan(html.indexOf('data-path="all[2]"'));
    expect(html.slice(at)).toMatch(/^[^]*?tag: no such tag/);
  });
  it("offers 'since entering the workflow' only where asked (the canvas)", () => {
    const tree = { all: [{ event: "Order Completed" }] };
    const plain = render(createElement(ConditionEditor, { value: tree, onChange: () => {}, lookups: {}, idPrefix: "t" }));
    const canvas = render(createElement(ConditionEditor, { value: tree, onChange: () => {}, lookups: {}, idPrefix: "t", sinceEntry: true }));
    expect(plain).not.toContain("since entering the workflow");
    expect(canvas).toContain("since entering the workflow");
  });
  it("edits one event and its properties for a scoring rule", () => {
    const html = render(createElement(EventEditor, { value: { event: "Page Viewed", where: [{ property: "path", op: "contains", value: "/pricing" }] }, onChange: () => {}, errors: { event: "too long" } }));
    expect(html).toContain('value="Page Viewed"');
    expect(html).toContain('value="/pricing"');
    expect(html).toContain("event: too long");
  });
});

describe("the canvas says an event since entering in words and checks where it is used", async () => {
  const { conditionWords, configProblems } = await import("../builder/describe.js");
  const spec = { schema: { type: "object", properties: {} } };
  const filter = { all: [{ event: "Order Completed", since_entry: true }] };
  it("reads 'did Order Completed since entering'", () => {
    expect(conditionWords(filter, {})).toBe("did Order Completed since entering");
  });
  it("is fine on a branch, a problem on a trigger", () => {
    expect(configProblems({ type: "branch.condition", config: { filter } }, spec)).toEqual([]);
    expect(configProblems({ type: "trigger.event", config: { event: "x", filter } }, spec)[0]).toMatch(/since entering/);
  });
});
