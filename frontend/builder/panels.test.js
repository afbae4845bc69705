// Unit tests of the side panel's and the canvas' small pure helpers: the pan that shows a
// focused step, a template created in place, the condition editor's rules.
import { describe, expect, it } from "vitest";

import { panToShow } from "./viewport.js";
import { paragraphsHtml, templateBody } from "./templates.js";

describe("panToShow: the canvas moves only as far as needed to show a step", () => {
  const pane = { width: 500, height: 400 };
  const box = { x: 100, y: 100, width: 200, height: 80 };
  it("keeps the view when the step is on screen", () => {
    expect(panToShow(box, { x: 0, y: 0, zoom: 1 }, pane)).toBe(null);
  });
  it("pans by the overflow, not to the centre", () => {
    expect(panToShow({ ...box, x: 300 }, { x: 0, y: 0, zoom: 1 }, pane)).toEqual({ x: -24, y: 0, zoom: 1 });
    expect(panToShow({ ...box, x: -50 }, { x: 0, y: 0, zoom: 1 }, pane)).toEqual({ x: 74, y: 0, zoom: 1 });
    expect(panToShow({ ...box, y: 350 }, { x: 0, y: 0, zoom: 1 }, pane)).toEqual({ x: 0, y: -54, zoom: 1 });
  });
  it("centres a step wider than the pane", () => {
    expect(panToShow({ ...box, width: 600 }, { x: 0, y: 0, zoom: 1 }, pane).x).toBe(-150);
  });
  it("counts the zoom", () => {
    expect(panToShow({ ...box, x: 400 }, { x: 0, y: 0, zoom: 0.5 }, pane)).toBe(null);
  });
});

describe("a template created in place", () => {
  it("turns paragraphs into HTML, escaped, and keeps the merge tags", () => {
    expect(paragraphsHtml("Hi {{ contact.first_name }},\n\nYour <cart>\nis waiting & ready")).toBe(
      "<p>Hi {{ contact.first_name }},</p><p>Your &lt;cart&gt;<br>is waiting &amp; ready</p>",
    );
  });
  it("adds the unsubscribe footer to an email, not to an SMS", () => {
    const email = templateBody("email", { name: " Cart ", subject: "Hi", message: "Come back" });
    expect(email.name).toBe("Cart");
    expect(email.html).toContain("{{ unsubscribe_url }}");
    expect(email.html.startsWith("<p>Come back</p>")).toBe(true);
    expect(templateBody("sms", { name: "S", subject: "", message: " Reply STOP " })).toEqual({ name: "S", body: "Reply STOP" });
  });
});

import { searchOptions } from "./search.js";

describe("searching a picker's options", () => {
  const people = [
    { value: 1, label: "Zoë Adams", detail: "zoe@acme.test · sales" },
    { value: 2, label: "Adam Brown", detail: "adam@acme.test · marketer" },
    { value: 3, label: "Carla Diaz", detail: "carla@acme.test · sales" },
  ];
  it("matches every word in the label or the detail, ignoring case and accents", () => {
    expect(searchOptions(people, "zoe").map((o) => o.value)).toEqual([1]);
    expect(searchOptions(people, "SALES carla").map((o) => o.value)).toEqual([3]);
    expect(searchOptions(people, "nobody")).toEqual([]);
  });
  it("puts labels that start with the query first, then the alphabet", () => {
    expect(searchOptions(people, "adam").map((o) => o.value)).toEqual([2, 1]);
    expect(searchOptions(people, "").map((o) => o.value)).toEqual([2, 3, 1]);
  });
  it("is bounded", () => {
    expect(searchOptions(people, "", 2)).toHaveLength(2);
  });
});

import { conditionProblems, leafProblems, opsForField, parseValue, valueKind, withOp } from "../conditions/conditions.js";
import { conditionWords, configProblems } from "./describe.js";

const CATALOG = [
  { name: "score", label: "Lead score", type: "number", operators: ["eq", "neq", "gt", "gte", "lt", "lte", "between", "in", "not_in"] },
  { name: "birthday", label: "Birthday", type: "date", operators: ["eq", "neq", "before", "after", "between", "within_last_days", "more_than_days_ago", "within_next_days", "anniversary_within_days", "anniversary_this_month", "exists", "not_exists"] },
  { name: "plan", label: "Plan", type: "text", operators: ["eq", "neq", "contains", "not_contains", "starts_with", "ends_with", "in", "not_in", "exists", "not_exists"] },
];

describe("the condition editor's rules (the segment filter format)", () => {
  it("offers a field the operators of its type, and every operator for an unknown field", () => {
    expect(opsForField(CATALOG, "score")).toContain("between");
    expect(opsForField(CATALOG, "score")).not.toContain("contains");
    expect(opsForField(CATALOG, "nope")).toEqual(expect.arrayContaining(["between", "anniversary_this_month", "starts_with", "within_next_days"]));
  });
  it("types the value in the way the operator needs", () => {
    expect(valueKind("anniversary_this_month", "date")).toBe("none");
    expect(valueKind("within_last_days", "date")).toBe("days");
    expect(valueKind("between", "number")).toBe("between");
    expect(valueKind("between", "date")).toBe("between-dates");
    expect(valueKind("after", "datetime")).toBe("date");
    expect(parseValue("02115", "eq", "text")).toBe("02115");
    expect(parseValue("42", "gt", "number")).toBe(42);
    expect(parseValue("pro, team", "in", "text")).toEqual(["pro", "team"]);
    expect(parseValue("120", "gt", undefined)).toBe(120); // an event property: numbers are numbers
  });
  it("keeps what fits when the operator changes", () => {
    expect(withOp({ field: "score", op: "gt", value: 5 }, "between", "number")).toEqual({ field: "score", op: "between", value: ["", ""] });
    expect(withOp({ field: "plan", op: "eq", value: "pro" }, "in", "text").value).toEqual(["pro"]);
    expect(withOp({ field: "birthday", op: "before", value: "2020-01-01" }, "anniversary_this_month", "date")).toEqual({ field: "birthday", op: "anniversary_this_month" });
  });
  it("says what is wrong in words", () => {
    expect(leafProblems({ field: "", op: "eq", value: "" }, CATALOG)).toEqual(["choose a field"]);
    expect(leafProblems({ field: "colour", op: "eq", value: "red" }, CATALOG)[0]).toContain("“colour” is not a contact field or attribute");
    expect(leafProblems({ field: "score", op: "contains", value: "1" }, CATALOG)[0]).toBe("Lead score cannot use “contains”: choose another operator");
    expect(leafProblems({ field: "score", op: "gt", value: "lots" }, CATALOG)).toEqual(["Lead score: “lots” is not a number"]);
    expect(leafProblems({ field: "score", op: "between", value: [10, ""] }, CATALOG)).toEqual(["Lead score: give both ends of the range"]);
    expect(leafProblems({ field: "score", op: "between", value: [10, 5] }, CATALOG)).toEqual(["Lead score: the range starts after it ends"]);
    expect(leafProblems({ field: "birthday", op: "within_next_days", value: 2.5 }, CATALOG)).toEqual(["Birthday: give a whole number of days"]);
    expect(leafProblems({ field: "birthday", op: "anniversary_this_month" }, CATALOG)).toEqual([]);
    expect(leafProblems({ tag: " " })).toEqual(["name the tag"]);
    expect(leafProblems({ event: "Order Completed", between: ["2026-02-01", "2026-01-01"] })).toEqual(["the period starts after it ends"]);
    expect(leafProblems({ event: "", within_days: 0, where: [{ property: "", op: "eq", value: 1 }] })).toEqual([
      "name the event", "the number of days must be a whole number above 0", "property 1: name the property",
    ]);
  });
  it("names each problem's condition by its position", () => {
    const tree = { all: [{ tag: "vip" }, { any: [{ field: "plan", op: "eq", value: "" }, { not: { segment: "" } }] }, { any: [] }] };
    expect(conditionProblems(tree, CATALOG)).toEqual([
      "Condition 2.1: Plan: give a value",
      "Condition 2.2: choose a segment",
      "Condition 3: the group has no conditions",
    ]);
  });
  it("blocks a branch whose condition is unfinished, and reads every kind in words", () => {
    const spec = { schema: { type: "object", properties: { filter: { type: "object" } }, required: ["filter"] } };
    const branch = (filter) => ({ id: "if_1", type: "branch.condition", config: { filter } });
    expect(configProblems(branch({ all: [{ event: "" }] }), spec)).toContain("Condition 1: name the event");
    expect(configProblems(branch({ all: [{ event: "Order Completed", within_days: 1 }] }), spec)).toEqual([]);
    expect(conditionWords({ all: [{ tag: "vip", op: "not_exists" }, { segment: 3, op: "not_exists" }] }, { segments: { 3: "Buyers" } })).toBe("does not have tag vip and not in segment Buyers");
    expect(conditionWords({ field: "score", op: "between", value: [10, 20] })).toBe("score is between 10 and 20");
    expect(conditionWords({ field: "birthday", op: "anniversary_this_month" })).toBe("birthday has an anniversary this month");
  });
});
